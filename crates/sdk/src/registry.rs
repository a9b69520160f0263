//! Building adapters from configuration.

use std::{collections::BTreeMap, sync::Arc};

use unimargin_schema::{ChainId, MarketId, ProtocolId};

use crate::{AdapterError, ProtocolAdapter};

/// One configured deployment: "protocol `spark`, implemented by kind `aave-v3`, market `core` on
/// `eip155:1`, with these addresses". The `params` are the adapter's own typed configuration,
/// deserialized by its factory.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct DeploymentSpec {
    /// Protocol id exposed to clients.
    pub protocol: ProtocolId,
    /// Adapter implementation kind; defaults to the protocol id.
    #[serde(default)]
    pub kind: Option<String>,
    /// Chain (CAIP-2 or configured alias, resolved before building).
    pub chain: ChainId,
    /// Market id.
    pub market: MarketId,
    /// Adapter-specific parameters (addresses, layout versions, risk keys).
    #[serde(default)]
    pub params: serde_json::Value,
}

impl DeploymentSpec {
    /// The implementation kind to build with.
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or(self.protocol.as_str())
    }

    /// The adapter's typed `params`; an invalid value is a configuration error naming the adapter
    /// kind and the offending field, so every factory reports it the same way.
    pub fn params<T: serde::de::DeserializeOwned>(&self, kind: &str) -> Result<T, AdapterError> {
        serde_json::from_value(self.params.clone())
            .map_err(|e| AdapterError::Config(format!("{kind} params: {e}")))
    }

    /// The descriptor of an adapter of `kind` serving this deployment.
    pub fn descriptor(&self, kind: &str) -> crate::AdapterDescriptor {
        crate::AdapterDescriptor {
            protocol: self.protocol.clone(),
            kind: kind.to_owned(),
            market: self.market.clone(),
            chain: self.chain.clone(),
        }
    }
}

/// Builds adapters of one implementation kind from deployment specs.
pub trait AdapterFactory: Send + Sync + 'static {
    /// The kind this factory builds (`aave-v3`).
    fn kind(&self) -> &'static str;

    /// Builds one adapter; an invalid `params` is a [`AdapterError::Config`] naming the field.
    fn build(&self, spec: &DeploymentSpec) -> Result<Arc<dyn ProtocolAdapter>, AdapterError>;

    /// Builds every adapter of one deployment. One deployment is usually one protocol market,
    /// hence the default; a protocol of isolated markets (Morpho Blue) builds one adapter per
    /// configured market, each with its own market id in its descriptor.
    fn build_many(
        &self,
        spec: &DeploymentSpec,
    ) -> Result<Vec<Arc<dyn ProtocolAdapter>>, AdapterError> {
        Ok(vec![self.build(spec)?])
    }
}

/// Why the registry could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A deployment names a kind no factory builds.
    #[error(
        "deployment `{protocol}/{market}` on {chain}: unknown adapter kind `{kind}` (known: {known})"
    )]
    UnknownKind {
        /// Protocol of the deployment.
        protocol: ProtocolId,
        /// Market.
        market: MarketId,
        /// Chain.
        chain: ChainId,
        /// The unknown kind.
        kind: String,
        /// Kinds that are registered.
        known: String,
    },
    /// A factory rejected a deployment.
    #[error("deployment `{protocol}/{market}` on {chain}: {source}")]
    Build {
        /// Protocol of the deployment.
        protocol: ProtocolId,
        /// Market.
        market: MarketId,
        /// Chain.
        chain: ChainId,
        /// Why.
        #[source]
        source: AdapterError,
    },
    /// Two deployments share protocol, market and chain.
    #[error("deployment `{protocol}/{market}` on {chain} is configured twice")]
    Duplicate {
        /// Protocol.
        protocol: ProtocolId,
        /// Market.
        market: MarketId,
        /// Chain.
        chain: ChainId,
    },
}

/// The factories known to the binary and the adapters built from configuration.
#[derive(Default, Clone)]
pub struct AdapterRegistry {
    factories: BTreeMap<&'static str, Arc<dyn AdapterFactory>>,
    adapters: Vec<Arc<dyn ProtocolAdapter>>,
}

impl std::fmt::Debug for AdapterRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterRegistry")
            .field("kinds", &self.factories.keys().collect::<Vec<_>>())
            .field(
                "adapters",
                &self
                    .adapters
                    .iter()
                    .map(|a| a.as_ref().descriptor())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl AdapterRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a factory (the one line a new protocol adds to the binary).
    pub fn register(&mut self, factory: impl AdapterFactory) -> &mut Self {
        self.factories.insert(factory.kind(), Arc::new(factory));
        self
    }

    /// Kinds that can be built.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.factories.keys().copied()
    }

    /// Builds every deployment, failing on the first invalid one with a message naming it.
    #[expect(
        clippy::result_large_err,
        reason = "called once at start-up; the error names the deployment in full"
    )]
    pub fn build_all(&mut self, specs: &[DeploymentSpec]) -> Result<(), RegistryError> {
        let mut seen = std::collections::BTreeSet::new();
        let mut built = std::collections::BTreeSet::new();
        for spec in specs {
            if !seen.insert((
                spec.protocol.clone(),
                spec.market.clone(),
                spec.chain.clone(),
            )) {
                return Err(RegistryError::Duplicate {
                    protocol: spec.protocol.clone(),
                    market: spec.market.clone(),
                    chain: spec.chain.clone(),
                });
            }
            let factory =
                self.factories
                    .get(spec.kind())
                    .ok_or_else(|| RegistryError::UnknownKind {
                        protocol: spec.protocol.clone(),
                        market: spec.market.clone(),
                        chain: spec.chain.clone(),
                        kind: spec.kind().to_owned(),
                        known: self
                            .factories
                            .keys()
                            .copied()
                            .collect::<Vec<_>>()
                            .join(", "),
                    })?;
            let adapters = factory
                .build_many(spec)
                .map_err(|source| RegistryError::Build {
                    protocol: spec.protocol.clone(),
                    market: spec.market.clone(),
                    chain: spec.chain.clone(),
                    source,
                })?;
            for adapter in adapters {
                // A deployment may expand into several markets (`build_many`): two deployments
                // must still never read the same market twice.
                let d = adapter.as_ref().descriptor();
                if !built.insert((d.protocol.clone(), d.market.clone(), d.chain.clone())) {
                    return Err(RegistryError::Duplicate {
                        protocol: d.protocol.clone(),
                        market: d.market.clone(),
                        chain: d.chain.clone(),
                    });
                }
                self.adapters.push(adapter);
            }
        }
        Ok(())
    }

    /// Adds an already built adapter (tests, embedding).
    pub fn add_adapter(&mut self, adapter: Arc<dyn ProtocolAdapter>) {
        self.adapters.push(adapter);
    }

    /// Every adapter.
    pub fn adapters(&self) -> &[Arc<dyn ProtocolAdapter>] {
        &self.adapters
    }

    /// Adapters of one chain.
    pub fn for_chain<'a>(
        &'a self,
        chain: &ChainId,
    ) -> impl Iterator<Item = &'a Arc<dyn ProtocolAdapter + 'static>> + 'a {
        let chain = chain.clone();
        self.adapters
            .iter()
            .filter(move |a| a.as_ref().descriptor().chain == chain)
    }
}

//! Morpho Blue adapter: reads an owner's positions in Morpho Blue's isolated markets and
//! reproduces Morpho's health check exactly, one snapshot per market.
//!
//! * [`fetch`]: every read at the pinned block through Multicall3 (`position`, `market`, the
//!   oracle's `price`, the IRM's `borrowRateView`, token metadata, the loan token's USD feed, and
//!   Morpho's own health verdict from a liquidation probe that always reverts), plus the owner's
//!   markets from `Supply`/`SupplyCollateral` logs when discovery is configured.
//! * [`normalize`]: pure; interest accrued to the block timestamp as `_accrueInterest` does
//!   (`wTaylorCompounded`, fee shares), shares converted with virtual shares (supply rounded
//!   down, borrow up), and `_isHealthy` reproduced (`maxBorrow = collateral.mulDivDown(price,
//!   1e36).wMulDown(lltv)`, healthy iff `borrowed ≤ maxBorrow`), compared with Morpho's verdict.
//! * [`math`]: Morpho's `MathLib`/`SharesMathLib` in checked 256-bit integers.
//! * [`MorphoBlueFactory`] (kind `morpho-blue`): one [`MorphoMarketAdapter`] per configured market
//!   id, each its own protocol market (`MarketId` = the id in hex) with its own native health.
//!   [`MorphoBlueAdapter`] reads a whole deployment (configured and discovered markets) through
//!   [`ProtocolAdapter::snapshots`]; the factory builds it when discovery is configured.
//! * `fixtures` (feature): deploys the Solidity fixtures of `fixtures/` on anvil and seeds
//!   accounts, for tests and demos.
//!
//! **Round trips.** Market params are memoized per deployment (they are immutable: the id is their
//! hash, checked on first read), and so is the last stored market state, which is what the IRM's
//! `borrowRateView` needs as input. A profile in the steady state is then **one** batch for all
//! the markets read. Nothing memoized can go stale, so nothing needs re-validating: params cannot
//! change, and token metadata (`decimals`, `symbol`) and feed decimals are cheap calls re-read in
//! every batch rather than remembered. The first read of a market costs one more round trip
//! (`idToMarketParams`), and so does a market touched since its last read that has interest to
//! accrue (the rate for the state actually read). Discovery adds one `eth_getLogs` over the blocks
//! not yet scanned for that owner.
//!
//! Depends on `unimargin-sdk` and `unimargin-schema` only. Addresses live in configuration
//! (`config/*.toml`), never in code. Test with `cargo test -p unimargin-morpho-blue` (starts its
//! own anvil); set `UNIMARGIN_PROTOCOL_ABIS` and `UNIMARGIN_TEST_VECTORS` for the comparisons with
//! Morpho's published ABI and with recorded mainnet reads.

pub mod bindings;
mod config;
pub mod fetch;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod math;
mod memo;
pub mod normalize;

use std::{collections::BTreeSet, sync::Arc};

use alloy::primitives::{Address, B256};
use async_trait::async_trait;
use unimargin_schema::{AccountId, ChainId, ProtocolId, ProtocolSnapshot};
use unimargin_sdk::{
    AdapterDescriptor, AdapterError, AdapterFactory, ChainReader, DeploymentSpec, ProtocolAdapter,
    Result, evm::PinnedEvm,
};

pub use config::{Discovery, MorphoDeployment};

use crate::{memo::Memo, normalize::market_label};

/// Kind name used in configuration.
pub const KIND: &str = "morpho-blue";

/// One configured Morpho Blue singleton and what is remembered about it; shared by its adapters.
#[derive(Debug)]
struct Deployment {
    protocol: ProtocolId,
    chain: ChainId,
    config: MorphoDeployment,
    memo: Memo,
}

impl Deployment {
    /// Reads and normalizes `account` in `ids`, one snapshot per market, in order.
    async fn snapshots(
        &self,
        evm: &PinnedEvm,
        account: &AccountId,
        ids: &[B256],
    ) -> Result<Vec<ProtocolSnapshot>> {
        let owner = owner(account)?;
        let raws = fetch::fetch(evm, &self.config, &self.memo, ids, owner).await?;
        let ctx = normalize::NormalizeContext {
            chain: &self.chain,
            read_point: evm.read_point(),
            protocol: &self.protocol,
            account,
            deployment: &self.config,
            fetched_at: chrono::Utc::now(),
        };
        raws.iter()
            .map(|raw| normalize::normalize(raw, &ctx))
            .collect()
    }
}

fn owner(account: &AccountId) -> Result<Address> {
    account
        .evm_address_bytes()
        .map(Address::from)
        .ok_or(AdapterError::WrongChainFamily {
            expected: "evm account",
            actual: "non-evm account",
        })
}

fn parse(spec: &DeploymentSpec) -> Result<Arc<Deployment>> {
    let config: MorphoDeployment = spec.params(KIND)?;
    if let Some(d) = &config.discovery
        && d.max_block_range == Some(0)
    {
        return Err(AdapterError::Config(
            "morpho-blue params: discovery.max_block_range must be positive".into(),
        ));
    }
    let mut seen = BTreeSet::new();
    if let Some(dup) = config.markets.iter().find(|id| !seen.insert(**id)) {
        return Err(AdapterError::Config(format!(
            "morpho-blue params: market {dup} is listed twice"
        )));
    }
    Ok(Arc::new(Deployment {
        protocol: spec.protocol.clone(),
        chain: spec.chain.clone(),
        config,
        memo: Memo::default(),
    }))
}

/// One Morpho Blue market: one owner's position in it, as one snapshot whose market is the
/// market id.
#[derive(Debug, Clone)]
pub struct MorphoMarketAdapter {
    descriptor: AdapterDescriptor,
    id: B256,
    deployment: Arc<Deployment>,
}

impl MorphoMarketAdapter {
    /// The market id.
    pub fn id(&self) -> B256 {
        self.id
    }
}

#[async_trait]
impl ProtocolAdapter for MorphoMarketAdapter {
    fn descriptor(&self) -> &AdapterDescriptor {
        &self.descriptor
    }

    async fn snapshot(&self, chain: &ChainReader, account: &AccountId) -> Result<ProtocolSnapshot> {
        let mut snapshots = self
            .deployment
            .snapshots(chain.evm()?, account, &[self.id])
            .await?;
        snapshots.pop().ok_or_else(|| {
            AdapterError::malformed("morpho-blue read", "no snapshot for the market")
        })
    }
}

/// A whole Morpho Blue deployment: the configured markets and, when discovery is configured, every
/// other market the owner appears in, one snapshot per market ([`ProtocolAdapter::snapshots`]).
///
/// Configured markets always get a snapshot (an empty one when the owner has nothing there);
/// discovered markets only when the owner still has a position.
#[derive(Debug, Clone)]
pub struct MorphoBlueAdapter {
    descriptor: AdapterDescriptor,
    deployment: Arc<Deployment>,
}

impl MorphoBlueAdapter {
    /// The deployment of a `[[deployments]]` entry of kind `morpho-blue`.
    pub fn from_spec(spec: &DeploymentSpec) -> Result<Self> {
        Ok(Self {
            descriptor: spec.descriptor(KIND),
            deployment: parse(spec)?,
        })
    }

    /// One adapter per configured market, sharing this deployment's memo.
    pub fn market_adapters(&self) -> Vec<MorphoMarketAdapter> {
        self.deployment
            .config
            .markets
            .iter()
            .map(|id| MorphoMarketAdapter {
                descriptor: AdapterDescriptor {
                    market: market_label(id),
                    ..self.descriptor.clone()
                },
                id: *id,
                deployment: Arc::clone(&self.deployment),
            })
            .collect()
    }

    /// The market ids read for `account`: configured ones, then discovered ones (one
    /// `eth_getLogs` over the blocks not scanned yet for this owner).
    pub async fn markets(&self, evm: &PinnedEvm, account: &AccountId) -> Result<Vec<B256>> {
        let config = &self.deployment.config;
        let mut ids = config.markets.clone();
        if let Some(discovery) = &config.discovery {
            let found = fetch::discover(
                evm,
                config,
                discovery,
                &self.deployment.memo,
                owner(account)?,
            )
            .await?;
            ids.extend(found.into_iter().filter(|id| !config.markets.contains(id)));
        }
        Ok(ids)
    }
}

#[async_trait]
impl ProtocolAdapter for MorphoBlueAdapter {
    fn descriptor(&self) -> &AdapterDescriptor {
        &self.descriptor
    }

    /// A deployment is several isolated markets, never one snapshot: use
    /// [`snapshots`](ProtocolAdapter::snapshots), or the per-market adapters.
    async fn snapshot(
        &self,
        _chain: &ChainReader,
        _account: &AccountId,
    ) -> Result<ProtocolSnapshot> {
        Err(AdapterError::Config(format!(
            "{}/{} reads several isolated Morpho markets: one snapshot per market comes from snapshots()",
            self.descriptor.protocol, self.descriptor.market
        )))
    }

    fn discovers_markets(&self) -> bool {
        self.deployment.config.discovery.is_some()
    }

    async fn snapshots(
        &self,
        chain: &ChainReader,
        account: &AccountId,
    ) -> Result<Vec<ProtocolSnapshot>> {
        let evm = chain.evm()?;
        let ids = self.markets(evm, account).await?;
        let configured = &self.deployment.config.markets;
        let snapshots = self.deployment.snapshots(evm, account, &ids).await?;
        Ok(snapshots
            .into_iter()
            .zip(&ids)
            .filter(|(s, id)| configured.contains(id) || !s.positions.is_empty())
            .map(|(s, _)| s)
            .collect())
    }
}

/// Builds Morpho Blue adapters from `[[deployments]]` entries of kind `morpho-blue`: one
/// [`MorphoMarketAdapter`] per id in `params.markets`, or, when `params.discovery` is set, one
/// [`MorphoBlueAdapter`] reading the configured and the owner's discovered markets.
#[derive(Debug, Default, Clone, Copy)]
pub struct MorphoBlueFactory;

impl AdapterFactory for MorphoBlueFactory {
    fn kind(&self) -> &'static str {
        KIND
    }

    /// The adapter of a deployment that lists exactly one market.
    fn build(&self, spec: &DeploymentSpec) -> Result<Arc<dyn ProtocolAdapter>, AdapterError> {
        let mut adapters = self.build_many(spec)?;
        match (adapters.pop(), adapters.is_empty()) {
            (Some(adapter), true) => Ok(adapter),
            _ => Err(AdapterError::Config(format!(
                "morpho-blue deployment `{}` lists {} markets; build one adapter per market with build_many",
                spec.market,
                adapters.len() + 1
            ))),
        }
    }

    fn build_many(
        &self,
        spec: &DeploymentSpec,
    ) -> Result<Vec<Arc<dyn ProtocolAdapter>>, AdapterError> {
        let deployment = MorphoBlueAdapter::from_spec(spec)?;
        if deployment.deployment.config.discovery.is_some() {
            // With discovery the owner's markets are known only at read time: one adapter reads
            // the configured and the discovered markets, one snapshot per market.
            return Ok(vec![Arc::new(deployment) as Arc<dyn ProtocolAdapter>]);
        }
        let adapters = deployment.market_adapters();
        if adapters.is_empty() {
            return Err(AdapterError::Config(format!(
                "morpho-blue deployment `{}` lists no markets (params.markets)",
                spec.market
            )));
        }
        Ok(adapters
            .into_iter()
            .map(|a| Arc::new(a) as Arc<dyn ProtocolAdapter>)
            .collect())
    }
}

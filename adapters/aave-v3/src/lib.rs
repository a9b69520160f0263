//! Aave v3 adapter: reads an owner's reserves from an Aave v3 market (or a fork with the same
//! interfaces, such as Spark) and reproduces Aave's health factor exactly.
//!
//! * [`fetch`]: all reads at the pinned block in two Multicall3 round trips
//!   (`UiPoolDataProviderV3.getReservesData` / `getUserReservesData` / `getEModes`,
//!   `Pool.getUserAccountData`, `Pool.getReserveData`, the feeds' `latestRoundData`).
//! * [`normalize`]: pure; scaled balances × indexes accrued to the block time → positions, and
//!   `getUserAccountData` recomputed with Aave's rounding (`rayMulFloor` for supplies,
//!   `rayMulCeil` and `mulDivCeil` for debt). The contract's own answer is compared with ours and
//!   any disagreement is reported.
//! * [`AaveV3Factory`]: builds one adapter per configured deployment (kind `aave-v3`).
//! * `fixtures` (feature): deploys the Solidity fixtures of `fixtures/` on anvil and seeds
//!   accounts, for tests and the demo.
//!
//! Addresses live in configuration (`config/*.toml`), never in code. Test with
//! `cargo test -p unimargin-aave-v3` (starts its own anvil).

mod bindings;
mod config;
pub mod fetch;
#[cfg(feature = "fixtures")]
pub mod fixtures;
mod math;
pub mod normalize;

use std::sync::Arc;

use alloy::primitives::Address;
use async_trait::async_trait;
use unimargin_schema::{AccountId, ProtocolSnapshot};
use unimargin_sdk::{
    AdapterDescriptor, AdapterError, AdapterFactory, ChainReader, DeploymentSpec, ProtocolAdapter,
    Result,
};

pub use config::{AaveDeployment, UiLayout};

/// Kind name used in configuration.
pub const KIND: &str = "aave-v3";

/// One Aave v3 deployment on one chain.
#[derive(Debug)]
pub struct AaveV3Adapter {
    descriptor: AdapterDescriptor,
    deployment: AaveDeployment,
    /// Reserve ids and feeds, memoized so the steady state is one batch (see [`fetch`]).
    layout: tokio::sync::RwLock<Option<fetch::MarketLayout>>,
}

impl AaveV3Adapter {
    /// An adapter for a deployment.
    pub fn new(descriptor: AdapterDescriptor, deployment: AaveDeployment) -> Self {
        Self {
            descriptor,
            deployment,
            layout: tokio::sync::RwLock::new(None),
        }
    }
}

#[async_trait]
impl ProtocolAdapter for AaveV3Adapter {
    fn descriptor(&self) -> &AdapterDescriptor {
        &self.descriptor
    }

    async fn snapshot(&self, chain: &ChainReader, account: &AccountId) -> Result<ProtocolSnapshot> {
        let evm = chain.evm()?;
        let user = Address::from(account.evm_address_bytes().ok_or(
            AdapterError::WrongChainFamily {
                expected: "evm account",
                actual: "non-evm account",
            },
        )?);
        let known = self.layout.read().await.clone();
        let (raw, layout) = fetch::fetch(evm, &self.deployment, user, known.as_ref()).await?;
        if known.as_ref() != Some(&layout) {
            *self.layout.write().await = Some(layout);
        }
        let ctx = normalize::NormalizeContext {
            chain: &self.descriptor.chain,
            read_point: evm.read_point(),
            protocol: &self.descriptor.protocol,
            market: &self.descriptor.market,
            account,
            deployment: &self.deployment,
            fetched_at: chrono::Utc::now(),
        };
        normalize::normalize(&raw, &ctx)
    }
}

/// Builds [`AaveV3Adapter`]s from `[[deployments]]` entries of kind `aave-v3`.
#[derive(Debug, Default, Clone, Copy)]
pub struct AaveV3Factory;

impl AdapterFactory for AaveV3Factory {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn build(&self, spec: &DeploymentSpec) -> Result<Arc<dyn ProtocolAdapter>, AdapterError> {
        let deployment: AaveDeployment = spec.params(KIND)?;
        Ok(Arc::new(AaveV3Adapter::new(
            spec.descriptor(KIND),
            deployment,
        )))
    }
}

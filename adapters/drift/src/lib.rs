//! Drift v2 adapter: reads an authority's sub-accounts on Drift (spot deposits and borrows, perp
//! positions, open orders) and reproduces Drift's margin calculation, health and liquidation
//! prices with the program's own integer arithmetic.
//!
//! * [`layout`]: the program's accounts (`User`, `SpotMarket`, `PerpMarket`, `State`,
//!   `PythLazerOracle`, `PrelaunchOracle`) as zero-copy `#[repr(C)]` views, checked against the
//!   Anchor IDL in the tests.
//! * [`fetch`]: three `getMultipleAccounts` round trips at the pinned slot — users (derived PDAs)
//!   and `State`, the markets they reference, the markets' oracles.
//! * [`math`]: Drift's spot weights (size premium / discount from `imf_factor`, scaled initial
//!   asset weight), perp margin ratios, worst-case base with open orders, unrealized PnL weights
//!   and the $100 cap on positive PnL for initial margin, health (0–100), liquidation price.
//! * [`oracle`]: every oracle source scaled as Drift scales it, with Drift's validity rules.
//! * [`normalize`]: pure; raw accounts → [`ProtocolSnapshot`](unimargin_schema::ProtocolSnapshot).
//!
//! Depends on `unimargin-sdk` (Solana read path, account checks, oracle decoders) and
//! `unimargin-schema` only. Program ids and addresses come from configuration. Test with
//! `cargo test -p unimargin-drift` (real mainnet accounts when `UNIMARGIN_TEST_VECTORS` is set);
//! benchmark decoding with `cargo bench -p unimargin-drift`.

pub mod config;
pub mod constants;
pub mod decode;
pub mod fetch;
pub mod layout;
pub mod math;
pub mod normalize;
pub mod oracle;
pub mod pda;
/// Little-endian, alignment-one integers for the zero-copy layouts (shared with the other Solana adapters).
pub use unimargin_sdk::solana::pod;
pub mod types;

use std::sync::Arc;

use async_trait::async_trait;
use unimargin_schema::{AccountId, ProtocolSnapshot};
use unimargin_sdk::{
    AdapterDescriptor, AdapterError, AdapterFactory, ChainReader, DeploymentSpec, ProtocolAdapter,
    Result, solana::Pubkey,
};

pub use config::{DriftConfig, DriftParams};

/// Kind name used in configuration.
pub const KIND: &str = "drift";

/// One Drift v2 deployment.
#[derive(Debug, Clone)]
pub struct DriftAdapter {
    descriptor: AdapterDescriptor,
    config: DriftConfig,
}

impl DriftAdapter {
    /// An adapter for a deployment.
    pub fn new(descriptor: AdapterDescriptor, config: DriftConfig) -> Self {
        Self { descriptor, config }
    }
}

#[async_trait]
impl ProtocolAdapter for DriftAdapter {
    fn descriptor(&self) -> &AdapterDescriptor {
        &self.descriptor
    }

    async fn snapshot(&self, chain: &ChainReader, account: &AccountId) -> Result<ProtocolSnapshot> {
        let pinned = chain.solana()?;
        let authority: Pubkey =
            account
                .address()
                .parse()
                .map_err(|_| AdapterError::WrongChainFamily {
                    expected: "solana account",
                    actual: "non-solana account",
                })?;
        let raw = fetch::fetch(pinned, &self.config, &authority).await?;
        let ctx = normalize::NormalizeContext {
            chain: &self.descriptor.chain,
            read_point: pinned.read_point(),
            protocol: &self.descriptor.protocol,
            market: &self.descriptor.market,
            account,
            config: &self.config,
            fetched_at: chrono::Utc::now(),
        };
        normalize::normalize(&raw, &ctx)
    }
}

/// Builds [`DriftAdapter`]s from `[[deployments]]` entries of kind `drift`.
#[derive(Debug, Default, Clone, Copy)]
pub struct DriftFactory;

impl AdapterFactory for DriftFactory {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn build(&self, spec: &DeploymentSpec) -> Result<Arc<dyn ProtocolAdapter>, AdapterError> {
        let params: DriftParams = spec.params(KIND)?;
        Ok(Arc::new(DriftAdapter::new(
            spec.descriptor(KIND),
            DriftConfig::from_params(params)?,
        )))
    }
}

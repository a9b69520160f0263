//! Kamino Lend adapter: reads an owner's obligations in one Kamino lending market and
//! reproduces klend's borrow limit, liquidation limit and health at the read slot.
//!
//! * [`layout`]: `Obligation`, `Reserve`, `LendingMarket` (klend IDL v1.13) and Scope's
//!   `OraclePrices`, as zero-copy `#[repr(C)]` views checked against the IDL in the tests.
//! * [`fetch`]: `getProgramAccounts` (owner and market `memcmp`) for the obligations together
//!   with the lending market and Scope prices, then the reserves: two round trips.
//! * [`fraction`], [`reserve`], [`scope`], [`obligation`]: klend's fixed-point `Fraction`
//!   (U68F60), interest accrued to the read slot, Scope price chains, and `refresh_obligation`
//!   (collateral exchange rate, LTV, liquidation threshold, borrow factor, elevation groups).
//! * [`normalize`]: pure; raw accounts → [`ProtocolSnapshot`](unimargin_schema::ProtocolSnapshot),
//!   with a warning when the obligation's stored values (from its last refresh) differ from the
//!   values recomputed at the read slot.
//!
//! Depends on `unimargin-sdk` and `unimargin-schema` only; addresses come from configuration.
//! Test with `cargo test -p unimargin-kamino` (real mainnet accounts when
//! `UNIMARGIN_TEST_VECTORS` is set); benchmark decoding with `cargo bench -p unimargin-kamino`.

pub mod config;
pub mod decode;
pub mod fetch;
pub mod fraction;
pub mod layout;
pub mod normalize;
pub mod obligation;
/// Little-endian, alignment-one integers for the zero-copy layouts (shared with the other Solana adapters).
pub use unimargin_sdk::solana::pod;
pub mod reserve;
pub mod scope;

use std::sync::Arc;

use async_trait::async_trait;
use unimargin_schema::{AccountId, ProtocolSnapshot};
use unimargin_sdk::{
    AdapterDescriptor, AdapterError, AdapterFactory, ChainReader, DeploymentSpec, ProtocolAdapter,
    Result, solana::Pubkey,
};

pub use config::{KaminoConfig, KaminoParams};

/// Kind name used in configuration.
pub const KIND: &str = "kamino";

/// One Kamino lending market.
#[derive(Debug, Clone)]
pub struct KaminoAdapter {
    descriptor: AdapterDescriptor,
    config: KaminoConfig,
}

impl KaminoAdapter {
    /// An adapter for a market.
    pub fn new(descriptor: AdapterDescriptor, config: KaminoConfig) -> Self {
        Self { descriptor, config }
    }
}

#[async_trait]
impl ProtocolAdapter for KaminoAdapter {
    fn descriptor(&self) -> &AdapterDescriptor {
        &self.descriptor
    }

    async fn snapshot(&self, chain: &ChainReader, account: &AccountId) -> Result<ProtocolSnapshot> {
        let pinned = chain.solana()?;
        let owner: Pubkey =
            account
                .address()
                .parse()
                .map_err(|_| AdapterError::WrongChainFamily {
                    expected: "solana account",
                    actual: "non-solana account",
                })?;
        let raw = fetch::fetch(pinned, &self.config, &owner).await?;
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

/// Builds [`KaminoAdapter`]s from `[[deployments]]` entries of kind `kamino`.
#[derive(Debug, Default, Clone, Copy)]
pub struct KaminoFactory;

impl AdapterFactory for KaminoFactory {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn build(&self, spec: &DeploymentSpec) -> Result<Arc<dyn ProtocolAdapter>, AdapterError> {
        let params: KaminoParams = spec.params(KIND)?;
        Ok(Arc::new(KaminoAdapter::new(
            spec.descriptor(KIND),
            KaminoConfig::from_params(params)?,
        )))
    }
}

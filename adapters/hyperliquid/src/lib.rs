//! Hyperliquid adapter: an owner's perps on the default dex and every HIP-3 dex, and their spot
//! balances, read from the venue's `POST /info` API and normalized with the venue's own margin
//! figures reproduced.
//!
//! * [`api`]: the info requests, their documented rate-limit weights and the reply shapes.
//! * [`fetch`]: at most three concurrent rounds of requests (see there), no market data where the
//!   owner has nothing to price.
//! * [`normalize`]: pure; perps with entry, mark, PnL, leverage, margin used, funding and the
//!   venue's liquidation price; spot balances; the venue's account value, cross margin used,
//!   maintenance margin (tiered) and every liquidation price reproduced and compared; one dollar
//!   counted once across the perp and spot views.
//! * [`margin`]: the documented margin-tier and liquidation-price formulas.
//! * [`HyperliquidFactory`]: builds the adapter from a `[[deployments]]` entry of kind
//!   `hyperliquid`.
//!
//! **Chain identity.** HyperCore accounts are EVM addresses, and HyperEVM, the EVM of the same
//! chain, has chain id 999, so the venue is configured as `eip155:999` with the alias
//! `hyperliquid`: an owner is `hyperliquid:0x…` or `eip155:999:0x…`, and the same address reads
//! the same account on HyperCore. The chain entry is of kind `venue` (an HTTP base URL, not an
//! RPC URL), so nothing here ever reads HyperEVM contracts.
//!
//! Depends on `unimargin-sdk` (the venue client) and `unimargin-schema` only. Test with
//! `cargo test -p unimargin-hyperliquid`: the tests run the real venue client against a loopback
//! server replaying documented reply shapes, and, when `UNIMARGIN_TEST_VECTORS` points at recorded
//! venue replies, against those too.

pub mod api;
mod config;
pub mod fetch;
pub mod margin;
pub mod normalize;

use std::sync::Arc;

use async_trait::async_trait;
use unimargin_schema::{AccountId, ChainNamespace, ProtocolSnapshot};
use unimargin_sdk::{
    AdapterDescriptor, AdapterError, AdapterFactory, ChainReader, DeploymentSpec, ProtocolAdapter,
    Result,
};

pub use config::HyperliquidParams;

/// Kind name used in configuration.
pub const KIND: &str = "hyperliquid";

/// One Hyperliquid deployment.
#[derive(Debug, Clone)]
pub struct HyperliquidAdapter {
    descriptor: AdapterDescriptor,
    params: HyperliquidParams,
}

impl HyperliquidAdapter {
    /// An adapter for a deployment.
    pub fn new(descriptor: AdapterDescriptor, params: HyperliquidParams) -> Self {
        Self { descriptor, params }
    }
}

#[async_trait]
impl ProtocolAdapter for HyperliquidAdapter {
    fn descriptor(&self) -> &AdapterDescriptor {
        &self.descriptor
    }

    async fn snapshot(&self, chain: &ChainReader, account: &AccountId) -> Result<ProtocolSnapshot> {
        let venue = chain.venue()?;
        if account.chain().namespace() != ChainNamespace::Eip155 {
            return Err(AdapterError::WrongChainFamily {
                expected: "evm account",
                actual: "non-evm account",
            });
        }
        // The info API expects the address in lower case.
        let user = account.address().to_ascii_lowercase();
        let raw = fetch::fetch(venue, &user).await?;
        let ctx = normalize::NormalizeContext {
            chain: &self.descriptor.chain,
            read_point: venue.read_point(),
            protocol: &self.descriptor.protocol,
            market: &self.descriptor.market,
            account,
            params: &self.params,
            fetched_at: chrono::Utc::now(),
        };
        normalize::normalize(&raw, &ctx)
    }
}

/// Builds [`HyperliquidAdapter`]s from `[[deployments]]` entries of kind `hyperliquid`.
#[derive(Debug, Default, Clone, Copy)]
pub struct HyperliquidFactory;

impl AdapterFactory for HyperliquidFactory {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn build(&self, spec: &DeploymentSpec) -> Result<Arc<dyn ProtocolAdapter>, AdapterError> {
        let params: HyperliquidParams = if spec.params.is_null() {
            HyperliquidParams::default()
        } else {
            spec.params(KIND)?
        };
        Ok(Arc::new(HyperliquidAdapter::new(
            spec.descriptor(KIND),
            params,
        )))
    }
}

//! Derive (formerly Lyra v2) adapter: an owner wallet's subaccounts — options, perps and
//! collateral — read from the venue's public JSON-RPC API, with the venue's greeks and margin
//! figures, and options repriced with our own Black-76.
//!
//! * [`api`]: the public methods (`public/get_subaccounts`, `public/margin_watch`,
//!   `public/get_tickers`), the JSON-RPC envelope and the reply shapes.
//! * [`fetch`]: three concurrent rounds (owner → subaccounts → option tickers), one ticker request
//!   per currency and expiry held.
//! * [`normalize`]: pure; collaterals, perps and options with the venue's marks, margins, greeks
//!   and liquidation prices; the venue's totals reproduced from their breakdown; the weakest
//!   subaccount's margin ratio as the native health.
//! * [`black76`]: this crate's own Black-76 (floats inside, decimals at the boundary), used to
//!   recompute every option's greeks from the ticker's forward and implied volatility. The engine
//!   may gain a Black-76 of its own; the two are meant to be unified then.
//! * [`DeriveFactory`]: builds the adapter from a `[[deployments]]` entry of kind `derive`.
//!
//! **Chain identity.** Derive's subaccounts live on the Derive chain, an EVM rollup with chain id
//! 957, and are owned by an EVM wallet, so the venue is configured as `eip155:957` with the alias
//! `derive`: an owner is `derive:0x…` (the wallet), and the adapter asks the API which
//! subaccounts it owns. The chain entry is of kind `venue`: only the HTTP API is read.
//!
//! Depends on `unimargin-sdk` (the venue client) and `unimargin-schema` only. Test with
//! `cargo test -p unimargin-derive`: the tests run the real venue client against a loopback server
//! replaying documented reply shapes, and, when `UNIMARGIN_TEST_VECTORS` points at recorded venue
//! replies, decode those too.

pub mod api;
pub mod black76;
mod config;
pub mod fetch;
pub mod instrument;
mod math;
pub mod normalize;

use std::sync::Arc;

use async_trait::async_trait;
use unimargin_schema::{AccountId, ChainNamespace, ProtocolSnapshot};
use unimargin_sdk::{
    AdapterDescriptor, AdapterError, AdapterFactory, ChainReader, DeploymentSpec, ProtocolAdapter,
    Result,
};

pub use config::DeriveParams;

/// Kind name used in configuration.
pub const KIND: &str = "derive";

/// One Derive deployment.
#[derive(Debug, Clone)]
pub struct DeriveAdapter {
    descriptor: AdapterDescriptor,
    params: DeriveParams,
}

impl DeriveAdapter {
    /// An adapter for a deployment.
    pub fn new(descriptor: AdapterDescriptor, params: DeriveParams) -> Self {
        Self { descriptor, params }
    }
}

#[async_trait]
impl ProtocolAdapter for DeriveAdapter {
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
        let raw = fetch::fetch(venue, account.address(), self.params.expiry_hour_utc).await?;
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

/// Builds [`DeriveAdapter`]s from `[[deployments]]` entries of kind `derive`.
#[derive(Debug, Default, Clone, Copy)]
pub struct DeriveFactory;

impl AdapterFactory for DeriveFactory {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn build(&self, spec: &DeploymentSpec) -> Result<Arc<dyn ProtocolAdapter>, AdapterError> {
        let params: DeriveParams = if spec.params.is_null() {
            DeriveParams::default()
        } else {
            spec.params(KIND)?
        };
        if params.expiry_hour_utc > 23 {
            return Err(AdapterError::Config(format!(
                "derive params: expiry_hour_utc {} is not an hour",
                params.expiry_hour_utc
            )));
        }
        Ok(Arc::new(DeriveAdapter::new(spec.descriptor(KIND), params)))
    }
}

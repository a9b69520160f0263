//! marginfi v2 adapter: reads an owner's `MarginfiAccount`s in one group, the `Bank`s their
//! balances reference and those banks' oracles, and reproduces marginfi's maintenance and
//! initial health components exactly, in the program's `I80F48` arithmetic.
//!
//! * [`layout`]: the program's zero-copy account layouts (0.1.7), checked against the published
//!   Anchor IDL by the tests.
//! * [`fetch`]: at the pinned slot, `getProgramAccounts` (memcmp on group and authority), then
//!   `getMultipleAccounts` for the banks, then for their oracles — three requests after the pin.
//! * [`risk`]: marginfi's risk engine (share values, weights, e-mode, init-limit discount,
//!   confidence-biased prices) on `fixed::types::I80F48`.
//! * [`normalize`]: pure; raw accounts → positions and the reproduced health, with every oracle
//!   checked against the bank's own max age and our [`OracleGuard`] first (fail closed).
//! * [`MarginfiFactory`]: builds one adapter per configured group (kind `marginfi`).
//!
//! Depends on `unimargin-sdk` and `unimargin-schema` only. Test with
//! `cargo test -p unimargin-marginfi` (a loopback Solana JSON-RPC server; tests that decode real
//! mainnet accounts run when `UNIMARGIN_TEST_VECTORS` points at the test vectors). Benchmark the
//! decoders with `cargo bench -p unimargin-marginfi`.
//!
//! [`OracleGuard`]: unimargin_sdk::solana::oracle::OracleGuard

mod config;
pub mod fetch;
pub mod layout;
pub mod normalize;
pub mod risk;

use std::sync::Arc;

use async_trait::async_trait;
use unimargin_schema::{AccountId, ProtocolSnapshot};
use unimargin_sdk::{
    AdapterDescriptor, AdapterError, AdapterFactory, ChainReader, DeploymentSpec, ProtocolAdapter,
    Result, solana::Pubkey,
};

pub use config::{Address, MarginfiDeployment};

/// Kind name used in configuration.
pub const KIND: &str = "marginfi";

/// One marginfi group on one cluster.
#[derive(Debug, Clone)]
pub struct MarginfiAdapter {
    descriptor: AdapterDescriptor,
    deployment: MarginfiDeployment,
}

impl MarginfiAdapter {
    /// An adapter for a deployment.
    pub fn new(descriptor: AdapterDescriptor, deployment: MarginfiDeployment) -> Self {
        Self {
            descriptor,
            deployment,
        }
    }
}

#[async_trait]
impl ProtocolAdapter for MarginfiAdapter {
    fn descriptor(&self) -> &AdapterDescriptor {
        &self.descriptor
    }

    async fn snapshot(&self, chain: &ChainReader, account: &AccountId) -> Result<ProtocolSnapshot> {
        let reader = chain.solana()?;
        let owner: Pubkey =
            account
                .address()
                .parse()
                .map_err(|_| AdapterError::WrongChainFamily {
                    expected: "solana account",
                    actual: "non-solana account",
                })?;
        let raw = fetch::fetch(reader, &self.deployment, &owner).await?;
        let ctx = normalize::NormalizeContext {
            chain: &self.descriptor.chain,
            read_point: reader.read_point(),
            protocol: &self.descriptor.protocol,
            market: &self.descriptor.market,
            account,
            deployment: &self.deployment,
            fetched_at: chrono::Utc::now(),
        };
        normalize::normalize(&raw, &ctx)
    }
}

/// Builds [`MarginfiAdapter`]s from `[[deployments]]` entries of kind `marginfi`.
#[derive(Debug, Default, Clone, Copy)]
pub struct MarginfiFactory;

impl AdapterFactory for MarginfiFactory {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn build(&self, spec: &DeploymentSpec) -> Result<Arc<dyn ProtocolAdapter>, AdapterError> {
        let deployment: MarginfiDeployment = spec.params(KIND)?;
        Ok(Arc::new(MarginfiAdapter::new(
            spec.descriptor(KIND),
            deployment,
        )))
    }
}

//! GMX v2 (synthetics) adapter: reads an account's perpetual positions through GMX's `Reader` and
//! `DataStore` on Arbitrum, prices them with the reference Chainlink feeds GMX's DataStore lists,
//! and reproduces GMX's liquidation rule with GMX's integer arithmetic.
//!
//! * [`fetch`]: all reads at the pinned block; one Multicall3 batch in the steady state (the
//!   market layout, the last feed answers and the account's last positions are memoized in the
//!   adapter, and every batch re-validates them; see the module doc for the cold-start cost).
//! * [`normalize`]: pure; each position becomes a perp on the index token plus a supply of its
//!   collateral, and the native health is the worst position's remaining ÷ required collateral,
//!   reproduced and as GMX's `Reader.isPositionLiquidatable` reports it.
//! * [`math`]: GMX's arithmetic (30-decimal USD, PnL with the trader cap, fees, price impact cap,
//!   the liquidation rule and the liquidation price).
//! * [`GmxV2Factory`]: builds one adapter per configured deployment (kind `gmx-v2`).
//! * `fixtures` (feature): deploys the Solidity fixtures of `fixtures/` on anvil and seeds markets,
//!   prices and positions, for tests and demos.
//!
//! Prices: GMX's own oracle prices are signed off chain and exist on chain only while an order
//! executes. The adapter uses the reference feed GMX configures per token (`PRICE_FEED`, scaled by
//! `PRICE_FEED_MULTIPLIER`, widened by `STABLE_PRICE`, refused beyond
//! `PRICE_FEED_HEARTBEAT_DURATION`) — the on-chain price GMX itself checks its signed prices
//! against — and passes the same prices to the Reader, so reproduction and Reader agree on inputs.
//!
//! Depends on `unimargin-sdk` and `unimargin-schema` only. Addresses live in configuration (the
//! Reader address together with its ABI version). Test with `cargo test -p unimargin-gmx-v2`
//! (starts its own anvil).

pub mod bindings;
mod config;
pub mod fetch;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod keys;
pub mod math;
pub mod normalize;

use std::{collections::BTreeMap, sync::Arc};

use alloy::primitives::Address;
use async_trait::async_trait;
use unimargin_schema::{AccountId, ProtocolSnapshot};
use unimargin_sdk::{
    AdapterDescriptor, AdapterError, AdapterFactory, ChainReader, DeploymentSpec, ProtocolAdapter,
    Result,
};

pub use config::{GmxDeployment, GmxParams, ReaderAbi};

/// Kind name used in configuration.
pub const KIND: &str = "gmx-v2";

/// Accounts whose last positions are remembered; beyond it the memory starts afresh (a forgotten
/// account costs one more batch, never a wrong answer).
const REMEMBERED_ACCOUNTS: usize = 10_000;

/// What the adapter remembers between profiles.
#[derive(Debug, Default)]
struct Memo {
    knowledge: fetch::Knowledge,
    accounts: BTreeMap<Address, Vec<fetch::PositionRef>>,
}

/// One GMX v2 deployment on one chain.
#[derive(Debug)]
pub struct GmxV2Adapter {
    descriptor: AdapterDescriptor,
    deployment: GmxDeployment,
    memo: tokio::sync::RwLock<Memo>,
}

impl GmxV2Adapter {
    /// An adapter for a deployment.
    pub fn new(descriptor: AdapterDescriptor, deployment: GmxDeployment) -> Self {
        Self {
            descriptor,
            deployment,
            memo: tokio::sync::RwLock::new(Memo::default()),
        }
    }

    /// The deployment.
    pub fn deployment(&self) -> &GmxDeployment {
        &self.deployment
    }
}

#[async_trait]
impl ProtocolAdapter for GmxV2Adapter {
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
        let mut knowledge = {
            let memo = self.memo.read().await;
            fetch::Knowledge {
                positions: memo.accounts.get(&user).cloned().unwrap_or_default(),
                ..memo.knowledge.clone()
            }
        };
        let raw = fetch::fetch(evm, &self.deployment, user, &mut knowledge).await;
        {
            // Learned even when the read failed: the next attempt starts from it.
            let mut memo = self.memo.write().await;
            memo.knowledge.markets.extend(knowledge.markets);
            memo.knowledge.tokens.extend(knowledge.tokens);
            memo.knowledge.prices.extend(knowledge.prices);
            if memo.accounts.len() >= REMEMBERED_ACCOUNTS && !memo.accounts.contains_key(&user) {
                memo.accounts.clear();
            }
            memo.accounts.insert(user, knowledge.positions);
        }
        let raw = raw?;
        tracing::debug!(account = %user, batches = raw.batches, "gmx-v2 read");
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

/// Builds [`GmxV2Adapter`]s from `[[deployments]]` entries of kind `gmx-v2`.
#[derive(Debug, Default, Clone, Copy)]
pub struct GmxV2Factory;

impl AdapterFactory for GmxV2Factory {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn build(&self, spec: &DeploymentSpec) -> Result<Arc<dyn ProtocolAdapter>, AdapterError> {
        // The path names the offending key even for errors inside a value (an unknown
        // `reader_abi`).
        let params: GmxParams =
            serde_path_to_error::deserialize(spec.params.clone()).map_err(|e| {
                AdapterError::Config(format!("gmx-v2 params: {}: {}", e.path(), e.inner()))
            })?;
        Ok(Arc::new(GmxV2Adapter::new(
            spec.descriptor(KIND),
            GmxDeployment::from_params(params)?,
        )))
    }
}

//! Compound III (Comet) adapter: reads an owner's base balance and collateral from one Comet
//! market and reproduces Comet's `isLiquidatable` and `isBorrowCollateralized` exactly.
//!
//! One adapter instance serves one Comet, i.e. one base asset on one chain (USDC, WETH, USDT …).
//!
//! * [`fetch`]: all reads at the pinned block through Multicall3. Steady state: **one**
//!   `aggregate3` per profile. The market's layout (`numAssets`, `baseToken`,
//!   `baseTokenPriceFeed`, every `getAssetInfo(i)` address) is read once and memoized per
//!   deployment in a [`layout::LayoutCache`]; each profile's single batch re-reads those cheap
//!   getters at its own block next to every dynamic value (`totalsBasic`, the rate model,
//!   `getUtilization`, `getPrice` of every feed and their `latestRoundData`, `userBasic`,
//!   `collateralBalanceOf` per asset, `balanceOf`, `borrowBalanceOf`, `isLiquidatable`,
//!   `isBorrowCollateralized`). If the re-read shows an upgrade changed the layout, the layout
//!   is read again at that block and the batch retried once. So a profile costs the block pin plus
//!   one `eth_call`; the first profile of a deployment costs one more (the layout), and so does
//!   the first profile after an upgrade that moved an asset or feed.
//! * [`normalize`]: pure. Accrues the indices to the block as Comet's `accruedInterestIndices`
//!   does, turns the signed principal into a base supply (not collateral in Comet) or a debt,
//!   each collateral into a supply weighted `borrowCollateralFactor` /
//!   `liquidateCollateralFactor`, and computes the native metric
//!   `compound-v3.liquidation_ratio` (below 1 ⇔ liquidatable) with Comet's `mulPrice` /
//!   `mulFactor` truncations. See the module docs for how it relates to Comet's views and why
//!   `reported` is empty.
//! * Prices are Comet's own `getPrice(feed)` (8 decimals). Markets that price in another unit
//!   (WETH markets price in ETH) are converted to USD through a configured `usd_feed`, and the
//!   price source says so.
//! * [`CompoundV3Factory`]: builds one adapter per configured deployment (kind `compound-v3`).
//! * `fixtures` (feature): deploys the Solidity fixtures of `fixtures/` (Comet's real ABI) on
//!   anvil and seeds accounts.
//!
//! Depends on `unimargin-sdk` and `unimargin-schema` only. Addresses live in configuration
//! (`config/*.toml`), never in code. Test with `cargo test -p unimargin-compound-v3` (starts its
//! own anvil nodes; set `UNIMARGIN_PROTOCOL_ABIS` / `UNIMARGIN_TEST_VECTORS` to also compare
//! with Comet's published ABI and decode recorded mainnet replies).

mod accrual;
pub mod bindings;
mod config;
pub mod fetch;
#[cfg(feature = "fixtures")]
pub mod fixtures;
mod health;
pub mod layout;
mod math;
pub mod normalize;
mod pricing;

use std::sync::Arc;

use alloy::primitives::Address;
use async_trait::async_trait;
use unimargin_schema::{AccountId, ProtocolSnapshot};
use unimargin_sdk::{
    AdapterDescriptor, AdapterError, AdapterFactory, ChainReader, DeploymentSpec, ProtocolAdapter,
    Result, evm::PinnedEvm,
};

pub use config::{CometDeployment, USD};
pub use math::RateCurve;

/// Kind name used in configuration.
pub const KIND: &str = "compound-v3";

/// One Comet market on one chain.
#[derive(Debug)]
pub struct CompoundV3Adapter {
    descriptor: AdapterDescriptor,
    deployment: CometDeployment,
    cache: layout::LayoutCache,
}

impl CompoundV3Adapter {
    /// An adapter for a deployment; the configuration is validated here.
    pub fn new(descriptor: AdapterDescriptor, deployment: CometDeployment) -> Result<Self> {
        deployment
            .validate()
            .map_err(|e| AdapterError::Config(format!("compound-v3 params: {e}")))?;
        Ok(Self {
            descriptor,
            deployment,
            cache: layout::LayoutCache::new(),
        })
    }

    /// The deployment served.
    pub fn deployment(&self) -> &CometDeployment {
        &self.deployment
    }

    /// Reads the layout at `evm`'s block and remembers it, unless a concurrent profile already
    /// replaced `stale` (the layout found missing or outdated).
    async fn refresh_layout(
        &self,
        evm: &PinnedEvm,
        stale: Option<&Arc<layout::Layout>>,
    ) -> Result<Arc<layout::Layout>> {
        let (_guard, fresh) = self.cache.begin_refresh(stale).await;
        if let Some(layout) = fresh {
            return Ok(layout);
        }
        let layout = Arc::new(fetch::fetch_layout(evm, &self.deployment).await?);
        tracing::debug!(
            comet = %self.deployment.comet,
            block = layout.read_at_block,
            assets = layout.assets.len(),
            "compound-v3 layout read"
        );
        self.cache.set_layout(layout.clone()).await;
        Ok(layout)
    }

    /// Fetches with the memoized layout, refreshing it and retrying once if it no longer holds.
    async fn fetch(&self, evm: &PinnedEvm, user: Address) -> Result<fetch::RawAccount> {
        let layout = match self.cache.layout().await {
            Some(layout) => layout,
            None => self.refresh_layout(evm, None).await?,
        };
        let symbols = self.cache.symbols().await;
        let raw = match fetch::fetch_account(evm, &self.deployment, &layout, &symbols, user).await?
        {
            fetch::Fetched::Read(raw) => raw,
            fetch::Fetched::LayoutChanged(why) => {
                tracing::info!(comet = %self.deployment.comet, block = evm.block_number(), %why, "compound-v3 layout changed");
                let layout = self.refresh_layout(evm, Some(&layout)).await?;
                match fetch::fetch_account(evm, &self.deployment, &layout, &symbols, user).await? {
                    fetch::Fetched::Read(raw) => raw,
                    fetch::Fetched::LayoutChanged(why) => {
                        return Err(AdapterError::malformed(
                            format!("Comet {}", self.deployment.comet),
                            format!(
                                "the layout, read again, does not hold at block {}: {why}",
                                evm.block_number()
                            ),
                        ));
                    }
                }
            }
        };
        self.cache.add_symbols(&raw.learned_symbols).await;
        Ok(*raw)
    }
}

#[async_trait]
impl ProtocolAdapter for CompoundV3Adapter {
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
        let raw = self.fetch(evm, user).await?;
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

/// Builds [`CompoundV3Adapter`]s from `[[deployments]]` entries of kind `compound-v3`.
#[derive(Debug, Default, Clone, Copy)]
pub struct CompoundV3Factory;

impl AdapterFactory for CompoundV3Factory {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn build(&self, spec: &DeploymentSpec) -> Result<Arc<dyn ProtocolAdapter>, AdapterError> {
        let deployment: CometDeployment = spec.params(KIND)?;
        Ok(Arc::new(CompoundV3Adapter::new(
            spec.descriptor(KIND),
            deployment,
        )?))
    }
}

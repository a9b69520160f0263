//! Typed configuration of one Aave v3 (or fork) deployment.

use std::collections::BTreeMap;

use alloy::primitives::Address;
use serde::Deserialize;

/// Aave version of a deployment: the struct layout of its `UiPoolDataProviderV3` and the Pool
/// arithmetic behind `getUserAccountData`. Selectors are identical across versions, so a wrong
/// layout cannot be detected on chain: it is pinned per deployment in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum UiLayout {
    /// Aave v3.0.x (periphery v3.0 layout; half-up balances, stable debt, e-mode per reserve with
    /// an optional category price source). SparkLend runs this.
    #[serde(rename = "v3.0")]
    V3_0,
    /// aave-v3-origin v3.6 (Aave's main markets since late 2025): floor/ceil balances, e-mode
    /// bitmaps with ltvzero, no stable debt.
    #[serde(rename = "v3.6")]
    V3_6,
}

/// Addresses and options of one deployment (`params` of a `[[deployments]]` entry of kind
/// `aave-v3`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AaveDeployment {
    /// `PoolAddressesProvider`: the market's identity, passed to the UI data provider.
    pub pool_addresses_provider: Address,
    /// `Pool` (proxy).
    pub pool: Address,
    /// `UiPoolDataProviderV3` matching `ui_layout`.
    pub ui_pool_data_provider: Address,
    /// Layout of that data provider.
    pub ui_layout: UiLayout,
    /// Risk group per reserve symbol (`WETH = "ETH"`); unlisted symbols use their own upper-cased
    /// symbol, so netting across protocols only happens where configuration says two assets move
    /// together.
    #[serde(default)]
    pub risk_keys: BTreeMap<String, String>,
}

impl AaveDeployment {
    /// The risk group of a reserve.
    pub fn risk_key(&self, symbol: &str) -> String {
        self.risk_keys
            .get(symbol)
            .cloned()
            .unwrap_or_else(|| symbol.to_ascii_uppercase())
    }
}

//! Typed configuration of the Hyperliquid adapter (`params` of a `[[deployments]]` entry of kind
//! `hyperliquid`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// Options of one Hyperliquid deployment. The venue's base URL is a property of the chain
/// (`[chains.hyperliquid] base_url`), not of the adapter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HyperliquidParams {
    /// Risk group per coin or token symbol (`UBTC = "BTC"`, `USDC = "USD"`); unlisted symbols use
    /// their own upper-cased symbol, so netting only happens where configuration says two assets
    /// move together.
    #[serde(default)]
    pub risk_keys: BTreeMap<String, String>,
}

impl HyperliquidParams {
    /// The risk group of a symbol.
    pub fn risk_key(&self, symbol: &str) -> String {
        self.risk_keys
            .get(symbol)
            .cloned()
            .unwrap_or_else(|| symbol.to_ascii_uppercase())
    }
}

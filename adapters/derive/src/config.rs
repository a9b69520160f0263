//! Typed configuration of the Derive adapter (`params` of a `[[deployments]]` entry of kind
//! `derive`).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Deserialize;

/// Options of one Derive deployment. The API base URL is a property of the chain
/// (`[chains.derive] base_url`), not of the adapter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeriveParams {
    /// Risk group per currency or asset (`wstETH = "ETH"`, `USDC = "USD"`); unlisted names use
    /// their own upper-cased name.
    #[serde(default)]
    pub risk_keys: BTreeMap<String, String>,
    /// Hour (UTC) at which options expire on their expiry date. Derive's options expire at
    /// 08:00 UTC; the instrument name carries only the date.
    #[serde(default = "default_expiry_hour")]
    pub expiry_hour_utc: u32,
    /// Relative tolerance within which our Black-76 greeks are said to agree with the venue's.
    #[serde(default = "default_greeks_tolerance")]
    pub greeks_tolerance: Decimal,
}

impl Default for DeriveParams {
    fn default() -> Self {
        Self {
            risk_keys: BTreeMap::new(),
            expiry_hour_utc: default_expiry_hour(),
            greeks_tolerance: default_greeks_tolerance(),
        }
    }
}

fn default_expiry_hour() -> u32 {
    8
}

fn default_greeks_tolerance() -> Decimal {
    // 2 %: the venue prices at its own instant and with its own rates; we price at the pinned time.
    Decimal::new(2, 2)
}

impl DeriveParams {
    /// The risk group of a currency or asset.
    pub fn risk_key(&self, name: &str) -> String {
        self.risk_keys
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_ascii_uppercase())
    }
}

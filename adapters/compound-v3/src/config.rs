//! Typed configuration of one Comet deployment.

use std::collections::BTreeMap;

use alloy::primitives::Address;
use serde::Deserialize;

/// The unit Comet's prices are in when it is not told otherwise.
pub const USD: &str = "USD";

fn usd() -> String {
    USD.to_owned()
}

/// Addresses and options of one Comet market (`params` of a `[[deployments]]` entry of kind
/// `compound-v3`). One Comet serves one base asset, so one deployment is one market.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CometDeployment {
    /// The Comet proxy: every read goes to it (extension functions through its fallback).
    pub comet: Address,
    /// Unit of Comet's 8-decimal prices. USDC and USDT markets price in USD. WETH markets
    /// price in ETH: their base token feed is a constant 1, and the collateral feeds are quoted
    /// in ETH, so `price_unit = "ETH"` and `usd_feed` converts.
    #[serde(default = "usd")]
    pub price_unit: String,
    /// A `<price_unit> / USD` feed implementing Chainlink's `AggregatorV3Interface`, required
    /// exactly when `price_unit` is not USD.
    #[serde(default)]
    pub usd_feed: Option<Address>,
    /// Risk group per token symbol (`WETH = "ETH"`); unlisted symbols use their own upper-cased
    /// symbol, so netting across protocols only happens where configuration says so.
    #[serde(default)]
    pub risk_keys: BTreeMap<String, String>,
}

impl CometDeployment {
    /// A USD-priced market with no risk groups.
    pub fn usd(comet: Address) -> Self {
        Self {
            comet,
            price_unit: usd(),
            usd_feed: None,
            risk_keys: BTreeMap::new(),
        }
    }

    /// Whether Comet's prices are already in USD.
    pub fn prices_in_usd(&self) -> bool {
        self.price_unit.eq_ignore_ascii_case(USD)
    }

    /// The risk group of a token.
    pub fn risk_key(&self, symbol: &str) -> String {
        self.risk_keys
            .get(symbol)
            .cloned()
            .unwrap_or_else(|| symbol.to_ascii_uppercase())
    }

    /// Checks what serde cannot: the unit and the conversion feed go together.
    pub fn validate(&self) -> Result<(), String> {
        if self.price_unit.trim().is_empty() {
            return Err("price_unit must not be empty".into());
        }
        match (self.prices_in_usd(), self.usd_feed) {
            (true, Some(_)) => {
                Err("usd_feed is set but price_unit is USD; remove one of them".into())
            }
            (false, None) => Err(format!(
                "price_unit is {} but no usd_feed converts it to USD",
                self.price_unit
            )),
            _ => Ok(()),
        }
    }
}

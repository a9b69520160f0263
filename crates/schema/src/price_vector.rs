//! The profile's price vector: one price per asset, chosen from the protocols' own oracles.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::PriceSource;

/// One protocol market's quote for an asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PriceQuote {
    /// `protocol/market` that quoted it.
    pub market: String,
    /// USD per whole unit.
    #[schemars(with = "crate::export::DecimalString")]
    pub usd: Decimal,
    /// The oracle behind it.
    pub source: PriceSource,
    /// Age in seconds at the read point, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<u64>,
}

/// The price of one asset for the whole profile.
///
/// Rule: the median of the protocols' quotes (the lower middle one for an even count); its source
/// and age are kept. When the quotes spread wider than the configured band the asset is
/// `diverged`, and the profile values what is held at `low_usd` and what is owed at `high_usd`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AssetPrice {
    /// `GROUP:SYMBOL`, the asset's identity across chains and protocols (symbol upper-cased,
    /// configured aliases applied, e.g. WETH → ETH).
    pub key: String,
    /// Risk group.
    pub group: String,
    /// Symbol after aliasing.
    pub symbol: String,
    /// The chosen price (USD per whole unit).
    #[schemars(with = "crate::export::DecimalString")]
    pub usd: Decimal,
    /// `protocol/market` whose quote was chosen.
    pub chosen_from: String,
    /// The chosen quote's oracle.
    pub source: PriceSource,
    /// The chosen quote's age in seconds, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<u64>,
    /// Lowest quote.
    #[schemars(with = "crate::export::DecimalString")]
    pub low_usd: Decimal,
    /// Highest quote.
    #[schemars(with = "crate::export::DecimalString")]
    pub high_usd: Decimal,
    /// `(high − low) ÷ low`.
    #[schemars(with = "crate::export::DecimalString")]
    pub divergence: Decimal,
    /// Whether `divergence` exceeds the configured band.
    pub diverged: bool,
    /// Every quote, by market.
    pub quotes: Vec<PriceQuote>,
}

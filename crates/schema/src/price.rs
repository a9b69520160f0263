//! Prices with their source and age.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a price came from. Kept on every price so that a reader can judge it and so that two
/// protocols quoting one asset from different oracles can be compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PriceSource {
    /// The oracle as the protocol names it: `aave-oracle`, `chainlink`, `pyth`, `venue-mark`.
    pub oracle: String,
    /// The contract or account that produced the value (CAIP-10), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The protocol's own feed for this asset (e.g. the Chainlink aggregator behind Aave's
    /// oracle), when the adapter could identify it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<String>,
}

/// A USD price of one whole unit of an asset, as the protocol itself values it at the read point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Price {
    /// USD per whole token (not per base unit). Exact decimal.
    #[schemars(with = "crate::export::DecimalString")]
    pub usd: Decimal,
    /// Where it came from.
    pub source: PriceSource,
    /// When the oracle last updated the value, if the feed exposes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Seconds between `updated_at` and the read point's timestamp; `None` when unknown. The
    /// engine fails the profile closed when this exceeds the configured maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<u64>,
}

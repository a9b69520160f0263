//! Option valuations and their aggregation.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Greeks, OptionKind, Side};

/// The model valuation of one option position. Greeks are per position and signed (a written
/// call has negative delta).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OptionValuation {
    /// `protocol/market@account`.
    pub market: String,
    /// Instrument as the venue names it.
    pub instrument: String,
    /// Underlying risk group.
    pub underlying: String,
    /// Call or put.
    pub kind: OptionKind,
    /// Bought or written.
    pub side: Side,
    /// Contracts (underlying units).
    #[schemars(with = "crate::export::DecimalString")]
    pub amount: Decimal,
    /// Underlying price used (USD).
    #[schemars(with = "crate::export::DecimalString")]
    pub underlying_usd: Decimal,
    /// Volatility used (fraction; the venue's implied volatility when it reports one).
    #[schemars(with = "crate::export::DecimalString")]
    pub volatility: Decimal,
    /// Years to expiry at `as_of`.
    #[schemars(with = "crate::export::DecimalString")]
    pub years_to_expiry: Decimal,
    /// Model price per contract (USD).
    #[schemars(with = "crate::export::DecimalString")]
    pub model_price_usd: Decimal,
    /// Position greeks: delta in underlying units, gamma per USD, vega in USD per volatility
    /// point, theta in USD per day.
    pub greeks: Greeks,
}

/// Option greeks of one underlying.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UnderlyingGreeks {
    /// Underlying risk group.
    pub underlying: String,
    /// Delta in underlying units.
    #[schemars(with = "crate::export::DecimalString")]
    pub delta: Decimal,
    /// Delta in USD (`delta × underlying price`).
    #[schemars(with = "crate::export::DecimalString")]
    pub delta_usd: Decimal,
    /// Gamma in underlying units per USD.
    #[schemars(with = "crate::export::DecimalString")]
    pub gamma: Decimal,
    /// Change of `delta_usd` for a 1 % move (`gamma × price² ÷ 100`).
    #[schemars(with = "crate::export::DecimalString")]
    pub gamma_usd_per_pct: Decimal,
    /// USD per volatility point.
    #[schemars(with = "crate::export::DecimalString")]
    pub vega_usd: Decimal,
    /// USD per day.
    #[schemars(with = "crate::export::DecimalString")]
    pub theta_usd: Decimal,
}

/// Option greeks of the whole portfolio, in USD so that underlyings can be added up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PortfolioGreeks {
    /// Sum of `delta_usd`.
    #[schemars(with = "crate::export::DecimalString")]
    pub delta_usd: Decimal,
    /// Sum of `gamma_usd_per_pct`.
    #[schemars(with = "crate::export::DecimalString")]
    pub gamma_usd_per_pct: Decimal,
    /// Sum of `vega_usd`.
    #[schemars(with = "crate::export::DecimalString")]
    pub vega_usd: Decimal,
    /// Sum of `theta_usd`.
    #[schemars(with = "crate::export::DecimalString")]
    pub theta_usd: Decimal,
}

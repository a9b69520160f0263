//! Outcomes of the stress scenarios.

use std::sync::Arc;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a scenario shocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioKind {
    /// Nothing moves; only carry over the horizon.
    Base,
    /// One risk group moves by a grid step; correlated groups follow their conditional move.
    Price,
    /// Two risk groups move together on the correlation ellipsoid.
    Joint,
    /// An extreme move of one group, counted at a fraction.
    Extreme,
    /// Pegged assets lose their peg against their group.
    Depeg,
    /// Every protocol's oracle deviates from the market against the account.
    OracleDivergence,
}

/// The move of one risk group in a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GroupMove {
    /// Risk group, or peg name for depeg scenarios.
    // Shared (`Arc`): a grid names the same few groups in every one of its scenarios.
    #[schemars(with = "String")]
    pub group: Arc<str>,
    /// Relative price move (−0.35 = −35 %).
    #[schemars(with = "crate::export::DecimalString")]
    pub change: Decimal,
}

/// The portfolio fully revalued in one scenario, with each protocol's own liquidation rule
/// re-applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioOutcome {
    /// Stable identifier, e.g. `ETH-35%`, `ETH+10%/vol+`, `BTC+ETH-joint`, `depeg:stETH`.
    pub id: String,
    /// What it shocks.
    pub kind: ScenarioKind,
    /// Non-zero group moves.
    pub moves: Vec<GroupMove>,
    /// Relative change of option volatilities (+0.3 = ×1.3).
    #[schemars(with = "crate::export::DecimalString")]
    pub vol_change: Decimal,
    /// Weight of the scenario's loss (1, or the fraction for extreme moves).
    #[schemars(with = "crate::export::DecimalString")]
    pub weight: Decimal,
    /// Change of portfolio equity at market prices, carry included (signed, USD).
    #[schemars(with = "crate::export::DecimalString")]
    pub pnl_usd: Decimal,
    /// Liquidation penalties of the protocol markets that liquidate (USD).
    #[schemars(with = "crate::export::DecimalString")]
    pub liquidation_loss_usd: Decimal,
    /// `weight × (liquidation_loss − pnl)`: the loss this scenario charges (negative: a gain).
    #[schemars(with = "crate::export::DecimalString")]
    pub loss_usd: Decimal,
    /// Protocol markets (`protocol/market@account`) that liquidate, lowest health first: the
    /// first one is the market that would liquidate first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub liquidated: Vec<String>,
}

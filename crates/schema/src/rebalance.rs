//! Rebalancing advice.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Health;

/// What a move does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RebalanceAction {
    /// Withdraw an asset from one market and supply it as collateral on another.
    MoveCollateral,
    /// Withdraw an asset from one market and repay the same asset's debt on another.
    Repay,
}

/// One proposed move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RebalanceMove {
    /// Move collateral or repay.
    pub action: RebalanceAction,
    /// Market the asset is withdrawn from (`protocol/market@account`).
    pub from: String,
    /// Market it is supplied to or repaid on.
    pub to: String,
    /// Asset symbol.
    pub asset: String,
    /// Whole units to move (rounded up).
    #[schemars(with = "crate::export::DecimalString")]
    pub amount: Decimal,
    /// USD value at the source market's price.
    #[schemars(with = "crate::export::DecimalString")]
    pub value_usd: Decimal,
}

/// A market's health before and after the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MarketHealthChange {
    /// `protocol/market@account`.
    pub market: String,
    /// Health now (adjusted collateral ÷ maintenance margin).
    pub before: Health,
    /// Health after the moves.
    pub after: Health,
}

/// The smallest moves (in USD) found that lift every protocol market to the target health.
/// Advice only: Unimargin never executes anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RebalancePlan {
    /// Health every market should reach.
    #[schemars(with = "crate::export::DecimalString")]
    pub target_health: Decimal,
    /// Whether the moves reach the target everywhere.
    pub feasible: bool,
    /// The moves, in order.
    pub moves: Vec<RebalanceMove>,
    /// Sum of `value_usd`.
    #[schemars(with = "crate::export::DecimalString")]
    pub total_moved_usd: Decimal,
    /// Every market the plan touches.
    pub markets: Vec<MarketHealthChange>,
}

//! What-if simulation: hypothetical changes applied to a profile, and what they change.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{AccountId, Health, MarginProfile, MarketId, Position, PositionKind, ProtocolId};

/// The protocol market a change applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketRef {
    /// Protocol id.
    pub protocol: ProtocolId,
    /// Market within the protocol.
    pub market: MarketId,
    /// The account, needed only when several accounts of the profile use this market.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
}

/// One hypothetical change. Amounts are whole units of the asset and must be positive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum WhatIfChange {
    /// Adds a position as given (its price, weights and value are taken as they are).
    AddPosition {
        /// Where.
        at: MarketRef,
        /// The position.
        position: Box<Position>,
    },
    /// Removes every position of this kind and symbol on the market.
    RemovePosition {
        /// Where.
        at: MarketRef,
        /// Supply, debt, perp or option.
        kind: PositionKind,
        /// Asset symbol (case-insensitive).
        symbol: String,
    },
    /// Supplies more of an asset the market already holds as supply (same price and weights).
    Deposit {
        /// Where.
        at: MarketRef,
        /// Asset symbol (case-insensitive).
        symbol: String,
        /// Whole units.
        #[schemars(with = "crate::export::DecimalString")]
        amount: Decimal,
    },
    /// Withdraws part of a supply.
    Withdraw {
        /// Where.
        at: MarketRef,
        /// Asset symbol (case-insensitive).
        symbol: String,
        /// Whole units (at most the supplied amount).
        #[schemars(with = "crate::export::DecimalString")]
        amount: Decimal,
    },
    /// Borrows more of an asset (a new debt takes liability weight 1 and the asset's price on the
    /// market, or elsewhere in the profile); the proceeds leave the profile.
    Borrow {
        /// Where.
        at: MarketRef,
        /// Asset symbol (case-insensitive).
        symbol: String,
        /// Whole units.
        #[schemars(with = "crate::export::DecimalString")]
        amount: Decimal,
    },
    /// Repays part of a debt with funds from outside the profile.
    Repay {
        /// Where.
        at: MarketRef,
        /// Asset symbol (case-insensitive).
        symbol: String,
        /// Whole units (at most the debt).
        #[schemars(with = "crate::export::DecimalString")]
        amount: Decimal,
    },
    /// Sets the price of an asset on every market that holds it (perp marks and PnL follow).
    PriceOverride {
        /// Asset symbol (case-insensitive).
        symbol: String,
        /// Restricts the override to one risk group, when a symbol is used in several.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        /// New USD price per whole unit.
        #[schemars(with = "crate::export::DecimalString")]
        usd: Decimal,
    },
}

/// A number before and after.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DecimalChange {
    /// Before.
    #[schemars(with = "crate::export::DecimalString")]
    pub before: Decimal,
    /// After.
    #[schemars(with = "crate::export::DecimalString")]
    pub after: Decimal,
    /// `after − before`.
    #[schemars(with = "crate::export::DecimalString")]
    pub delta: Decimal,
}

/// A health before and after (absent when the profile is incomplete).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HealthChange {
    /// Before.
    #[serde(default)]
    pub before: Option<Health>,
    /// After.
    #[serde(default)]
    pub after: Option<Health>,
}

/// One protocol market before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MarketDiff {
    /// `protocol/market@account`.
    pub market: String,
    /// Health (adjusted collateral ÷ maintenance margin) before; absent if the market is new.
    #[serde(default)]
    pub before: Option<Health>,
    /// Health after; absent if the market no longer has positions.
    #[serde(default)]
    pub after: Option<Health>,
    /// Whether the protocol could liquidate it after the changes.
    pub liquidatable_after: bool,
}

/// What the changes did to the profile's headline numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProfileDiff {
    /// Portfolio equity.
    pub equity_usd: DecimalChange,
    /// Portfolio maintenance requirement.
    pub maintenance_requirement_usd: DecimalChange,
    /// Portfolio initial requirement.
    pub initial_requirement_usd: DecimalChange,
    /// Worst weighted scenario loss.
    pub stress_loss_usd: DecimalChange,
    /// Stress-based credit capacity.
    pub credit_capacity_usd: DecimalChange,
    /// Portfolio health.
    pub health: HealthChange,
    /// Weakest protocol market's health.
    pub weakest_market_health: HealthChange,
    /// Risk score before.
    pub score_before: u32,
    /// Risk score after.
    pub score_after: u32,
    /// Markets whose health changed, or that appeared or disappeared.
    pub markets: Vec<MarketDiff>,
}

/// The answer to a what-if request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Simulation {
    /// The changes, as applied in order.
    pub changes: Vec<WhatIfChange>,
    /// The profile before the changes.
    pub before: MarginProfile,
    /// The profile after the changes; its per-market native health is recomputed by the
    /// engine from the changed positions (metric suffixed `.simulated`).
    pub after: MarginProfile,
    /// What changed.
    pub diff: ProfileDiff,
}

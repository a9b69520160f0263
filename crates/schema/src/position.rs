//! Positions: the unit every adapter normalizes into.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::{Asset, Price};

/// What kind of exposure a position is. The kind decides how the engine reads [`RiskWeights`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PositionKind {
    /// An asset deposited with the protocol (Aave aToken, Compound collateral, spot deposit).
    Supply,
    /// A borrowed asset the account owes.
    Debt,
    /// A perpetual future.
    Perp,
    /// An option.
    Option,
}

/// Direction of the exposure to the asset's price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Gains when the price rises (supplies, long perps, long options).
    Long,
    /// Loses when the price rises (debts, short perps, written options).
    Short,
}

/// The protocol's own risk parameters for a position, in the protocol's terms, as fractions.
///
/// * `supply`: `initial` = loan-to-value, `maintenance` = liquidation threshold; the position adds
///   `value × weight` to (initial / maintenance) adjusted collateral when `counts_as_collateral`.
/// * `debt`: liability weights (1 for Aave, Compound; above 1 for Drift-style borrow factors);
///   the position adds `value × weight` to the requirement.
/// * `perp` / `option` (written): margin ratios of notional; the position adds
///   `notional × weight` to the requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RiskWeights {
    /// Weight at the initial (opening / borrowing) level.
    #[schemars(with = "crate::export::DecimalString")]
    pub initial: Decimal,
    /// Weight at the maintenance (liquidation) level.
    #[schemars(with = "crate::export::DecimalString")]
    pub maintenance: Decimal,
}

/// Option sensitivities. Floats are used only inside pricing models; these are converted to
/// decimals at the boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Greeks {
    /// Δ in asset units per position.
    #[schemars(with = "crate::export::DecimalString")]
    pub delta: Decimal,
    /// Γ per position.
    #[schemars(with = "crate::export::DecimalString")]
    pub gamma: Decimal,
    /// Vega in USD per vol point.
    #[schemars(with = "crate::export::DecimalString")]
    pub vega: Decimal,
    /// Θ in USD per day.
    #[schemars(with = "crate::export::DecimalString")]
    pub theta: Decimal,
}

/// Perp-only fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PerpDetails {
    /// Market name as the venue calls it (`ETH-USD`).
    pub market: String,
    /// Average entry price (USD).
    #[schemars(with = "crate::export::DecimalString")]
    pub entry_price: Decimal,
    /// Mark price used for PnL and margin (USD).
    #[schemars(with = "crate::export::DecimalString")]
    pub mark_price: Decimal,
    /// Unrealized PnL after fees and funding owed (USD, signed).
    #[schemars(with = "crate::export::DecimalString")]
    pub unrealized_pnl_usd: Decimal,
    /// The venue's liquidation price, if it reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<crate::export::DecimalString>")]
    pub liquidation_price: Option<Decimal>,
}

/// Call or put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OptionKind {
    /// Right to buy.
    Call,
    /// Right to sell.
    Put,
}

/// Option-only fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OptionDetails {
    /// Instrument name as the venue calls it.
    pub instrument: String,
    /// Call or put.
    pub kind: OptionKind,
    /// Strike (USD).
    #[schemars(with = "crate::export::DecimalString")]
    pub strike: Decimal,
    /// Expiry (seconds since the epoch).
    pub expiry: u64,
    /// Implied volatility as a fraction, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<crate::export::DecimalString>")]
    pub implied_vol: Option<Decimal>,
}

/// One exposure of an account on one protocol.
///
/// Amounts and values are never negative: the direction is in `kind` and `side`, so a sum of
/// values can never silently cancel a debt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Position {
    /// Supply, debt, perp or option.
    pub kind: PositionKind,
    /// Long or short.
    pub side: Side,
    /// The asset (the underlying for perps and options).
    pub asset: Asset,
    /// Size in whole asset units (≥ 0), exact.
    #[schemars(with = "crate::export::DecimalString")]
    pub amount: Decimal,
    /// Price of one unit, with source and age.
    pub price: Price,
    /// `amount × price` in USD (≥ 0); notional for perps.
    #[schemars(with = "crate::export::DecimalString")]
    pub value_usd: Decimal,
    /// Whether the protocol counts this supply as collateral (false for supplies the owner
    /// disabled as collateral or the protocol does not accept). Always false for debts.
    pub counts_as_collateral: bool,
    /// The protocol's risk weights for this position.
    pub weights: RiskWeights,
    /// Perp fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perp: Option<PerpDetails>,
    /// Option fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<OptionDetails>,
    /// Greeks, where they apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeks: Option<Greeks>,
    /// Protocol-specific raw values kept for audit (scaled balances, indexes, e-mode), as
    /// strings exactly as read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub native: BTreeMap<String, String>,
}

impl Position {
    /// Whether the position is on the asset side of the balance sheet.
    pub fn is_asset(&self) -> bool {
        match self.kind {
            PositionKind::Supply => true,
            PositionKind::Debt => false,
            PositionKind::Perp | PositionKind::Option => self.side == Side::Long,
        }
    }
}

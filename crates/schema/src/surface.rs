//! The liquidation surface: how far prices can move before a protocol liquidates.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What moves along one axis of the surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SurfaceAxis {
    /// Every asset of a risk group moves together (pegged members with it), others fixed.
    Group,
    /// The members of a peg move against their group, everything else fixed.
    Depeg,
}

/// The first liquidation in one direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LiquidationPoint {
    /// Relative move at which the market's health reaches 1 (−0.25 = a 25 % fall); 0 when it is
    /// liquidatable already.
    #[schemars(with = "crate::export::DecimalString")]
    pub change: Decimal,
    /// The group's reference price at that move, when the group has a reference asset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<crate::export::DecimalString>")]
    pub price_usd: Option<Decimal>,
    /// The market (`protocol/market@account`) that liquidates first.
    pub market: String,
}

/// The liquidation surface along one axis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LiquidationSurface {
    /// Risk group, or peg name for the depeg axis.
    pub underlying: String,
    /// Group move or depeg.
    pub axis: SurfaceAxis,
    /// The group's reference price now, when the group has a reference asset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<crate::export::DecimalString>")]
    pub price_usd: Option<Decimal>,
    /// The first liquidation on a fall; absent when no fall (down to −100 %) liquidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down: Option<LiquidationPoint>,
    /// The first liquidation on a rise; absent when no rise liquidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up: Option<LiquidationPoint>,
}

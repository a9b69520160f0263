//! The risk score.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One factor of the score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScoreFactor {
    /// `stress`, `distance`, `concentration`, `oracle` or `coverage`.
    pub name: String,
    /// The measured quantity (stress loss ÷ equity, smallest move to liquidation, concentration
    /// charge ÷ equity, value-weighted price quality, 1 or 0 for coverage).
    #[schemars(with = "crate::export::DecimalString")]
    pub value: Decimal,
    /// Its sub-score in [0, 1].
    #[schemars(with = "crate::export::DecimalString")]
    pub subscore: Decimal,
    /// Its weight in the score.
    #[schemars(with = "crate::export::DecimalString")]
    pub weight: Decimal,
    /// Points of the 1000 it cost: `1000 × weight × (1 − subscore)`.
    pub points_lost: u32,
}

/// A 0–1000 score (1000 is safest) with a letter grade and the factors that drove it, the costliest
/// first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RiskScore {
    /// 0–1000.
    pub score: u32,
    /// `A` (≥ 900), `B` (≥ 750), `C` (≥ 600), `D` (≥ 450), `E` (≥ 300), `F`.
    pub grade: String,
    /// The factors, the one that cost most points first.
    pub factors: Vec<ScoreFactor>,
}

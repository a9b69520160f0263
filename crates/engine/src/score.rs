//! The risk score: 0–1000, 1000 safest.
//!
//! `score = 1000 × Σ weight_i × subscore_i` over five factors, each sub-score in [0, 1]:
//!
//! | factor | value | sub-score |
//! |---|---|---|
//! | stress | `(W + A_m) ÷ E` | `1 − value` (0 when equity ≤ 0) |
//! | distance | smallest move on the liquidation surface | `value ÷ full_distance` (1 when nothing liquidates) |
//! | concentration | concentration add-on ÷ E | `1 − value ÷ concentration_reference` |
//! | oracle | value-weighted price quality | itself |
//! | coverage | 1 if complete, else 0 | itself |
//!
//! all clamped to [0, 1]. Price quality of an asset is 0 when its quotes diverge, 0.5 when its age
//! is unknown, else `1 − age ÷ (2 × max age)`. An incomplete profile scores 0 (fail closed), and a
//! portfolio below its maintenance requirement scores at most 299 (grade F). Grades: A ≥ 900,
//! B ≥ 750, C ≥ 600, D ≥ 450, E ≥ 300, F below.

use rust_decimal::{Decimal, prelude::ToPrimitive};
use unimargin_schema::{RiskScore, ScoreFactor};

use crate::model::ScoreConfig;

/// The measured quantities.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScoreInputs {
    pub(crate) equity: Decimal,
    pub(crate) stress_and_add_ons: Decimal,
    pub(crate) nearest_liquidation: Option<Decimal>,
    pub(crate) concentration: Decimal,
    pub(crate) oracle_quality: Decimal,
    pub(crate) complete: bool,
    pub(crate) below_requirement: bool,
}

fn clamp01(v: Decimal) -> Decimal {
    v.max(Decimal::ZERO).min(Decimal::ONE)
}

/// The letter of a score.
pub fn grade(score: u32) -> &'static str {
    match score {
        900.. => "A",
        750..=899 => "B",
        600..=749 => "C",
        450..=599 => "D",
        300..=449 => "E",
        _ => "F",
    }
}

/// Computes the score.
pub(crate) fn score(i: ScoreInputs, config: &ScoreConfig) -> RiskScore {
    let w = &config.weights;
    let positive_equity = i.equity > Decimal::ZERO;
    let stress_ratio = if positive_equity {
        (i.stress_and_add_ons / i.equity).round_dp(6)
    } else {
        Decimal::ONE
    };
    let concentration_ratio = if positive_equity {
        (i.concentration / i.equity).round_dp(6)
    } else {
        Decimal::ONE
    };
    let distance_sub = match i.nearest_liquidation {
        None => Decimal::ONE,
        Some(d) => clamp01(d / config.full_distance),
    };
    let coverage = if i.complete {
        Decimal::ONE
    } else {
        Decimal::ZERO
    };
    let factors = [
        (
            "stress",
            stress_ratio,
            clamp01(Decimal::ONE - stress_ratio),
            w.stress,
        ),
        (
            "distance",
            i.nearest_liquidation.unwrap_or(Decimal::ONE),
            distance_sub,
            w.distance,
        ),
        (
            "concentration",
            concentration_ratio,
            clamp01(Decimal::ONE - concentration_ratio / config.concentration_reference),
            w.concentration,
        ),
        (
            "oracle",
            i.oracle_quality,
            clamp01(i.oracle_quality),
            w.oracle,
        ),
        ("coverage", coverage, coverage, w.coverage),
    ];
    let thousand = Decimal::ONE_THOUSAND;
    let total: Decimal = factors.iter().map(|(_, _, s, w)| *s * *w).sum();
    let mut score = (total * thousand).floor().to_u32().unwrap_or(0).min(1000);
    if !i.complete {
        score = 0;
    } else if i.below_requirement {
        score = score.min(299);
    }
    let mut factors: Vec<ScoreFactor> = factors
        .into_iter()
        .map(|(name, value, subscore, weight)| ScoreFactor {
            name: name.to_owned(),
            value,
            subscore: subscore.round_dp(6),
            weight,
            points_lost: (thousand * weight * (Decimal::ONE - subscore))
                .round()
                .to_u32()
                .unwrap_or(0),
        })
        .collect();
    factors.sort_by(|a, b| b.points_lost.cmp(&a.points_lost).then(a.name.cmp(&b.name)));
    RiskScore {
        score,
        grade: grade(score).to_owned(),
        factors,
    }
}

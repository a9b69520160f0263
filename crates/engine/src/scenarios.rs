//! The scenario grid.
//!
//! Per volatile risk group (every configured one, and any other group held): each grid move up
//! and down, scaled by `max(1, volatility ÷ reference volatility)`; the vol-up and vol-down variants
//! of every level when the group has options; the two extreme moves, counted at a fraction. The
//! other groups follow each lead move by their conditional expectation under the correlation
//! matrix ([`crate::correlation`]). Then the joint scenarios: every pair of volatile groups moving
//! together in the four sign combinations, on the correlation ellipsoid (so a pair with
//! correlation 0.8 falls together by 95 % of the maximum, but diverges by only 32 %). Then the DeFi
//! shocks: one depeg per peg held, and the oracle scenario in which every protocol's oracle
//! deviates against the account. The base scenario (nothing moves, carry only) comes first.

use rust_decimal::{Decimal, RoundingStrategy, prelude::ToPrimitive};
use unimargin_schema::ScenarioKind;

use crate::{
    book::Book,
    correlation::{Correlation, conditional_with, ellipsoid_scale_with, given_factor},
    fixed::{self, FACTOR, ONE},
    model::RiskModel,
};

/// One scenario. Moves are relative changes at 1e-9 ([`crate::fixed`]), exactly what the grid
/// multiplies with.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    pub(crate) id: String,
    pub(crate) kind: ScenarioKind,
    /// Relative move per book group (1e-9).
    pub(crate) group_moves: Vec<i128>,
    /// Relative move per book peg against its group (1e-9); empty when no peg moves (most
    /// scenarios), so that they allocate nothing for it.
    pub(crate) peg_moves: Vec<i128>,
    /// Relative change of option volatilities.
    pub(crate) vol_change: Decimal,
    /// Weight of the loss.
    pub(crate) weight: Decimal,
    /// Oracle deviation against the account, in the oracle scenario.
    pub(crate) oracle: Option<Decimal>,
}

/// A move at 1e-9 as a `Decimal`.
pub(crate) fn change(v: i128) -> Decimal {
    fixed::normalized(v, FACTOR)
}

/// Appends `-35%`, `+3%`, `+52.5%` from a move at 1e-9 (two decimals of a percent at most).
/// Written digit by digit: the grid names every scenario, and `format!` costs more than
/// evaluating one.
fn push_pct(out: &mut String, v: i128) {
    // 1e-9 → 1e-4 (a hundredth of a percent); a move beyond the `u64` range cannot occur (moves
    // are bounded by the grid) and is shown saturated.
    let hundredths = u64::try_from((v.unsigned_abs() + 50_000) / 100_000).unwrap_or(u64::MAX);
    out.push(if v < 0 { '-' } else { '+' });
    push_digits(out, hundredths / 100);
    let frac = hundredths % 100;
    if frac != 0 {
        out.push('.');
        push_digits(out, frac / 10);
        if frac % 10 != 0 {
            push_digits(out, frac % 10);
        }
    }
    out.push('%');
}

/// Appends the decimal digits of `n`.
fn push_digits(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        // `n % 10 < 10`, so the digit is one ASCII byte.
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for d in &digits[i..] {
        out.push(char::from(*d));
    }
}

/// `{group}{±pct}{suffix}`, the id of a scenario led by one group.
fn lead_id(group: &str, v: i128, suffix: &str) -> String {
    let mut id = String::with_capacity(group.len() + suffix.len() + 8);
    id.push_str(group);
    push_pct(&mut id, v);
    id.push_str(suffix);
    id
}

fn fixed_move(x: f64) -> i128 {
    let v = (x * ONE as f64).round();
    if v.is_finite() { v as i128 } else { 0 }
}

/// Builds the scenarios for `book`.
pub(crate) fn build(book: &Book, model: &RiskModel, correlation: &Correlation) -> Vec<Scenario> {
    let grid = &model.grid;
    let n_groups = book.groups.len();
    let zero_groups = vec![0i128; n_groups];
    let zero_pegs = vec![0i128; book.pegs.len()];
    let floor = -fixed::to_fixed(grid.max_down_move, FACTOR, RoundingStrategy::ToZero);
    let scenario =
        |id: String, kind, group_moves, peg_moves, vol_change, weight, oracle| Scenario {
            id,
            kind,
            group_moves,
            peg_moves,
            vol_change,
            weight,
            oracle,
        };
    let mut out = vec![scenario(
        "base".into(),
        ScenarioKind::Base,
        zero_groups.clone(),
        Vec::new(),
        Decimal::ZERO,
        Decimal::ONE,
        None,
    )];

    let mut moves: Vec<Decimal> = grid
        .moves
        .iter()
        .copied()
        .filter(|m| *m > Decimal::ZERO)
        .collect();
    moves.sort();
    moves.dedup();
    let max_move = moves
        .last()
        .copied()
        .unwrap_or(grid.extreme_move)
        .max(Decimal::new(1, 6));
    let max_move_f = max_move.to_f64().unwrap_or(1.0);

    // Volatile groups in name order, with their correlation submatrix.
    let mut volatile: Vec<usize> = (0..n_groups)
        .filter(|g| !book.groups[*g].numeraire)
        .collect();
    volatile.sort_by(|a, b| book.groups[*a].name.cmp(&book.groups[*b].name));
    let names: Vec<&str> = volatile
        .iter()
        .map(|g| book.groups[*g].name.as_str())
        .collect();
    let n = volatile.len();
    let rho = correlation.submatrix(&names);
    // Largest move per volatile group: the standardization unit.
    let unit: Vec<f64> = volatile
        .iter()
        .map(|g| (max_move * book.groups[*g].scale).to_f64().unwrap_or(0.0))
        .collect();
    let to_moves = |z: &[f64]| -> Vec<i128> {
        let mut m = zero_groups.clone();
        for (i, g) in volatile.iter().enumerate() {
            m[*g] = fixed_move(z[i] * unit[i]).max(floor);
        }
        m
    };
    // Lead group `i` at standardized move `z`: the others follow by `ρ_hi × z`.
    let lead = |i: usize, z: f64, exact: i128| -> Vec<i128> {
        let mut m = zero_groups.clone();
        for (h, g) in volatile.iter().enumerate() {
            m[*g] = if h == i {
                exact
            } else {
                fixed_move(rho[h * n + i] * z * unit[h])
            }
            .max(floor);
        }
        m
    };

    let vol_up = grid.vol_shift;
    let vol_down = -grid.vol_shift;
    // Every level down, 0, every level up, each with its standardized move (the same for every
    // group, so converted once).
    let all_levels: Vec<(Decimal, f64)> = moves
        .iter()
        .rev()
        .map(|m| -*m)
        .chain(std::iter::once(Decimal::ZERO))
        .chain(moves.iter().copied())
        .map(|level| (level, level.to_f64().unwrap_or(0.0) / max_move_f))
        .collect();
    for (i, g) in volatile.iter().enumerate() {
        let group = &book.groups[*g];
        // The unmoved level only matters for the volatility variants.
        let levels = all_levels
            .iter()
            .filter(|(level, _)| group.has_options || !level.is_zero());
        for &(level, z) in levels {
            let exact = fixed::to_fixed(
                level * group.scale,
                FACTOR,
                RoundingStrategy::MidpointAwayFromZero,
            );
            let group_moves = lead(i, z, exact);
            if group.has_options {
                for (vol_change, suffix) in [(vol_up, "/vol+"), (vol_down, "/vol-")] {
                    out.push(scenario(
                        lead_id(&group.name, group_moves[*g], suffix),
                        ScenarioKind::Price,
                        group_moves.clone(),
                        Vec::new(),
                        vol_change,
                        Decimal::ONE,
                        None,
                    ));
                }
            } else {
                out.push(scenario(
                    lead_id(&group.name, group_moves[*g], ""),
                    ScenarioKind::Price,
                    group_moves,
                    Vec::new(),
                    Decimal::ZERO,
                    Decimal::ONE,
                    None,
                ));
            }
        }
        for sign in [Decimal::NEGATIVE_ONE, Decimal::ONE] {
            let level = sign * grid.extreme_move;
            let z = level.to_f64().unwrap_or(0.0) / max_move_f;
            let exact = fixed::to_fixed(
                level * group.scale,
                FACTOR,
                RoundingStrategy::MidpointAwayFromZero,
            );
            let group_moves = lead(i, z, exact);
            let id = lead_id(&group.name, group_moves[*g], "x");
            out.push(scenario(
                id,
                ScenarioKind::Extreme,
                group_moves,
                Vec::new(),
                Decimal::ZERO,
                grid.extreme_weight,
                None,
            ));
        }
    }

    if grid.joint {
        for i in 0..n {
            for j in i + 1..n {
                // One factorization of the pair's correlation for its four sign combinations.
                let Some(l) = given_factor(&rho, n, &[i, j]) else {
                    continue;
                };
                for (si, sj) in [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)] {
                    let Some(c) = ellipsoid_scale_with(&l, &[si, sj]) else {
                        continue;
                    };
                    let z = conditional_with(&l, &rho, n, &[(i, c * si), (j, c * sj)]);
                    let group_moves = to_moves(&z);
                    let (gi, gj) = (&book.groups[volatile[i]], &book.groups[volatile[j]]);
                    let mut id = lead_id(&gi.name, group_moves[volatile[i]], "&");
                    id.push_str(&gj.name);
                    push_pct(&mut id, group_moves[volatile[j]]);
                    out.push(scenario(
                        id,
                        ScenarioKind::Joint,
                        group_moves,
                        Vec::new(),
                        Decimal::ZERO,
                        Decimal::ONE,
                        None,
                    ));
                }
            }
        }
    }

    let mut pegs: Vec<usize> = (0..book.pegs.len())
        .filter(|p| book.pegs[*p].present && book.pegs[*p].depeg > Decimal::ZERO)
        .collect();
    pegs.sort_by(|a, b| book.pegs[*a].name.cmp(&book.pegs[*b].name));
    for p in pegs {
        let mut peg_moves = zero_pegs.clone();
        peg_moves[p] = -fixed::to_fixed(book.pegs[p].depeg, FACTOR, RoundingStrategy::AwayFromZero);
        let id = format!("depeg:{}", book.pegs[p].name);
        out.push(scenario(
            id,
            ScenarioKind::Depeg,
            zero_groups.clone(),
            peg_moves,
            Decimal::ZERO,
            Decimal::ONE,
            None,
        ));
    }

    if grid.oracle_deviation > Decimal::ZERO {
        out.push(scenario(
            "oracle".into(),
            ScenarioKind::OracleDivergence,
            zero_groups,
            Vec::new(),
            Decimal::ZERO,
            Decimal::ONE,
            Some(grid.oracle_deviation),
        ));
    }
    out
}

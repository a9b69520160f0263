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

use std::sync::Arc;

use rust_decimal::{Decimal, RoundingStrategy, prelude::ToPrimitive};
use unimargin_schema::{GroupMove, ScenarioKind};

use crate::{
    book::Book,
    correlation::{Correlation, conditional_with, ellipsoid_scale_with, given_factor},
    fixed::{self, FACTOR, ONE},
    model::RiskModel,
};

/// One scenario. Moves are relative changes at 1e-9 ([`crate::fixed`]), exactly what the grid
/// multiplies with; the moves per book group live in [`Scenarios`], one flat table for the grid.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    pub(crate) id: String,
    pub(crate) kind: ScenarioKind,
    /// The peg that moves against its group, and its move (1e-9): only depeg scenarios have one.
    pub(crate) peg_move: Option<(usize, i128)>,
    /// Relative change of option volatilities.
    pub(crate) vol_change: Decimal,
    /// `1 + vol_change` for the option models.
    pub(crate) vol_factor: f64,
    /// Weight of the loss.
    pub(crate) weight: Decimal,
    /// Oracle deviation against the account, in the oracle scenario.
    pub(crate) oracle: Option<Decimal>,
    /// The non-zero moves as the profile reports them: groups in book order, then the peg, then
    /// the oracle. Written once here; the grid hands them to the outcome.
    pub(crate) moves: Vec<GroupMove>,
}

/// The grid: its scenarios and their moves per book group.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scenarios {
    pub(crate) list: Vec<Scenario>,
    /// `list.len() × groups` moves (1e-9), scenario by scenario: one allocation for the grid
    /// instead of one per scenario.
    pub(crate) group_moves: Vec<i128>,
    pub(crate) groups: usize,
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

/// Appends scenarios to a [`Scenarios`], writing each one's reported moves from its group moves.
struct Writer {
    out: Scenarios,
    /// Group and peg names, shared by every scenario's moves.
    group_names: Vec<Arc<str>>,
    peg_names: Vec<Arc<str>>,
    /// `1 + vol_change` per distinct volatility change (there are three).
    vol_factors: Vec<(Decimal, f64)>,
    options: bool,
}

impl Writer {
    fn vol_factor(&mut self, vol_change: Decimal) -> f64 {
        if !self.options {
            return 1.0;
        }
        if let Some((_, f)) = self.vol_factors.iter().find(|(v, _)| *v == vol_change) {
            return *f;
        }
        let f = 1.0 + vol_change.to_f64().unwrap_or(0.0);
        self.vol_factors.push((vol_change, f));
        f
    }

    /// The reported moves of group moves `group_moves` and `peg_move`, and `oracle`.
    fn moves(
        &self,
        group_moves: &[i128],
        peg_move: Option<(usize, i128)>,
        oracle: Option<Decimal>,
    ) -> Vec<GroupMove> {
        let mut moves = Vec::with_capacity(group_moves.len() + 2);
        for (g, m) in group_moves.iter().enumerate() {
            if *m != 0 {
                moves.push(GroupMove {
                    group: self.group_names[g].clone(),
                    change: change(*m),
                });
            }
        }
        if let Some((p, m)) = peg_move.filter(|(_, m)| *m != 0) {
            moves.push(GroupMove {
                group: self.peg_names[p].clone(),
                change: change(m),
            });
        }
        if let Some(d) = oracle {
            moves.push(GroupMove {
                group: "oracle".into(),
                change: d,
            });
        }
        moves
    }

    /// Appends a scenario whose group moves were just appended to `out.group_moves`.
    #[allow(clippy::too_many_arguments, reason = "one scenario's fields")]
    fn push(
        &mut self,
        id: String,
        kind: ScenarioKind,
        peg_move: Option<(usize, i128)>,
        vol_change: Decimal,
        weight: Decimal,
        oracle: Option<Decimal>,
        moves: Vec<GroupMove>,
    ) {
        let vol_factor = self.vol_factor(vol_change);
        self.out.list.push(Scenario {
            id,
            kind,
            peg_move,
            vol_change,
            vol_factor,
            weight,
            oracle,
            moves,
        });
    }

    /// The group moves of the scenario being written (the last `groups` entries).
    fn last_moves(&self) -> &[i128] {
        let n = self.out.group_moves.len();
        &self.out.group_moves[n - self.out.groups..]
    }

    /// Starts a scenario's group moves, all zero; returns them to fill.
    fn new_moves(&mut self) -> &mut [i128] {
        let groups = self.out.groups;
        let n = self.out.group_moves.len();
        self.out.group_moves.resize(n + groups, 0);
        &mut self.out.group_moves[n..]
    }
}

/// Builds the scenarios for `book`.
pub(crate) fn build(book: &Book, model: &RiskModel, correlation: &Correlation) -> Scenarios {
    let grid = &model.grid;
    let n_groups = book.groups.len();
    let floor = -fixed::to_fixed(grid.max_down_move, FACTOR, RoundingStrategy::ToZero);

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

    let levels_per_group = 2 * moves.len() + 1;
    let capacity =
        2 + n * (2 * levels_per_group + 2) + 2 * n * n.saturating_sub(1) + book.pegs.len();
    let mut w = Writer {
        out: Scenarios {
            list: Vec::with_capacity(capacity),
            group_moves: Vec::with_capacity(capacity * n_groups),
            groups: n_groups,
        },
        group_names: book
            .groups
            .iter()
            .map(|g| Arc::from(g.name.as_str()))
            .collect(),
        peg_names: book
            .pegs
            .iter()
            .map(|p| Arc::from(p.name.as_str()))
            .collect(),
        vol_factors: Vec::with_capacity(3),
        options: !book.options.is_empty(),
    };

    // The base scenario: nothing moves, carry only.
    w.new_moves();
    w.push(
        "base".into(),
        ScenarioKind::Base,
        None,
        Decimal::ZERO,
        Decimal::ONE,
        None,
        Vec::new(),
    );

    // Lead group `i` at standardized move `z` (`exact` for the lead itself): the others follow
    // by `ρ_hi × z`.
    let lead = |w: &mut Writer, i: usize, z: f64, exact: i128| {
        let m = w.new_moves();
        for (h, g) in volatile.iter().enumerate() {
            m[*g] = if h == i {
                exact
            } else {
                fixed_move(rho[h * n + i] * z * unit[h])
            }
            .max(floor);
        }
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
            lead(&mut w, i, z, exact);
            let reported = w.moves(w.last_moves(), None, None);
            let lead_move = w.last_moves()[*g];
            if group.has_options {
                // The vol-down variant repeats the vol-up one's group moves.
                let groups = w.out.groups;
                let start = w.out.group_moves.len() - groups;
                w.push(
                    lead_id(&group.name, lead_move, "/vol+"),
                    ScenarioKind::Price,
                    None,
                    vol_up,
                    Decimal::ONE,
                    None,
                    reported.clone(),
                );
                w.out.group_moves.extend_from_within(start..start + groups);
                w.push(
                    lead_id(&group.name, lead_move, "/vol-"),
                    ScenarioKind::Price,
                    None,
                    vol_down,
                    Decimal::ONE,
                    None,
                    reported,
                );
            } else {
                w.push(
                    lead_id(&group.name, lead_move, ""),
                    ScenarioKind::Price,
                    None,
                    Decimal::ZERO,
                    Decimal::ONE,
                    None,
                    reported,
                );
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
            lead(&mut w, i, z, exact);
            let reported = w.moves(w.last_moves(), None, None);
            let id = lead_id(&group.name, w.last_moves()[*g], "x");
            w.push(
                id,
                ScenarioKind::Extreme,
                None,
                Decimal::ZERO,
                grid.extreme_weight,
                None,
                reported,
            );
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
                    let m = w.new_moves();
                    for (h, g) in volatile.iter().enumerate() {
                        m[*g] = fixed_move(z[h] * unit[h]).max(floor);
                    }
                    let (gi, gj) = (&book.groups[volatile[i]], &book.groups[volatile[j]]);
                    let last = w.last_moves();
                    let mut id = lead_id(&gi.name, last[volatile[i]], "&");
                    id.push_str(&gj.name);
                    push_pct(&mut id, last[volatile[j]]);
                    let reported = w.moves(last, None, None);
                    w.push(
                        id,
                        ScenarioKind::Joint,
                        None,
                        Decimal::ZERO,
                        Decimal::ONE,
                        None,
                        reported,
                    );
                }
            }
        }
    }

    let mut pegs: Vec<usize> = (0..book.pegs.len())
        .filter(|p| book.pegs[*p].present && book.pegs[*p].depeg > Decimal::ZERO)
        .collect();
    pegs.sort_by(|a, b| book.pegs[*a].name.cmp(&book.pegs[*b].name));
    for p in pegs {
        let peg_move = Some((
            p,
            -fixed::to_fixed(book.pegs[p].depeg, FACTOR, RoundingStrategy::AwayFromZero),
        ));
        let id = format!("depeg:{}", book.pegs[p].name);
        w.new_moves();
        let reported = w.moves(w.last_moves(), peg_move, None);
        w.push(
            id,
            ScenarioKind::Depeg,
            peg_move,
            Decimal::ZERO,
            Decimal::ONE,
            None,
            reported,
        );
    }

    if grid.oracle_deviation > Decimal::ZERO {
        let oracle = Some(grid.oracle_deviation);
        w.new_moves();
        let reported = w.moves(w.last_moves(), None, oracle);
        w.push(
            "oracle".into(),
            ScenarioKind::OracleDivergence,
            None,
            Decimal::ZERO,
            Decimal::ONE,
            oracle,
            reported,
        );
    }
    w.out
}

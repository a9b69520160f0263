//! Full revaluation of the book in every scenario, with each protocol market's own liquidation
//! rule re-applied.
//!
//! In a scenario, an asset's price becomes `price × (1 + group move) × (1 + peg move)`. For each
//! market: `adjusted = constant + Σ factor × a_net (+ option collateral)`,
//! `requirement = Σ factor × q (+ written options × ratio)`; the market liquidates when
//! `adjusted < requirement` (health below 1), and the owner then loses the market's liquidation
//! penalty on its liabilities in that scenario (the whole book is assumed liquidated, which is
//! conservative: close factors usually allow less). In the oracle scenario the market's own oracle
//! reads assets `deviation` lower and liabilities `deviation` higher than the market, so only
//! liquidations (not the portfolio's value) change. The portfolio's P&L is
//! `Σ (factor − 1) × pnl_slope + Δ options − carry`, and the scenario's loss is
//! `weight × (penalties − P&L)`. The same pass keeps each market's own loss (its own P&L, options
//! and carry, and its own penalty), whose maximum is its stress loss margined alone.
//!
//! The inner loop runs on exact scaled integers ([`crate::fixed`]); only the per-scenario results
//! are turned into `Decimal`s.

use rust_decimal::{Decimal, RoundingStrategy};
use unimargin_schema::{Health, ScenarioOutcome, Side};

use crate::{
    book::Book,
    fixed::{self, FACTOR, MONEY, ONE},
    scenarios::{Scenario, Scenarios},
};

/// How one market fared over the grid.
#[derive(Debug, Clone, Default)]
pub(crate) struct MarketStress {
    pub(crate) liquidated_in: u32,
    /// Least margin excess (adjusted − requirement, at 1e-17) and the scenario.
    pub(crate) worst: Option<(i128, usize)>,
    /// Adjusted collateral and requirement in that scenario (at 1e-17).
    pub(crate) worst_parts: (i128, i128),
    /// The market's own largest weighted loss over the grid (its P&L and its own penalty, at
    /// 1e-8): its stress loss were it margined alone.
    pub(crate) worst_loss: Option<i128>,
}

/// The distinct scenario weights (usually 1 and the extreme weight), so that a market's own loss
/// is rounded once per weight instead of once per scenario.
///
/// A market's own loss in scenario `s` is `⌈w_s × (penalty_s − ⌊pnl_s⌋)⌉` at 1e-8, with the P&L
/// at 1e-17 and the penalty at 1e-8. With `y_s = penalty_s × 10⁹ − pnl_s` (exact, at 1e-17),
/// `penalty_s − ⌊pnl_s⌋ = ⌈y_s ÷ 10⁹⌉`, and both roundings are monotone: for one weight the largest
/// loss is the one of the largest `y`. The grid therefore keeps the largest `y` per weight, an
/// integer comparison, and rounds at the end.
struct WeightClasses {
    /// The weights, exact and at 1e-9 (rounded up).
    weights: Vec<(Decimal, i128)>,
    /// The class of each scenario.
    of_scenario: Vec<usize>,
}

impl WeightClasses {
    fn new(scenarios: &[Scenario]) -> Self {
        let mut weights: Vec<(Decimal, i128)> = Vec::new();
        let of_scenario = scenarios
            .iter()
            .map(|s| match weights.iter().position(|(w, _)| *w == s.weight) {
                Some(c) => c,
                None => {
                    let fixed =
                        fixed::to_fixed(s.weight, FACTOR, RoundingStrategy::ToPositiveInfinity);
                    weights.push((s.weight, fixed));
                    weights.len() - 1
                }
            })
            .collect();
        Self {
            weights,
            of_scenario,
        }
    }

    /// The largest loss (1e-8, rounded up) from the largest `y` per class (`None`: no scenario).
    fn worst_loss(&self, largest_y: &[Option<i128>]) -> Option<i128> {
        self.weights
            .iter()
            .zip(largest_y)
            .filter_map(|((_, w), y)| {
                let x = ceil_div(*y.as_ref()?, ONE);
                Some(ceil_div(w * x, ONE))
            })
            .max()
    }
}

/// `⌈a ÷ b⌉` for `b > 0`.
fn ceil_div(a: i128, b: i128) -> i128 {
    -((-a).div_euclid(b))
}

/// The grid's results.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stress {
    pub(crate) outcomes: Vec<ScenarioOutcome>,
    /// Index of the scenario with the largest loss.
    pub(crate) worst: Option<usize>,
    /// Its loss (may be negative when every scenario gains).
    pub(crate) worst_loss: Decimal,
    pub(crate) markets: Vec<MarketStress>,
}

/// The factor each asset's price is multiplied by in a scenario with `group_moves` and
/// `peg_move`, at 1e-9.
pub(crate) fn factors(
    book: &Book,
    group_moves: &[i128],
    peg_move: Option<(usize, i128)>,
    out: &mut Vec<i128>,
) {
    out.clear();
    out.extend(book.keys.iter().map(|k| {
        let g = ONE + group_moves[k.group];
        match (k.peg, peg_move) {
            // The grid never moves a group and a peg together; if a model did, the product is
            // rounded to the nearest 1e-9.
            (Some(p), Some((moved, m))) if p == moved && m != 0 => {
                let product = g * (ONE + m);
                (product + ONE / 2).div_euclid(ONE)
            }
            _ => g,
        }
    }));
}

/// `Σ f × a_net`, `Σ f × q` and `Σ (f − 1) × pnl_slope` of a market's buckets (at 1e-17).
fn linear_wide(terms: &[crate::book::BucketFixed], f: &[i128]) -> (i128, i128, i128) {
    let (mut a, mut q, mut p) = (0i128, 0i128, 0i128);
    for b in terms {
        let fk = f[b.key];
        a += fk * b.a_net;
        q += fk * b.q;
        p += (fk - ONE) * b.pnl_slope;
    }
    (a, q, p)
}

/// [`linear_wide`] on `i64` terms and factors: the same integers, each product a widening
/// `i64 × i64 → i128` multiplication.
fn linear_narrow(terms: &[crate::book::NarrowTerms], f: &[i64]) -> (i128, i128, i128) {
    const ONE_64: i64 = ONE as i64;
    let (mut a, mut q, mut p) = (0i128, 0i128, 0i128);
    for t in terms {
        let fk = f[t.key];
        a += i128::from(fk) * i128::from(t.a_net);
        q += i128::from(fk) * i128::from(t.q);
        p += i128::from(fk - ONE_64) * i128::from(t.pnl_slope);
    }
    (a, q, p)
}

/// Evaluates every scenario.
pub(crate) fn run(
    book: &Book,
    scenarios: Scenarios,
    horizon_years: f64,
    labels: &[String],
) -> Stress {
    let Scenarios {
        list: scenarios,
        group_moves,
        groups,
    } = scenarios;
    let mut markets = vec![MarketStress::default(); book.markets.len()];
    let classes = WeightClasses::new(&scenarios);
    let n_classes = classes.weights.len();
    // Per market and weight class, the largest `y` (see [`WeightClasses`]).
    let mut largest_y: Vec<Option<i128>> = vec![None; book.markets.len() * n_classes];
    let mut outcomes = Vec::with_capacity(scenarios.len());
    let mut worst: Option<usize> = None;
    let mut worst_loss = Decimal::MIN;
    let mut f: Vec<i128> = Vec::with_capacity(book.keys.len());
    let mut f_long: Vec<i128> = Vec::with_capacity(book.keys.len());
    let mut f_short: Vec<i128> = Vec::with_capacity(book.keys.len());
    let mut option_values = vec![0i128; book.options.len()];
    // Each option's signed value change (at 1e-17), for its market's own P&L.
    let mut option_changes = vec![0i128; book.options.len()];
    let mut liquidated: Vec<(Decimal, usize)> = Vec::new();
    let carry = fixed::to_fixed(book.carry, MONEY, RoundingStrategy::ToPositiveInfinity) * ONE;
    // Options revalued without a move (only time passes) are the same in many scenarios.
    let unmoved: Vec<i128> = book
        .options
        .iter()
        .map(|l| l.value_fixed_at(1.0, 1.0, horizon_years))
        .collect();

    let mut f_narrow: Vec<i64> = Vec::with_capacity(book.keys.len());
    for (si, s) in scenarios.into_iter().enumerate() {
        factors(
            book,
            &group_moves[si * groups..(si + 1) * groups],
            s.peg_move,
            &mut f,
        );
        // Factors (around 1e9) always fit in `i64` for a validated model; if one did not, every
        // market takes the `i128` path.
        f_narrow.clear();
        f_narrow.extend(f.iter().map_while(|x| i64::try_from(*x).ok()));
        let narrow_factors = f_narrow.len() == f.len();
        let oracle = s
            .oracle
            .map(|d| fixed::to_fixed(d, FACTOR, RoundingStrategy::ToPositiveInfinity));
        if let Some(dev) = oracle {
            // Assets read low, liabilities high, each rounded against the account.
            f_long.clear();
            f_long.extend(f.iter().map(|x| (x * (ONE - dev)).div_euclid(ONE)));
            f_short.clear();
            f_short.extend(f.iter().map(|x| -((-(x * (ONE + dev))).div_euclid(ONE))));
        }
        // P&L at 1e-17: Σ (f − 1) × slope, less carry, plus option changes.
        let mut pnl: i128 = -carry;
        if oracle.is_none() {
            for (k, key) in book.keys.iter().enumerate() {
                let move_ = f[k] - ONE;
                if move_ != 0 {
                    pnl += move_ * key.pnl_slope_fixed;
                }
            }
        }
        let vol_factor = s.vol_factor;
        for (i, leg) in book.options.iter().enumerate() {
            let v = if f[leg.key] == ONE && s.vol_change.is_zero() {
                unmoved[i]
            } else {
                leg.value_fixed_at(
                    fixed::to_f64(f[leg.key]) / ONE as f64,
                    vol_factor,
                    horizon_years,
                )
            };
            option_values[i] = v;
            if oracle.is_none() {
                let change = (v - leg.value_fixed) * ONE;
                let change = if leg.side == Side::Long {
                    change
                } else {
                    -change
                };
                option_changes[i] = change;
                pnl += change;
            }
        }
        let class = classes.of_scenario[si];

        liquidated.clear();
        let mut penalties = Decimal::ZERO;
        for (m, market) in book.markets.iter().enumerate() {
            let mut adjusted = market.constant_fixed;
            let mut requirement: i128 = 0;
            // The market's own P&L, like the portfolio's (only carry in the oracle scenario).
            let mut own_pnl = -market.carry_fixed;
            if oracle.is_none() {
                let (a, q, p) = match (&market.narrow, narrow_factors) {
                    (Some(terms), true) => linear_narrow(terms, &f_narrow),
                    _ => linear_wide(&market.fixed, &f),
                };
                adjusted += a;
                requirement += q;
                own_pnl += p;
                for &i in &market.options {
                    own_pnl += option_changes[i];
                }
            } else {
                for b in &market.fixed {
                    adjusted += f_long[b.key] * b.a_long - f_short[b.key] * b.a_short;
                    requirement += f_short[b.key] * b.q;
                }
            }
            let (down, up) = match oracle {
                Some(dev) => (ONE - dev, ONE + dev),
                None => (ONE, ONE),
            };
            for &i in &market.options {
                let leg = &book.options[i];
                let v = option_values[i];
                match (leg.side, leg.weight_fixed) {
                    (Side::Long, Some(w)) => adjusted += (v * w).div_euclid(ONE) * down,
                    (Side::Short, Some(w)) => requirement += -((-(v * w)).div_euclid(ONE)) * up,
                    _ => {}
                }
            }
            let excess = adjusted - requirement;
            let stats = &mut markets[m];
            if stats.worst.is_none_or(|(e, _)| excess < e) {
                stats.worst = Some((excess, si));
                stats.worst_parts = (adjusted, requirement);
            }
            let mut own_penalty: i128 = 0;
            if requirement > 0 && adjusted < requirement {
                stats.liquidated_in += 1;
                let mut liabilities: i128 = 0;
                for b in &market.fixed {
                    if b.liab != 0 {
                        liabilities += f[b.key] * b.liab;
                    }
                }
                for &i in &market.options {
                    if book.options[i].side == Side::Short {
                        liabilities += option_values[i] * ONE;
                    }
                }
                let liabilities = fixed::product_to_decimal(liabilities);
                let up = Decimal::ONE + s.oracle.unwrap_or(Decimal::ZERO);
                let penalty = market.penalty * liabilities * up;
                own_penalty = fixed::to_fixed(penalty, MONEY, RoundingStrategy::ToPositiveInfinity);
                penalties += penalty;
                let health = fixed::product_to_decimal(adjusted.max(0))
                    / fixed::product_to_decimal(requirement);
                liquidated.push((health, m));
            }
            // The market's own loss is weight × (penalty − P&L); keep its largest `y`.
            let y = own_penalty * ONE - own_pnl;
            let slot = &mut largest_y[m * n_classes + class];
            if slot.is_none_or(|l| y > l) {
                *slot = Some(y);
            }
        }
        liquidated.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let pnl_money = pnl.div_euclid(ONE);
        let pnl = fixed::money_to_decimal(pnl_money);
        let penalties = penalties
            .round_dp_with_strategy(8, RoundingStrategy::ToPositiveInfinity)
            .normalize();
        let loss = (s.weight * (penalties - pnl))
            .round_dp_with_strategy(8, RoundingStrategy::ToPositiveInfinity)
            .normalize();
        if worst.is_none() || loss > worst_loss {
            worst = Some(si);
            worst_loss = loss;
        }
        outcomes.push(ScenarioOutcome {
            id: s.id,
            kind: s.kind,
            moves: s.moves,
            vol_change: s.vol_change,
            weight: s.weight,
            pnl_usd: fixed::normalized(pnl_money, MONEY),
            liquidation_loss_usd: penalties,
            loss_usd: loss,
            liquidated: liquidated.iter().map(|(_, m)| labels[*m].clone()).collect(),
        });
    }
    for (m, stats) in markets.iter_mut().enumerate() {
        stats.worst_loss = classes.worst_loss(&largest_y[m * n_classes..(m + 1) * n_classes]);
    }
    Stress {
        outcomes,
        worst,
        worst_loss: if worst.is_some() {
            worst_loss
        } else {
            Decimal::ZERO
        },
        markets,
    }
}

/// A market's health in its worst scenario.
pub(crate) fn worst_health(stats: &MarketStress) -> Option<Health> {
    stats.worst.map(|_| {
        Health::ratio(
            fixed::product_to_decimal(stats.worst_parts.0),
            fixed::product_to_decimal(stats.worst_parts.1),
        )
    })
}

/// A market's own stress loss (≥ 0): its largest weighted loss over the grid.
pub(crate) fn own_stress_loss(stats: &MarketStress) -> Decimal {
    fixed::money_to_decimal(stats.worst_loss.unwrap_or(0).max(0)).normalize()
}

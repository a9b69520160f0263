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

/// A market's `i64` grid terms split by whether their asset can move in a price scenario: the
/// assets of numeraire groups (USD) move only when a peg of theirs does, so in every other
/// scenario their terms contribute the same `Σ 1 × (a_net − q)` (and no P&L), summed once here.
/// Integer sums do not depend on order, so the results are the same.
struct SplitTerms<'a> {
    moving: Vec<crate::book::NarrowTerms>,
    /// The numeraire assets' terms, and their `Σ ONE × (a_net − q)`.
    fixed: Vec<crate::book::NarrowTerms>,
    fixed_excess: i128,
    all: &'a [crate::book::NarrowTerms],
}

impl<'a> SplitTerms<'a> {
    fn new(book: &Book, terms: &'a [crate::book::NarrowTerms]) -> Self {
        let (fixed, moving): (Vec<crate::book::NarrowTerms>, Vec<_>) = terms
            .iter()
            .partition(|t| book.groups[book.keys[t.key].group].numeraire);
        Self {
            fixed_excess: fixed.iter().map(|t| ONE * i128::from(t.excess)).sum(),
            fixed,
            moving,
            all: terms,
        }
    }
}

/// A market's option terms in a scenario (at 1e-17): the collateral its bought options count
/// for and the requirement of its written ones, each read `down` / `up` by the oracle.
fn option_parts(
    book: &Book,
    options: &[usize],
    values: &[i128],
    down: i128,
    up: i128,
) -> (i128, i128) {
    let (mut adjusted, mut requirement) = (0i128, 0i128);
    for &i in options {
        let leg = &book.options[i];
        let v = values[i];
        match (leg.side, leg.weight_fixed) {
            (Side::Long, Some(w)) => adjusted += (v * w).div_euclid(ONE) * down,
            (Side::Short, Some(w)) => requirement += -((-(v * w)).div_euclid(ONE)) * up,
            _ => {}
        }
    }
    (adjusted, requirement)
}

/// What the grid computes of one scenario before visiting the markets.
struct ScenarioState {
    /// The oracle scenario's deviation (1e-9) and its factors read low (assets) and high
    /// (liabilities), each rounded against the account.
    oracle: Option<(i128, Vec<i128>, Vec<i128>)>,
    /// Whether every factor fits in `i64` (always, for a validated model).
    narrow: bool,
    /// Whether every numeraire asset's factor is exactly one.
    numeraires_unmoved: bool,
    /// The portfolio's P&L (1e-17): carry, linear moves, options.
    pnl: i128,
}

/// Evaluates every scenario.
///
/// Three passes: per scenario, the factors, option values and portfolio P&L; then per market,
/// every scenario — each term's column of factors multiplied in one loop over the scenarios,
/// the market's fixed data read once; then per scenario, the outcome. Every sum is an exact
/// integer, and the penalties (the one `Decimal` sum) are added in market order within each
/// scenario, so the order of the loops does not change a digit.
pub(crate) fn run(
    book: &Book,
    scenarios: &Scenarios,
    horizon_years: f64,
    labels: &[String],
) -> Stress {
    let Scenarios {
        list: scenarios,
        group_moves,
        groups,
    } = scenarios;
    let (groups, n_scenarios, n_keys, n_options) = (
        *groups,
        scenarios.len(),
        book.keys.len(),
        book.options.len(),
    );
    let classes = WeightClasses::new(scenarios);
    let n_classes = classes.weights.len();
    let carry = fixed::to_fixed(book.carry, MONEY, RoundingStrategy::ToPositiveInfinity) * ONE;
    // Options revalued without a move (only time passes) are the same in many scenarios.
    let unmoved: Vec<i128> = book
        .options
        .iter()
        .map(|l| l.value_fixed_at(1.0, 1.0, horizon_years))
        .collect();
    let numeraire_keys: Vec<usize> = (0..n_keys)
        .filter(|k| book.groups[book.keys[*k].group].numeraire)
        .collect();

    // Pass 1: per scenario.
    let mut states: Vec<ScenarioState> = Vec::with_capacity(n_scenarios);
    // Each scenario's factor per asset (1e-9), scenario by scenario.
    let mut rows: Vec<i128> = Vec::with_capacity(n_keys * n_scenarios);
    let mut f = Vec::with_capacity(n_keys);
    // Factors by asset, scenario by scenario within (column-major), for the markets' loops.
    let mut columns = vec![0i64; n_keys * n_scenarios];
    // Option values and signed value changes (1e-17), scenario-major.
    let mut option_values = vec![0i128; n_options * n_scenarios];
    let mut option_changes = vec![0i128; n_options * n_scenarios];
    for (si, s) in scenarios.iter().enumerate() {
        factors(
            book,
            &group_moves[si * groups..(si + 1) * groups],
            s.peg_move,
            &mut f,
        );
        // Factors (around 1e9) always fit in `i64` for a validated model; if one did not, every
        // market takes the `i128` path in this scenario.
        let mut narrow = true;
        for (k, x) in f.iter().enumerate() {
            match i64::try_from(*x) {
                Ok(x) => columns[k * n_scenarios + si] = x,
                Err(_) => narrow = false,
            }
        }
        let numeraires_unmoved = numeraire_keys.iter().all(|k| f[*k] == ONE);
        let oracle = s.oracle.map(|d| {
            let dev = fixed::to_fixed(d, FACTOR, RoundingStrategy::ToPositiveInfinity);
            // Assets read low, liabilities high, each rounded against the account.
            let low = f
                .iter()
                .map(|x| (x * (ONE - dev)).div_euclid(ONE))
                .collect();
            let high = f
                .iter()
                .map(|x| -((-(x * (ONE + dev))).div_euclid(ONE)))
                .collect();
            (dev, low, high)
        });
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
        for (i, leg) in book.options.iter().enumerate() {
            let v = if f[leg.key] == ONE && s.vol_change.is_zero() {
                unmoved[i]
            } else {
                leg.value_fixed_at(
                    fixed::to_f64(f[leg.key]) / ONE as f64,
                    s.vol_factor,
                    horizon_years,
                )
            };
            option_values[si * n_options + i] = v;
            if oracle.is_none() {
                let change = (v - leg.value_fixed) * ONE;
                let change = if leg.side == Side::Long {
                    change
                } else {
                    -change
                };
                option_changes[si * n_options + i] = change;
                pnl += change;
            }
        }
        rows.extend_from_slice(&f);
        states.push(ScenarioState {
            oracle,
            narrow,
            numeraires_unmoved,
            pnl,
        });
    }

    // Pass 2: per market, every scenario.
    let mut markets = vec![MarketStress::default(); book.markets.len()];
    // Per market and weight class, the largest `y` (see [`WeightClasses`]).
    let mut largest_y: Vec<Option<i128>> = vec![None; book.markets.len() * n_classes];
    let mut penalties = vec![Decimal::ZERO; n_scenarios];
    let mut liquidated: Vec<Vec<(Decimal, usize)>> = vec![Vec::new(); n_scenarios];
    // One market's `Σ f × (a_net − q)` and `Σ (f − 1) × pnl_slope` per scenario.
    let mut excess_sums = vec![0i128; n_scenarios];
    let mut pnl_sums = vec![0i128; n_scenarios];
    for (m, market) in book.markets.iter().enumerate() {
        let split = market.narrow.as_deref().map(|t| SplitTerms::new(book, t));
        if let Some(split) = &split {
            excess_sums.fill(0);
            pnl_sums.fill(0);
            for t in &split.moving {
                add_column(
                    &columns[t.key * n_scenarios..(t.key + 1) * n_scenarios],
                    t,
                    &mut excess_sums,
                    &mut pnl_sums,
                );
            }
        }
        let stats = &mut markets[m];
        // The usual case, a market without options in a price scenario that is neither its
        // worst so far nor a liquidation, needs nothing but the excess and the P&L: it is
        // settled here, every other case below.
        let plain = market.options.is_empty();
        for (si, state) in states.iter().enumerate() {
            // `Σ f × (a_net − q)` and `Σ (f − 1) × pnl_slope` of the market's terms in a narrow
            // price scenario: the moving terms' columns summed above, the numeraire terms added
            // here (as one constant unless a depeg moves them).
            let linear = match &split {
                Some(split) if state.narrow && state.oracle.is_none() => {
                    let (mut e, mut p) = (excess_sums[si], pnl_sums[si]);
                    if state.numeraires_unmoved {
                        e += split.fixed_excess;
                    } else {
                        for t in &split.fixed {
                            let fk = columns[t.key * n_scenarios + si];
                            e += i128::from(fk) * i128::from(t.excess);
                            p += i128::from(fk - ONE as i64) * i128::from(t.pnl_slope);
                        }
                    }
                    Some((e, p))
                }
                _ => None,
            };
            if let (true, Some((e, p))) = (plain, linear) {
                let excess = market.constant_fixed + e;
                if excess >= 0 && stats.worst.is_some_and(|(w, _)| excess >= w) {
                    // No penalty: the market's own loss is its P&L's opposite.
                    let y = market.carry_fixed - p;
                    let slot = &mut largest_y[m * n_classes + classes.of_scenario[si]];
                    if slot.is_none_or(|l| y > l) {
                        *slot = Some(y);
                    }
                    continue;
                }
            }
            let values = &option_values[si * n_options..(si + 1) * n_options];
            // The market's own P&L, like the portfolio's (only carry in the oracle scenario).
            let mut own_pnl = -market.carry_fixed;
            let (down, up) = match &state.oracle {
                Some((dev, _, _)) => (ONE - dev, ONE + dev),
                None => (ONE, ONE),
            };
            let (option_adjusted, option_requirement) =
                option_parts(book, &market.options, values, down, up);
            if state.oracle.is_none() {
                for &i in &market.options {
                    own_pnl += option_changes[si * n_options + i];
                }
            }
            // The margin excess (adjusted − requirement), and the two parts when computed: the
            // usual path needs only their difference, and computes the parts when the market is
            // at its worst so far or may liquidate.
            let f = &rows[si * n_keys..(si + 1) * n_keys];
            let (excess, parts) = match linear {
                Some((e, p)) => {
                    own_pnl += p;
                    (
                        market.constant_fixed + e + option_adjusted - option_requirement,
                        None,
                    )
                }
                None => {
                    let mut adjusted = market.constant_fixed + option_adjusted;
                    let mut requirement = option_requirement;
                    match &state.oracle {
                        None => {
                            let (a, q, p) = linear_wide(&market.fixed, f);
                            adjusted += a;
                            requirement += q;
                            own_pnl += p;
                        }
                        Some((_, low, high)) => {
                            for b in &market.fixed {
                                adjusted += low[b.key] * b.a_long - high[b.key] * b.a_short;
                                requirement += high[b.key] * b.q;
                            }
                        }
                    }
                    (adjusted - requirement, Some((adjusted, requirement)))
                }
            };
            let new_worst = stats.worst.is_none_or(|(e, _)| excess < e);
            let (adjusted, requirement) = match parts {
                Some(parts) => parts,
                None if new_worst || excess < 0 => {
                    let requirement = split.as_ref().map_or(0, |t| {
                        t.all
                            .iter()
                            .map(|t| {
                                i128::from(columns[t.key * n_scenarios + si]) * i128::from(t.q)
                            })
                            .sum::<i128>()
                    }) + option_requirement;
                    (excess + requirement, requirement)
                }
                None => (0, 0),
            };
            if new_worst {
                stats.worst = Some((excess, si));
                stats.worst_parts = (adjusted, requirement);
            }
            let mut own_penalty: i128 = 0;
            if excess < 0 && requirement > 0 {
                stats.liquidated_in += 1;
                let mut liabilities: i128 = 0;
                for b in &market.fixed {
                    if b.liab != 0 {
                        liabilities += f[b.key] * b.liab;
                    }
                }
                for &i in &market.options {
                    if book.options[i].side == Side::Short {
                        liabilities += values[i] * ONE;
                    }
                }
                let liabilities = fixed::product_to_decimal(liabilities);
                let up = Decimal::ONE + scenarios[si].oracle.unwrap_or(Decimal::ZERO);
                let penalty = market.penalty * liabilities * up;
                own_penalty = fixed::to_fixed(penalty, MONEY, RoundingStrategy::ToPositiveInfinity);
                penalties[si] += penalty;
                let health = fixed::product_to_decimal(adjusted.max(0))
                    / fixed::product_to_decimal(requirement);
                liquidated[si].push((health, m));
            }
            // The market's own loss is weight × (penalty − P&L); keep its largest `y`.
            let y = own_penalty * ONE - own_pnl;
            let slot = &mut largest_y[m * n_classes + classes.of_scenario[si]];
            if slot.is_none_or(|l| y > l) {
                *slot = Some(y);
            }
        }
    }

    // Pass 3: per scenario, the outcome.
    let mut outcomes = Vec::with_capacity(n_scenarios);
    let mut worst: Option<usize> = None;
    let mut worst_loss = Decimal::MIN;
    for (si, ((s, state), mut liquidated)) in
        scenarios.iter().zip(&states).zip(liquidated).enumerate()
    {
        liquidated.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let pnl_money = state.pnl.div_euclid(ONE);
        let pnl = fixed::money_to_decimal(pnl_money);
        let penalties = penalties[si]
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
            id: s.id.clone(),
            kind: s.kind,
            moves: s.moves.clone(),
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

/// Adds one term's `f × (a_net − q)` and `(f − 1) × pnl_slope` for every scenario, `column`
/// holding the term's asset's factor in each.
fn add_column(column: &[i64], t: &crate::book::NarrowTerms, excess: &mut [i128], pnl: &mut [i128]) {
    const ONE_64: i64 = ONE as i64;
    let (x, slope) = (i128::from(t.excess), i128::from(t.pnl_slope));
    for ((f, e), p) in column.iter().zip(excess.iter_mut()).zip(pnl.iter_mut()) {
        *e += i128::from(*f) * x;
        *p += i128::from(*f - ONE_64) * slope;
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

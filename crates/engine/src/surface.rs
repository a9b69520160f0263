//! The liquidation surface: per risk group (and per peg), the smallest fall and the smallest rise
//! of that group alone, every other price fixed, at which some protocol market first liquidates.
//!
//! A linear market's margin excess is linear in the move `r` of one group:
//! `excess(r) = e + s × r`, with `e` the excess now and `s = Σ_group (a_net − q)` (assets of the
//! group less requirements in the group). It liquidates when the excess turns negative:
//! at `r* = −e ÷ s` — a fall when `s > 0`, a rise when `s < 0`, never when `s = 0`. A fall is only
//! possible down to −100 %. This is why a wstETH-collateral / ETH-debt position does not liquidate
//! on an ETH move: both sides are in group ETH, `s = e`, and `r* = −1`. Markets holding options on
//! the group are solved numerically (a scan then bisection on the repriced excess, in `f64`: the
//! result is a move, rounded to 1e-6); scan steps that bounds on the options' values show
//! nonnegative are not repriced, which leaves the search's result as it is.

use rust_decimal::{Decimal, RoundingStrategy, prelude::ToPrimitive};
use unimargin_schema::{LiquidationPoint, LiquidationSurface, Side, SurfaceAxis};

use crate::book::{Book, MarketBook, OptionLeg};

/// Which assets an axis moves.
#[derive(Clone, Copy)]
enum Axis {
    Group(usize),
    Peg(usize),
}

fn in_axis(book: &Book, key: usize, axis: Axis) -> bool {
    match axis {
        Axis::Group(g) => book.keys[key].group == g,
        Axis::Peg(p) => book.keys[key].peg == Some(p),
    }
}

/// A market's excess as a function of one axis's move, for the numerical search: the linear
/// part split into what moves and what does not, and the option legs. The search runs in `f64`
/// because its result is a move, not money; the root it finds is rounded to 1e-6.
struct Excess<'a> {
    /// The book's option legs.
    options: &'a [OptionLeg],
    fixed_part: f64,
    moving_part: f64,
    requirement: f64,
    legs: Vec<LegTerm>,
}

/// An option leg of the market as the search reads it.
struct LegTerm {
    /// Index in the book's options.
    index: usize,
    /// Whether the axis moves its underlying.
    moves: bool,
    /// Its side and weight when the venue counts it, converted once rather than at every
    /// evaluation.
    counted: Option<(Side, f64)>,
}

impl<'a> Excess<'a> {
    fn new(book: &'a Book, market: &MarketBook, axis: Axis) -> Self {
        let mut fixed_part = market.constant_now;
        let mut moving_part = Decimal::ZERO;
        let mut requirement = Decimal::ZERO;
        for b in &market.buckets {
            requirement += b.q_now;
            if in_axis(book, b.key, axis) {
                moving_part += b.a_net - b.q_now;
            } else {
                fixed_part += b.a_net - b.q_now;
            }
        }
        let legs = market
            .options
            .iter()
            .map(|&i| {
                let leg = &book.options[i];
                LegTerm {
                    index: i,
                    moves: in_axis(book, leg.key, axis),
                    counted: leg.weight.map(|w| (leg.side, w.to_f64().unwrap_or(0.0))),
                }
            })
            .collect();
        let f = |d: Decimal| d.to_f64().unwrap_or(0.0);
        Self {
            options: &book.options,
            fixed_part: f(fixed_part),
            moving_part: f(moving_part),
            requirement: f(requirement),
            legs,
        }
    }

    /// Excess with the axis moved by `r` (instantaneous: no carry, no time decay).
    fn at(&self, r: f64) -> f64 {
        let mut excess = self.fixed_part + self.moving_part * (1.0 + r);
        let mut requirement = self.requirement;
        for term in &self.legs {
            // A leg the venue does not count changes nothing here.
            let Some((side, w)) = term.counted else {
                continue;
            };
            let leg = &self.options[term.index];
            let factor = if term.moves { 1.0 + r } else { 1.0 };
            let v = leg.value_fixed_at(factor, 1.0, 0.0) as f64 / 1e8;
            if side == Side::Long {
                excess += v * w;
            } else {
                excess -= v * w;
                requirement += v * w;
            }
        }
        if requirement <= 0.0 {
            f64::INFINITY
        } else {
            excess
        }
    }

    /// Whether [`Excess::at`] is surely not negative at `r`, shown without pricing the options
    /// ([`value_bounds`]): each counted leg at its least favourable bound, and a margin of
    /// 1e-12 of the terms' sizes for the rounding of `at`'s own sums (a few ulps each). `false`
    /// means "evaluate", not "negative".
    fn surely_not_negative(&self, r: f64) -> bool {
        let moving = self.moving_part * (1.0 + r);
        let mut low = self.fixed_part + moving;
        let mut size = self.fixed_part.abs() + moving.abs();
        for term in &self.legs {
            let Some((side, w)) = term.counted else {
                continue;
            };
            let leg = &self.options[term.index];
            let factor = if term.moves { 1.0 + r } else { 1.0 };
            let Some((lower, upper)) = value_bounds(leg, factor).filter(|_| w >= 0.0) else {
                return false;
            };
            if side == Side::Long {
                low += lower / 1e8 * w;
            } else {
                low -= upper / 1e8 * w;
            }
            size += upper / 1e8 * w;
        }
        low > size * 1e-12
    }
}

/// Bounds `(lower, upper)` of `leg.value_fixed_at(factor, 1.0, 0.0)` (1e-8 USD) that need no
/// option pricing, or `None` for a leg they are not shown for (a negative rate or amount, an
/// underlying that is not a positive finite number).
///
/// With a rate `r ≥ 0`, Black-76 moves by at most the underlying's move: its delta is
/// `e^{−rT} N(d1)` for a call and `−e^{−rT} N(−d1)` for a put, both within [−1, 1], and a call
/// only rises with the underlying, a put only falls (at expiry the intrinsic value does the
/// same). The computed prices differ from the true ones by a few ulps of the underlying and
/// strike; the slack allows a million times that, plus the rounding of the change to an
/// integer. The value is then `max(0, mark + change)`.
fn value_bounds(leg: &OptionLeg, factor: f64) -> Option<(f64, f64)> {
    let input = &leg.input;
    let s0 = input.underlying;
    // As `value_fixed_at` computes the moved underlying.
    let s1 = s0 * factor;
    let valid = input.rate >= 0.0
        && leg.amount_f64 >= 0.0
        && s0 > 0.0
        && s0.is_finite()
        && s1.is_finite()
        && input.strike.is_finite();
    if !valid {
        return None;
    }
    let (rise, fall) = ((s1 - s0).max(0.0), (s0 - s1).max(0.0));
    let (up, down) = match input.right {
        crate::pricing::Right::Call => (rise, fall),
        crate::pricing::Right::Put => (fall, rise),
    };
    let units = leg.amount_f64 * 1e8;
    let mark = leg.value_fixed as f64;
    let slack = 1e-9 * (s0 + s1 + 2.0 * input.strike.abs()) * units + 1e-9 * mark.abs() + 2.0;
    let upper = (mark + up * units + slack).max(0.0);
    let lower = (mark - down * units - slack).max(0.0);
    upper.is_finite().then_some((lower, upper))
}

/// First fall and first rise at which the market liquidates, for a market with options on the
/// axis (both start from the excess now, evaluated once).
fn numeric(excess: &Excess<'_>) -> (Option<Decimal>, Option<Decimal>) {
    if excess.at(0.0) < 0.0 {
        return (Some(Decimal::ZERO), Some(Decimal::ZERO));
    }
    (numeric_from(excess, -1.0), numeric_from(excess, 1.0))
}

/// First move in `direction` (−1 fall, +1 rise) at which the market liquidates, the excess now
/// being nonnegative. Scans up to −99 % / +1000 % in 16 steps (finer near zero), then bisects.
fn numeric_from(excess: &Excess<'_>, direction: f64) -> Option<Decimal> {
    let limit = if direction < 0.0 { 0.99 } else { 10.0 };
    let steps = 16;
    let mut prev = 0.0;
    for i in 1..=steps {
        // Quadratic spacing: small steps near zero, wider far out.
        let x = f64::from(i) / f64::from(steps);
        let r = direction * limit * x * x;
        // A step the bounds show nonnegative needs no evaluation: the scan stops at the same
        // step, so the bisection runs on the same interval.
        if !excess.surely_not_negative(r) && excess.at(r) < 0.0 {
            let (mut ok, mut bad) = (prev, r);
            // 24 halvings of a step of at most 0.5: far below the 1e-6 the move is rounded to.
            for _ in 0..24 {
                let mid = 0.5 * (ok + bad);
                if excess.at(mid) < 0.0 {
                    bad = mid
                } else {
                    ok = mid
                }
            }
            return crate::options::to_decimal_dp(bad, 6);
        }
        prev = r;
    }
    None
}

/// A market's margin excess and requirement now, exactly, at 1e-8 (options at their current
/// value): the same on every axis, so computed once per market.
fn excess_now(book: &Book, market: &MarketBook) -> (i128, i128) {
    let mut e: i128 = market.constant_now_fixed;
    let mut requirement: i128 = 0;
    for b in &market.fixed {
        e += b.a_net - b.q_now;
        requirement += b.q_now;
    }
    for &i in &market.options {
        let leg = &book.options[i];
        let weighted = |w: i128| (leg.value_fixed * w).div_euclid(crate::fixed::ONE);
        match (leg.side, leg.weight_fixed) {
            (Side::Long, Some(w)) => e += weighted(w),
            (Side::Short, Some(w)) => {
                e -= weighted(w);
                requirement += weighted(w);
            }
            _ => {}
        }
    }
    (e, requirement)
}

/// The best move found so far in one direction: the move, the same at 1e-6 as an integer, and
/// the market.
type Best = Option<(Decimal, i128, usize)>;

/// A move found on one market: the move and the same at 1e-6 as an integer (every move has at
/// most six places, so the integers compare as the moves do).
type Move = Option<(Decimal, i128)>;

/// `(fall, rise)` at which `market` liquidates on the axis; `now` is [`excess_now`], `slope` the
/// sum of `a_net − q_now` over the market's buckets on the axis, `has_options` whether the market
/// holds options on it.
fn market_moves(
    book: &Book,
    market: &MarketBook,
    now: (i128, i128),
    axis: Axis,
    (slope, has_options): (i128, bool),
    best: (&Best, &Best),
) -> (Move, Move) {
    if has_options {
        let excess = Excess::new(book, market, axis);
        let micro = |d: Decimal| (d, crate::fixed::to_fixed(d, 6, RoundingStrategy::ToZero));
        let (down, up) = numeric(&excess);
        return (down.map(micro), up.map(micro));
    }
    // The slope of the excess along the axis (the axis's assets less their requirements).
    let (e, requirement) = now;
    let s = slope;
    if requirement <= 0 {
        // Without liabilities there is nothing to liquidate, whatever prices do.
        return (None, None);
    }
    if e < 0 {
        return (Some((Decimal::ZERO, 0)), Some((Decimal::ZERO, 0)));
    }
    if s == 0 {
        return (None, None);
    }
    // The move is `round₆(−e ÷ s)`, monotone in `−e ÷ s`; when that exact ratio is already no
    // nearer than the best move found on another market, its rounding cannot be either, and the
    // division is skipped.
    let best = if s > 0 { best.0 } else { best.1 };
    if let Some((_, b, _)) = best
        && let (Some(lhs), Some(rhs)) = ((-e).checked_mul(1_000_000), b.checked_mul(s))
        && lhs <= rhs
    {
        return (None, None);
    }
    let r = linear_move(e, s);
    if s > 0 {
        // A fall of more than 100 % is impossible.
        ((r.1 > -1_000_000).then_some(r), None)
    } else {
        (None, Some(r))
    }
}

/// `round₆(−e ÷ s)` for `e ≥ 0` and `s ≠ 0` (money at 1e-8), as the `Decimal` division and
/// `round_dp(6)` give it (value and representation), with the same at 1e-6 as an integer.
///
/// In integers where they show the same result: for `e ÷ s` below 1e8, `Decimal` keeps the
/// quotient to at least 20 places, within 1e-20 (1e-14 at 1e-6) of the exact ratio. When the exact
/// ratio at 1e-6, `k + r ÷ |s|`, has a fraction more than 1e-13 away from 0, ½ and 1, the
/// `Decimal` quotient lies strictly between the same neighbours: it has more than six places (so
/// `round_dp(6)` gives scale 6) and rounds to the same nearest integer, with no tie. Other
/// ratios (exact at six places, near a tie, rounding to zero, huge) take the `Decimal` path.
fn linear_move(e: i128, s: i128) -> (Decimal, i128) {
    if e == 0 {
        // `0 ÷ s` is `Decimal::ZERO` whatever the sign.
        return (Decimal::ZERO, 0);
    }
    if let Some(micro) = linear_move_fixed(e, s) {
        return (Decimal::from_i128_with_scale(micro, 6), micro);
    }
    let r = (-crate::fixed::money_to_decimal(e) / crate::fixed::money_to_decimal(s)).round_dp(6);
    (r, crate::fixed::to_fixed(r, 6, RoundingStrategy::ToZero))
}

/// [`linear_move`] at 1e-6 in integers, `None` where they cannot show the `Decimal` result.
fn linear_move_fixed(e: i128, s: i128) -> Option<i128> {
    const MARGIN: i128 = 10_000_000_000_000;
    if e <= 0 || e >= 1 << 96 || s.unsigned_abs() >= 1 << 96 {
        return None;
    }
    let d = s.abs();
    let n = e.checked_mul(1_000_000)?;
    let (k, r) = (n / d, n % d);
    let near = |x: i128| x.checked_mul(MARGIN).is_none_or(|x| x <= d);
    if k >= 100_000_000_000_000 || near(r) || near(d - r) || near((2 * r - d).abs()) {
        return None;
    }
    let k = if 2 * r > d { k + 1 } else { k };
    if k == 0 {
        return None;
    }
    Some(if s > 0 { -k } else { k })
}

/// The surface for every volatile group held and every peg held.
pub(crate) fn surface(book: &Book, labels: &[String]) -> Vec<LiquidationSurface> {
    let mut axes: Vec<(String, SurfaceAxis, Axis, Option<Decimal>)> = Vec::new();
    for (g, group) in book.groups.iter().enumerate() {
        if group.present && !group.numeraire {
            let price = group
                .reference_key
                .map(|k| book.keys[k].price.reference)
                .filter(|p| *p > Decimal::ZERO);
            axes.push((
                group.name.clone(),
                SurfaceAxis::Group,
                Axis::Group(g),
                price,
            ));
        }
    }
    for (p, peg) in book.pegs.iter().enumerate() {
        if peg.present {
            axes.push((peg.name.clone(), SurfaceAxis::Depeg, Axis::Peg(p), None));
        }
    }
    axes.sort_by(|a, b| (a.1 as u8, &a.0).cmp(&(b.1 as u8, &b.0)));
    // The axis of each group and each peg, so that a market's slopes on every axis are summed
    // in one pass over its buckets.
    let mut group_axis = vec![None; book.groups.len()];
    let mut peg_axis = vec![None; book.pegs.len()];
    for (a, (_, _, axis, _)) in axes.iter().enumerate() {
        match *axis {
            Axis::Group(g) => group_axis[g] = Some(a),
            Axis::Peg(p) => peg_axis[p] = Some(a),
        }
    }
    let key_axes = |key: usize| {
        let k = &book.keys[key];
        (group_axis[k.group], k.peg.and_then(|p| peg_axis[p]))
    };
    // Markets in order on every axis, as each axis keeps the first of equal moves.
    let mut best: Vec<(Best, Best)> = vec![(None, None); axes.len()];
    let mut slopes: Vec<(i128, bool)> = vec![(0, false); axes.len()];
    for (m, market) in book.markets.iter().enumerate() {
        let now = excess_now(book, market);
        slopes.fill((0, false));
        for b in &market.fixed {
            let (group, peg) = key_axes(b.key);
            if let Some(a) = group {
                slopes[a].0 += b.a_net - b.q_now;
            }
            if let Some(a) = peg {
                slopes[a].0 += b.a_net - b.q_now;
            }
        }
        for &i in &market.options {
            let (group, peg) = key_axes(book.options[i].key);
            if let Some(a) = group {
                slopes[a].1 = true;
            }
            if let Some(a) = peg {
                slopes[a].1 = true;
            }
        }
        for (((_, _, axis, _), (down, up)), slope) in axes.iter().zip(&mut best).zip(&slopes) {
            let (d, u) = market_moves(book, market, now, *axis, *slope, (down, up));
            if let Some((d, micro)) = d
                && down.is_none_or(|(_, best, _)| micro > best)
            {
                *down = Some((d, micro, m));
            }
            if let Some((u, micro)) = u
                && up.is_none_or(|(_, best, _)| micro < best)
            {
                *up = Some((u, micro, m));
            }
        }
    }
    axes.into_iter()
        .zip(best)
        .map(|((underlying, kind, _, price), (down, up))| {
            let point = |(change, _, m): (Decimal, i128, usize)| LiquidationPoint {
                change,
                price_usd: price.map(|p| (p * (Decimal::ONE + change)).round_dp(8)),
                market: labels[m].clone(),
            };
            LiquidationSurface {
                underlying,
                axis: kind,
                price_usd: price,
                down: down.map(point),
                up: up.map(point),
            }
        })
        .collect()
}

/// The smallest absolute move on the surface (∞ → `None`).
pub(crate) fn nearest(surface: &[LiquidationSurface]) -> Option<Decimal> {
    surface
        .iter()
        .flat_map(|s| [s.down.as_ref(), s.up.as_ref()])
        .flatten()
        .map(|p| p.change.abs())
        .min()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test reports failure by panicking")]

    use rust_decimal::{Decimal, RoundingStrategy};

    use unimargin_schema::Side;

    use super::{Excess, LegTerm, linear_move, linear_move_fixed, numeric_from, value_bounds};
    use crate::{
        book::OptionLeg,
        pricing::{ModelInput, Right, black76},
    };

    /// The scan that skips the steps its bounds show nonnegative finds the same moves as the
    /// scan that evaluates every step, on markets that liquidate at various moves (short calls
    /// and puts against a linear part of either sign) and markets that do not.
    #[test]
    fn numeric_search_skips_nothing_that_matters() {
        // The search as it was, evaluating every step.
        let reference = |excess: &Excess<'_>, direction: f64| -> Option<Decimal> {
            let limit = if direction < 0.0 { 0.99 } else { 10.0 };
            let mut prev = 0.0;
            for i in 1..=16 {
                let x = f64::from(i) / 16.0;
                let r = direction * limit * x * x;
                if excess.at(r) < 0.0 {
                    let (mut ok, mut bad) = (prev, r);
                    for _ in 0..24 {
                        let mid = 0.5 * (ok + bad);
                        if excess.at(mid) < 0.0 {
                            bad = mid
                        } else {
                            ok = mid
                        }
                    }
                    return crate::options::to_decimal_dp(bad, 6);
                }
                prev = r;
            }
            None
        };
        let legs: Vec<OptionLeg> = [
            (Right::Call, 2200.0),
            (Right::Put, 1800.0),
            (Right::Call, 1500.0),
        ]
        .into_iter()
        .map(|(right, strike)| test_leg(right, strike, 2.0))
        .collect();
        let mut found = 0;
        for fixed_part in [-50_000.0, -3_000.0, 0.0, 1_000.0, 20_000.0] {
            for moving_part in [-30_000.0, -4_000.0, 0.0, 2_500.0, 40_000.0] {
                for counted in [0.05, 0.5, 1.0] {
                    let excess = Excess {
                        options: &legs,
                        fixed_part,
                        moving_part,
                        requirement: 1_000.0,
                        legs: (0..legs.len())
                            .map(|index| LegTerm {
                                index,
                                moves: index != 2,
                                counted: Some((Side::Short, counted)),
                            })
                            .collect(),
                    };
                    if excess.at(0.0) < 0.0 {
                        continue;
                    }
                    for direction in [-1.0, 1.0] {
                        let want = reference(&excess, direction);
                        found += usize::from(want.is_some_and(|d| !d.is_zero()));
                        assert_eq!(
                            numeric_from(&excess, direction),
                            want,
                            "{fixed_part} {moving_part} {counted} {direction}"
                        );
                    }
                }
            }
        }
        assert!(found > 10, "{found}");
    }

    /// A short leg of `amount` options on an underlying at 2000, with 30 days left.
    fn test_leg(right: Right, strike: f64, amount_f64: f64) -> OptionLeg {
        let input = ModelInput {
            right,
            underlying: 2000.0,
            strike,
            years: 30.0 / 365.0,
            vol: 0.7,
            rate: 0.0,
            carry_yield: 0.0,
        };
        let base = black76(input);
        OptionLeg {
            market: 0,
            key: 0,
            group: 0,
            instrument: String::new(),
            kind: unimargin_schema::OptionKind::Call,
            side: Side::Short,
            amount: Decimal::ZERO,
            value: Decimal::ZERO,
            weight: None,
            weight_fixed: None,
            value_fixed: (base.price * amount_f64 * 1e8).round() as i128,
            amount_f64,
            input,
            base,
            underlying_usd: Decimal::ZERO,
            delta_usd: Decimal::ZERO,
        }
    }

    /// `value_bounds` holds the value `value_fixed_at` computes, for calls and puts, in and out
    /// of the money, near and at expiry, with and without volatility, marks off the model's
    /// price, and moves from −99.9 % to +1000 %.
    #[test]
    fn value_bounds_hold() {
        let mut x: u64 = 5;
        let mut next = |n: u64| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 16) % n
        };
        for i in 0..4_000 {
            let underlying = 1.0 + next(100_000) as f64 * 0.37;
            let input = ModelInput {
                right: if i % 2 == 0 { Right::Call } else { Right::Put },
                underlying,
                strike: underlying * (0.2 + next(1_000) as f64 / 400.0),
                years: [0.0, 1e-6, next(1_000) as f64 / 500.0][i % 3],
                vol: [0.0, 0.05, next(300) as f64 / 100.0][(i / 3) % 3],
                rate: [0.0, 0.05][(i / 9) % 2],
                carry_yield: 0.0,
            };
            let base = black76(input);
            let amount_f64 = next(10_000) as f64 / 100.0;
            let mark = (base.price * amount_f64 * 1e8).round() as i128;
            let leg = OptionLeg {
                market: 0,
                key: 0,
                group: 0,
                instrument: String::new(),
                kind: unimargin_schema::OptionKind::Call,
                side: Side::Short,
                amount: Decimal::ZERO,
                value: Decimal::ZERO,
                weight: None,
                weight_fixed: None,
                // Venue marks off the model's price too.
                value_fixed: (mark + next(3) as i128 * mark / 10 - mark / 10).max(0),
                amount_f64,
                input,
                base,
                underlying_usd: Decimal::ZERO,
                delta_usd: Decimal::ZERO,
            };
            for factor in [0.001, 0.5, 0.99, 1.0, 1.0 + 1e-9, 1.01, 1.7, 4.0, 11.0] {
                let v = leg.value_fixed_at(factor, 1.0, 0.0) as f64;
                let (lower, upper) = value_bounds(&leg, factor).unwrap();
                assert!(
                    lower <= v && v <= upper,
                    "{input:?} × {factor}: {lower} ≤ {v} ≤ {upper}"
                );
            }
        }
    }

    /// `linear_move` is the `Decimal` division rounded to six places, value and representation,
    /// with the same at 1e-6: on ratios exact at six places, on ties, near ties, rounding to
    /// zero, and on ordinary ratios.
    #[test]
    fn linear_move_is_the_decimal_division() {
        let reference = |e: i128, s: i128| {
            (-crate::fixed::money_to_decimal(e) / crate::fixed::money_to_decimal(s)).round_dp(6)
        };
        let mut cases: Vec<(i128, i128)> = vec![
            (0, 5),
            (0, -5),
            (100_000_000, 200_000_000),
            (300_000_000, 100_000_000),
            (100_000_000, -300_000_000),
            (5, 10_000_000),
            (1, 3),
            (1, -3_000_000),
            (15, 10_000_000),
            (25, 10_000_000),
            (2_500_001, 1_000_000_000_000),
            (123_456_789_012, 98_765_432_109),
            (1 << 90, 7),
            (7, 1 << 95),
        ];
        let mut x: u64 = 3;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let e = i128::from(x >> 20) % 10i128.pow(1 + (x % 14) as u32);
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let s = i128::from(x >> 20) % 10i128.pow(1 + (x % 14) as u32) + 1;
            cases.push((e, if x.is_multiple_of(2) { s } else { -s }));
            // A tie at 1e-6 and its neighbours.
            cases.push((2 * e + 1, 2_000_000));
            cases.push((2 * e + 1, -2_000_001));
        }
        // Most ordinary ratios are answered in integers.
        let fast = cases
            .iter()
            .filter(|(e, s)| linear_move_fixed(*e, *s).is_some())
            .count();
        assert!(fast > cases.len() / 2, "{fast} of {}", cases.len());
        for (e, s) in cases {
            let want = reference(e, s);
            let (got, micro) = linear_move(e, s);
            assert_eq!(got.to_string(), want.to_string(), "{e} ÷ {s}");
            assert_eq!(got.scale(), want.scale(), "{e} ÷ {s}");
            assert_eq!(got.is_sign_negative(), want.is_sign_negative(), "{e} ÷ {s}");
            assert_eq!(
                micro,
                crate::fixed::to_fixed(want, 6, RoundingStrategy::ToZero),
                "{e} ÷ {s}"
            );
        }
        assert_eq!(linear_move(0, 1).0, Decimal::ZERO);
    }
}

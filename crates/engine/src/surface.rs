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
//! result is a move, rounded to 1e-6).

use rust_decimal::{Decimal, prelude::ToPrimitive};
use unimargin_schema::{LiquidationPoint, LiquidationSurface, Side, SurfaceAxis};

use crate::book::{Book, MarketBook};

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
    book: &'a Book,
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
            book,
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
            let leg = &self.book.options[term.index];
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
}

/// First move in `direction` (−1 fall, +1 rise) at which `market` liquidates, for a market with
/// options on the axis. Scans up to −99 % / +1000 % in 16 steps (finer near zero), then bisects.
fn numeric(excess: &Excess<'_>, direction: f64) -> Option<Decimal> {
    if excess.at(0.0) < 0.0 {
        return Some(Decimal::ZERO);
    }
    let limit = if direction < 0.0 { 0.99 } else { 10.0 };
    let steps = 16;
    let mut prev = 0.0;
    for i in 1..=steps {
        // Quadratic spacing: small steps near zero, wider far out.
        let x = f64::from(i) / f64::from(steps);
        let r = direction * limit * x * x;
        if excess.at(r) < 0.0 {
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

/// `(fall, rise)` at which `market` liquidates on the axis; `now` is [`excess_now`].
fn market_moves(
    book: &Book,
    market: &MarketBook,
    now: (i128, i128),
    axis: Axis,
    best: (&Best, &Best),
) -> (Option<Decimal>, Option<Decimal>) {
    let has_options = market
        .options
        .iter()
        .any(|i| in_axis(book, book.options[*i].key, axis));
    if has_options {
        let excess = Excess::new(book, market, axis);
        return (numeric(&excess, -1.0), numeric(&excess, 1.0));
    }
    // The slope of the excess along the axis (the axis's assets less their requirements).
    let (e, requirement) = now;
    let mut s: i128 = 0;
    for b in &market.fixed {
        if in_axis(book, b.key, axis) {
            s += b.a_net - b.q_now;
        }
    }
    if requirement <= 0 {
        // Without liabilities there is nothing to liquidate, whatever prices do.
        return (None, None);
    }
    if e < 0 {
        return (Some(Decimal::ZERO), Some(Decimal::ZERO));
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
    let r = (-crate::fixed::money_to_decimal(e) / crate::fixed::money_to_decimal(s)).round_dp(6);
    if s > 0 {
        // A fall of more than 100 % is impossible.
        ((r > Decimal::NEGATIVE_ONE).then_some(r), None)
    } else {
        (None, Some(r))
    }
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
    let now: Vec<(i128, i128)> = book.markets.iter().map(|m| excess_now(book, m)).collect();
    // A move (rounded to 6 places) at 1e-6, exactly.
    let micro = |d: Decimal| crate::fixed::to_fixed(d, 6, rust_decimal::RoundingStrategy::ToZero);
    axes.into_iter()
        .map(|(underlying, kind, axis, price)| {
            let mut down: Best = None;
            let mut up: Best = None;
            for (m, market) in book.markets.iter().enumerate() {
                let (d, u) = market_moves(book, market, now[m], axis, (&down, &up));
                if let Some(d) = d
                    && down.is_none_or(|(best, _, _)| d > best)
                {
                    down = Some((d, micro(d), m));
                }
                if let Some(u) = u
                    && up.is_none_or(|(best, _, _)| u < best)
                {
                    up = Some((u, micro(u), m));
                }
            }
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

//! Aggregates of positions, in one traversal.
//!
//! The sums are `Decimal` sums, but a profile of many positions adds up thousands of them, so they
//! run on machine integers ([`Sum`]) wherever that gives the very same `Decimal` (value, scale and
//! sign of zero, all of which show in the JSON: `"1.50"` is not `"1.5"`).

use rust_decimal::Decimal;
use unimargin_schema::{Position, PositionKind, Side, Totals};

/// `10^k` for the rescaling of [`Sum`] (up to the 19 places `Decimal`'s integer paths rescale by).
const POW10: [i128; 20] = {
    let mut p = [1i128; 20];
    let mut k = 1;
    while k < 20 {
        p[k] = p[k - 1] * 10;
        k += 1;
    }
    p
};
/// Operands of `Decimal`'s 64-bit addition and multiplication paths are below 2^64.
const OPERAND: u128 = 1 << 64;
/// A `Decimal` mantissa is below 2^96.
const MANTISSA: u128 = 1 << 96;

/// A running `Decimal` sum that reproduces `Decimal`'s `+`, `-` and `*` exactly, representation
/// included, on an `i128` mantissa and a scale.
///
/// `Decimal` is exact when a result fits (below 2^96) on these paths: non-zero terms at one scale;
/// non-zero terms below 2^64 at scales at most 19 apart (the sum takes the larger scale); products
/// of factors below 2^64 with at most 28 places in all (the product takes the sum of the scales).
/// A zero result is positive. A zero operand
/// follows `Decimal`'s rules: added to a sum, it leaves it as is; a zero sum becomes the operand
/// (negated when subtracted). Anything else (rounding, a negative zero) switches the sum to plain
/// `Decimal` arithmetic for good, so the result is always the one `Decimal` gives.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sum {
    /// `m × 10^−scale`, `|m| < 2^96`, `scale ≤ 28`; a zero is positive.
    Exact { m: i128, scale: u32 },
    /// Past the exact paths: the `Decimal` itself.
    Decimal(Decimal),
}

impl Default for Sum {
    fn default() -> Self {
        Sum::Exact { m: 0, scale: 0 }
    }
}

impl Sum {
    /// The sum as a `Decimal`.
    pub(crate) fn value(self) -> Decimal {
        match self {
            Sum::Exact { m, scale } => exact_decimal(m, scale),
            Sum::Decimal(d) => d,
        }
    }

    /// `self += other`.
    #[inline]
    pub(crate) fn add_sum(&mut self, other: Sum) {
        match other {
            Sum::Exact { m, scale } => self.add_term(m, scale, || exact_decimal(m, scale), false),
            Sum::Decimal(d) => self.add(d),
        }
    }

    /// `Decimal::min`: `other` if smaller, else `self` (equal values may differ in scale).
    #[inline]
    pub(crate) fn min(self, other: Sum) -> Sum {
        if let (Sum::Exact { m: a, scale: s }, Sum::Exact { m: b, scale: t }) = (self, other) {
            // Compared at the larger scale (exactly, when that fits an `i128`).
            let up = |m: i128, by: u32| POW10.get(by as usize).and_then(|p| m.checked_mul(*p));
            let aligned = if s >= t {
                up(b, s - t).map(|b| (a, b))
            } else {
                up(a, t - s).map(|a| (a, b))
            };
            if let Some((a, b)) = aligned {
                return if a > b { other } else { self };
            }
        }
        let (a, b) = (self.value(), other.value());
        Sum::Decimal(if a > b { b } else { a })
    }

    /// `self += d`.
    #[inline(always)]
    pub(crate) fn add(&mut self, d: Decimal) {
        self.add_term(d.mantissa(), d.scale(), || d, false);
    }

    /// `self -= d`.
    #[inline(always)]
    pub(crate) fn sub(&mut self, d: Decimal) {
        self.add_term(-d.mantissa(), d.scale(), || d, true);
    }

    /// `self += a × b`.
    #[inline(always)]
    pub(crate) fn add_product(&mut self, a: Decimal, b: Decimal) {
        let (am, bm) = (a.mantissa().unsigned_abs(), b.mantissa().unsigned_abs());
        let scale = a.scale() + b.scale();
        // Non-zero factors below 2^64 and at most 28 places: `Decimal`'s exact product when it
        // is below 2^96 (zero factors give a plain zero, which the general path handles).
        if am != 0 && bm != 0 && (am | bm) < OPERAND && scale <= Decimal::MAX_SCALE {
            let product = (am as u64 as u128) * (bm as u64 as u128);
            if product < MANTISSA {
                let m = if a.is_sign_negative() != b.is_sign_negative() {
                    -(product as i128)
                } else {
                    product as i128
                };
                self.add_term(m, scale, || exact_decimal(m, scale), false);
                return;
            }
        }
        self.add_general(a * b, false);
    }

    /// Adds the term `dm × 10^−ds` (`|dm| < 2^96`), which is `term()` (or `−term()` when
    /// `negate`): `Decimal`'s exact cases inline, the rest in [`Sum::add_general`].
    #[inline(always)]
    fn add_term(&mut self, dm: i128, ds: u32, term: impl FnOnce() -> Decimal, negate: bool) {
        if let Sum::Exact { m, scale } = self {
            if *scale == ds {
                // The same scale: `Decimal` adds the 96-bit mantissas (a zero term leaves the
                // sum, a zero sum becomes the term), exact unless the sum carries past 96 bits
                // (an `i128` holds it either way). A zero result is left to the general path:
                // it may be a negative zero term, which `Decimal` keeps.
                let r = *m + dm;
                if r != 0 && r.unsigned_abs() < MANTISSA {
                    *m = r;
                    return;
                }
            }
            if dm == 0 {
                // A zero term leaves a non-zero sum as it is.
                if *m != 0 {
                    return;
                }
            } else if *m == 0 {
                // A zero sum becomes the (non-zero) term, representation included.
                (*m, *scale) = (dm, ds);
                return;
            } else if *scale == ds {
                // Non-zero terms cancelling (a positive zero), unless the sum overflowed.
                if *m + dm == 0 {
                    *m = 0;
                    return;
                }
            } else if (m.unsigned_abs() | dm.unsigned_abs()) < OPERAND
                && let Some((r, s)) = aligned_sum(*m, *scale, dm, ds)
            {
                (*m, *scale) = (r, s);
                return;
            }
        }
        self.add_general(term(), negate);
    }

    /// `self += d` (or `self -= d`) in the cases [`Sum::add_term`] leaves: a zero plus a zero,
    /// and `Decimal` arithmetic past the exact paths (from then on).
    #[cold]
    #[inline(never)]
    fn add_general(&mut self, d: Decimal, negate: bool) {
        match self {
            Sum::Exact { m: 0, scale } if d.is_zero() && !d.is_sign_negative() => {
                *scale = d.scale();
            }
            _ => {
                // (A negative zero is kept by `Decimal` when the sum is zero.)
                let sum = self.value();
                *self = Sum::Decimal(if negate { sum - d } else { sum + d });
            }
        }
    }
}

/// `m × 10^−s + dm × 10^−ds` for non-zero mantissas below 2^64 at scales at most 19 apart, as
/// `Decimal`'s 64-bit path computes it (at the larger scale, in 128 bits), if below 2^96.
#[inline(always)]
fn aligned_sum(m: i128, s: u32, dm: i128, ds: u32) -> Option<(i128, u32)> {
    let (a, b) = (m.unsigned_abs(), dm.unsigned_abs());
    let (a, b, scale) = if s > ds {
        (a, b * POW10.get((s - ds) as usize)?.unsigned_abs(), s)
    } else {
        (a * POW10.get((ds - s) as usize)?.unsigned_abs(), b, ds)
    };
    // One of the two is below 2^64 and the other below 2^64 × 10^19 < 2^127.1: no overflow.
    let (magnitude, negative) = if (m < 0) == (dm < 0) {
        (a + b, m < 0)
    } else if a >= b {
        (a - b, m < 0)
    } else {
        (b - a, dm < 0)
    };
    if magnitude >= MANTISSA {
        return None;
    }
    let magnitude = magnitude as i128;
    Some((if negative { -magnitude } else { magnitude }, scale))
}

/// `m × 10^−scale` for `|m| < 2^96`, `scale ≤ 28` (a zero is positive).
fn exact_decimal(m: i128, scale: u32) -> Decimal {
    let a = m.unsigned_abs();
    Decimal::from_parts(a as u32, (a >> 32) as u32, (a >> 64) as u32, m < 0, scale)
}

/// The aggregates of [`Totals`] as [`Sum`]s.
#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    net_value: Sum,
    collateral: Sum,
    adjusted_collateral: Sum,
    initial_collateral: Sum,
    debt: Sum,
    maintenance_margin: Sum,
    initial_margin: Sum,
}

impl Sums {
    /// [`accumulate`] on [`Sum`]s: the same operations in the same order.
    #[inline]
    fn accumulate(&mut self, p: &Position) {
        let v = p.value_usd;
        match (p.kind, p.side) {
            (PositionKind::Supply, _) | (PositionKind::Option, Side::Long) => {
                self.net_value.add(v);
                if p.counts_as_collateral {
                    self.collateral.add(v);
                    self.adjusted_collateral
                        .add_product(v, p.weights.maintenance);
                    self.initial_collateral.add_product(v, p.weights.initial);
                }
            }
            (PositionKind::Debt, _) | (PositionKind::Option, Side::Short) => {
                self.net_value.sub(v);
                self.debt.add(v);
                self.maintenance_margin
                    .add_product(v, p.weights.maintenance);
                self.initial_margin.add_product(v, p.weights.initial);
            }
            (PositionKind::Perp, _) => {
                let pnl = p
                    .perp
                    .as_ref()
                    .map_or(Decimal::ZERO, |d| d.unrealized_pnl_usd);
                self.net_value.add(pnl);
                self.adjusted_collateral.add(pnl);
                self.initial_collateral.add(pnl.min(Decimal::ZERO));
                self.maintenance_margin
                    .add_product(v, p.weights.maintenance);
                self.initial_margin.add_product(v, p.weights.initial);
            }
        }
    }

    /// `self += t` for finished totals (their derived fields are recomputed by [`finish`]).
    fn add_totals(&mut self, t: &Totals) {
        self.net_value.add(t.net_value_usd);
        self.collateral.add(t.collateral_usd);
        self.adjusted_collateral.add(t.adjusted_collateral_usd);
        self.initial_collateral.add(t.initial_collateral_usd);
        self.debt.add(t.debt_usd);
        self.maintenance_margin.add(t.maintenance_margin_usd);
        self.initial_margin.add(t.initial_margin_usd);
    }

    /// The finished totals.
    fn totals(&self) -> Totals {
        let mut t = Totals {
            net_value_usd: self.net_value.value(),
            collateral_usd: self.collateral.value(),
            adjusted_collateral_usd: self.adjusted_collateral.value(),
            initial_collateral_usd: self.initial_collateral.value(),
            debt_usd: self.debt.value(),
            maintenance_margin_usd: self.maintenance_margin.value(),
            initial_margin_usd: self.initial_margin.value(),
            ..Totals::default()
        };
        finish(&mut t);
        t
    }
}

/// Adds one position's contribution to `t` (see [`RiskWeights`](unimargin_schema::RiskWeights)
/// for how each kind reads its weights).
pub fn accumulate(t: &mut Totals, p: &Position) {
    let v = p.value_usd;
    match (p.kind, p.side) {
        (PositionKind::Supply, _) => {
            t.net_value_usd += v;
            if p.counts_as_collateral {
                t.collateral_usd += v;
                t.adjusted_collateral_usd += v * p.weights.maintenance;
                t.initial_collateral_usd += v * p.weights.initial;
            }
        }
        (PositionKind::Debt, _) => {
            t.net_value_usd -= v;
            t.debt_usd += v;
            t.maintenance_margin_usd += v * p.weights.maintenance;
            t.initial_margin_usd += v * p.weights.initial;
        }
        (PositionKind::Perp, _) => {
            // The perp's collateral is its own supply position; the perp adds its PnL to equity and
            // its notional × margin ratio to the requirement. Positive PnL is not spendable for
            // initial margin until settled, so it only counts at maintenance.
            let pnl = p
                .perp
                .as_ref()
                .map_or(Decimal::ZERO, |d| d.unrealized_pnl_usd);
            t.net_value_usd += pnl;
            t.adjusted_collateral_usd += pnl;
            t.initial_collateral_usd += pnl.min(Decimal::ZERO);
            t.maintenance_margin_usd += v * p.weights.maintenance;
            t.initial_margin_usd += v * p.weights.initial;
        }
        (PositionKind::Option, Side::Long) => {
            // A bought option is worth its mark but is not collateral unless the venue says so.
            t.net_value_usd += v;
            if p.counts_as_collateral {
                t.collateral_usd += v;
                t.adjusted_collateral_usd += v * p.weights.maintenance;
                t.initial_collateral_usd += v * p.weights.initial;
            }
        }
        (PositionKind::Option, Side::Short) => {
            // A written option is a liability worth its mark, margined at a ratio of that mark.
            t.net_value_usd -= v;
            t.debt_usd += v;
            t.maintenance_margin_usd += v * p.weights.maintenance;
            t.initial_margin_usd += v * p.weights.initial;
        }
    }
}

/// Fills the derived fields (`margin_excess_usd`, `free_collateral_usd`).
pub fn finish(t: &mut Totals) {
    t.margin_excess_usd = t.adjusted_collateral_usd - t.maintenance_margin_usd;
    t.free_collateral_usd = t.initial_collateral_usd - t.initial_margin_usd;
}

/// Totals of a list of positions: [`accumulate`] over them, then [`finish`] (computed on
/// [`Sum`]s, with the same result).
pub fn of_positions<'a>(positions: impl IntoIterator<Item = &'a Position>) -> Totals {
    let mut sums = Sums::default();
    for p in positions {
        sums.accumulate(p);
    }
    sums.totals()
}

/// Sums already finished totals.
pub fn sum<'a>(parts: impl IntoIterator<Item = &'a Totals>) -> Totals {
    let mut sums = Sums::default();
    for p in parts {
        sums.add_totals(p);
    }
    sums.totals()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test reports failure by panicking")]

    use rust_decimal::Decimal;

    use super::Sum;

    /// A deterministic generator of awkward `Decimal`s: zeros of every scale and sign, small and
    /// 64-bit mantissas at any scale, and mantissas up to 2^96.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            // xorshift64*
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn decimal(&mut self) -> Decimal {
            let class = self.next() % 8;
            let scale = (self.next() % 29) as u32;
            let negative = self.next().is_multiple_of(2);
            let (lo, mid, hi) = match class {
                0 => (0, 0, 0),
                1 | 2 => ((self.next() % 100_000) as u32, 0, 0),
                3 => (self.next() as u32, 0, 0),
                4 | 5 => (self.next() as u32, (self.next() % 4) as u32, 0),
                6 => (self.next() as u32, self.next() as u32, 0),
                _ => (self.next() as u32, self.next() as u32, self.next() as u32),
            };
            let scale = if class <= 2 { scale % 5 } else { scale };
            let mut d = Decimal::from_parts(lo, mid, hi, negative, scale);
            if class == 0 && negative {
                d.set_sign_negative(true);
            }
            d
        }
    }

    /// Every operation of [`Sum`] gives `Decimal`'s result bit for bit (value, scale, sign of
    /// zero), whichever path it takes.
    #[test]
    fn sum_is_decimal_arithmetic() {
        let mut g = Gen(0x9E37_79B9_7F4A_7C15);
        for _ in 0..3_000 {
            let mut sum = Sum::default();
            let mut want = Decimal::ZERO;
            for _ in 0..(g.next() % 24) {
                let (a, b) = (g.decimal(), g.decimal());
                let op = g.next() % 3;
                let next = match op {
                    0 => want.checked_add(a),
                    1 => want.checked_sub(a),
                    _ => a.checked_mul(b).and_then(|p| want.checked_add(p)),
                };
                // Overflows panic alike in both; leave them out.
                let Some(next) = next else { continue };
                match op {
                    0 => sum.add(a),
                    1 => sum.sub(a),
                    _ => sum.add_product(a, b),
                }
                want = next;
                let got = sum.value();
                assert_eq!(got.serialize(), want.serialize(), "{got} ≠ {want}");
            }
        }
    }

    /// `min` and `add_sum` of sums are `Decimal`'s `min` and `+` of their values.
    #[test]
    fn sum_min_and_add_sum_are_decimal() {
        let mut g = Gen(0xD1B5_4A32_D192_ED03);
        let sum = |g: &mut Gen| {
            let mut s = Sum::default();
            let mut want = Decimal::ZERO;
            for _ in 0..(g.next() % 4) {
                let a = g.decimal();
                if let Some(next) = want.checked_add(a) {
                    s.add(a);
                    want = next;
                }
            }
            s
        };
        for _ in 0..5_000 {
            let (a, b) = (sum(&mut g), sum(&mut g));
            let min = a.value().min(b.value());
            assert_eq!(a.min(b).value().serialize(), min.serialize());
            if let Some(total) = a.value().checked_add(b.value()) {
                let mut c = a;
                c.add_sum(b);
                assert_eq!(c.value().serialize(), total.serialize());
            }
        }
    }

    /// The cases the integer path must get right by itself: zeros taking and keeping scales,
    /// cancellation, and scale changes.
    #[test]
    fn sum_keeps_representation() {
        let d = |s: &str| Decimal::from_str_exact(s).unwrap();
        let mut sum = Sum::default();
        sum.add(d("1.50"));
        sum.sub(d("1.50"));
        assert_eq!(sum.value().to_string(), "0.00");
        sum.add(d("3"));
        assert_eq!(sum.value().to_string(), "3");
        sum.add_product(d("2.5"), d("0.10"));
        assert_eq!(sum.value().to_string(), "3.250");
        sum.add(Decimal::ZERO);
        assert_eq!(sum.value().to_string(), "3.250");
        sum.sub(d("3.25"));
        sum.add_product(Decimal::ZERO, d("1.5"));
        assert_eq!(sum.value().to_string(), "0");
    }
}

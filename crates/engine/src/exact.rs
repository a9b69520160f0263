//! `Decimal` arithmetic on machine integers, giving exactly `Decimal`'s value and representation.
//!
//! A profile adds up thousands of `Decimal`s. Wherever `Decimal` itself is exact — the operands
//! and the result fit its 96-bit mantissa on its integer paths — the same numbers as an `i128`
//! mantissa and a scale give the same result, scale and sign of zero included (all of which show
//! in the JSON: `"1.50"` is not `"1.5"`), at a fraction of the cost. Two forms:
//!
//! * [`Sum`], a running sum (and sum of products) that falls back to `Decimal` for good once a
//!   step leaves the exact paths: the book's, the totals' and the netting's aggregates;
//! * [`Exact`], a value whose operations answer `None` where `Decimal` would round or decide a
//!   zero's sign, so that the caller computes that step in `Decimal`: the add-ons' haircuts.
//!
//! Both are tested against `Decimal` on awkward operands (zeros of every scale and sign, 64- and
//! 96-bit mantissas, cancellations).

use std::cmp::Ordering;

use rust_decimal::{Decimal, RoundingStrategy};

/// `10^e`, for `e ≤ 38` (a table: `checked_pow` on `i128` costs more than the rest of an
/// [`Exact`] operation).
pub(crate) fn pow10(e: u32) -> Option<i128> {
    const POW10: [i128; 39] = {
        let mut t = [1i128; 39];
        let mut i = 1;
        while i < 39 {
            t[i] = t[i - 1] * 10;
            i += 1;
        }
        t
    };
    POW10.get(e as usize).copied()
}

/// `a × b`, `None` on overflow; one machine multiplication when both fit in 64 bits.
#[inline]
pub(crate) fn mul_i128(a: i128, b: i128) -> Option<i128> {
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(a), Ok(b)) => Some(i128::from(a) * i128::from(b)),
        _ => a.checked_mul(b),
    }
}

/// The magnitude bound of a `Decimal` mantissa: 96 bits.
pub(crate) const MANTISSA_LIMIT: i128 = 1 << 96;

/// A `Decimal` as machine integers: its mantissa and scale (value `m × 10^−s`), with the few
/// operations the add-ons use, each giving exactly the value and representation (scale) that
/// `Decimal`'s operation gives — or `None` where `Decimal` would round, overflow or make a zero
/// whose sign or scale the integers do not follow; the caller then computes in `Decimal`. It
/// follows `Decimal`'s rules: a product with a zero factor is `0` at scale 0, a sum with a zero
/// term is the other term unchanged, a nonzero sum or product keeps the larger (summed) scale.
/// A negative zero is not represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exact {
    /// Mantissa (`|m| < 2⁹⁶`).
    pub(crate) m: i128,
    /// Scale (at most 28).
    pub(crate) s: u32,
}

impl Exact {
    /// `Decimal::ZERO`.
    pub(crate) const ZERO: Self = Self { m: 0, s: 0 };

    /// `d`, unless it is a negative zero.
    pub(crate) fn of(d: Decimal) -> Option<Self> {
        if d.is_zero() && d.is_sign_negative() {
            return None;
        }
        Some(Self {
            m: d.mantissa(),
            s: d.scale(),
        })
    }

    /// The `Decimal` (the mantissa is below 2⁹⁶ and the scale at most 28 by construction).
    pub(crate) fn to_decimal(self) -> Decimal {
        Decimal::try_from_i128_with_scale(self.m, self.s).unwrap_or(Decimal::ZERO)
    }

    pub(crate) fn is_zero(self) -> bool {
        self.m == 0
    }

    /// `Decimal::abs`.
    pub(crate) fn abs(self) -> Self {
        Self {
            m: self.m.abs(),
            s: self.s,
        }
    }

    /// A result, if `Decimal` holds it unrounded.
    fn checked(m: i128, s: u32) -> Option<Self> {
        (m.abs() < MANTISSA_LIMIT && s <= Decimal::MAX_SCALE).then_some(Self { m, s })
    }

    /// Both mantissas at the larger scale, with that scale.
    #[inline]
    fn aligned(self, other: Self) -> Option<(i128, i128, u32)> {
        match self.s.cmp(&other.s) {
            Ordering::Equal => Some((self.m, other.m, self.s)),
            Ordering::Less => Some((
                mul_i128(self.m, pow10(other.s - self.s)?)?,
                other.m,
                other.s,
            )),
            Ordering::Greater => {
                Some((self.m, mul_i128(other.m, pow10(self.s - other.s)?)?, self.s))
            }
        }
    }

    /// `self + other`.
    pub(crate) fn add(self, other: Self) -> Option<Self> {
        if self.m == 0 {
            return Some(other);
        }
        if other.m == 0 {
            return Some(self);
        }
        let (a, b, s) = self.aligned(other)?;
        if a.abs() >= MANTISSA_LIMIT || b.abs() >= MANTISSA_LIMIT {
            return None;
        }
        // A zero sum's sign is `Decimal`'s business.
        let sum = a + b;
        if sum == 0 {
            return None;
        }
        Self::checked(sum, s)
    }

    /// `self − other`.
    pub(crate) fn sub(self, other: Self) -> Option<Self> {
        self.add(Self {
            m: -other.m,
            s: other.s,
        })
    }

    /// `self × other`.
    pub(crate) fn mul(self, other: Self) -> Option<Self> {
        if self.m == 0 || other.m == 0 {
            return Some(Self::ZERO);
        }
        Self::checked(mul_i128(self.m, other.m)?, self.s + other.s)
    }

    /// `Decimal::round_dp_with_strategy`, for the strategies the engine uses (others: `None`).
    pub(crate) fn round_dp(self, dp: u32, strategy: RoundingStrategy) -> Option<Self> {
        if self.s <= dp {
            return Some(self);
        }
        let unit = pow10(self.s - dp)?.unsigned_abs();
        // The magnitude truncated, then one more where the strategy says so (in 64 bits when
        // the numbers fit: one machine division instead of a 128-bit routine).
        let magnitude = self.m.unsigned_abs();
        let (q, r) = match (u64::try_from(magnitude), u64::try_from(unit)) {
            (Ok(m), Ok(u)) => (u128::from(m / u), u128::from(m % u)),
            _ => (magnitude / unit, magnitude % unit),
        };
        let negative = self.m < 0;
        let up = match strategy {
            RoundingStrategy::MidpointNearestEven => 2 * r > unit || (2 * r == unit && q % 2 == 1),
            RoundingStrategy::ToPositiveInfinity => !negative && r != 0,
            RoundingStrategy::ToNegativeInfinity => negative && r != 0,
            RoundingStrategy::ToZero => false,
            _ => return None,
        };
        let q = i128::try_from(q + u128::from(up)).ok()?;
        // `Decimal` gives a zero the plus sign when it rounds.
        Some(Self {
            m: if negative { -q } else { q },
            s: dp,
        })
    }

    /// The value as an integer count of `10^−scale` (`None` if it has more places or does not
    /// fit), e.g. a rounded amount at 1e-8 for the grid.
    pub(crate) fn to_scaled(self, scale: u32) -> Option<i128> {
        self.m.checked_mul(pow10(scale.checked_sub(self.s)?)?)
    }

    /// `Decimal::cmp` (by value).
    pub(crate) fn cmp(self, other: Self) -> Option<Ordering> {
        let (a, b, _) = self.aligned(other)?;
        Some(a.cmp(&b))
    }
}

/// `10^k` for `k ≤ 19`, the most places `Decimal`'s integer paths rescale by (and what keeps
/// [`aligned_sum`]'s products within 128 bits).
fn pow10_19(k: u32) -> Option<i128> {
    if k <= 19 { pow10(k) } else { None }
}

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

    /// `self.value().round_dp_with_strategy(dp, strategy)`, value and representation, rounded
    /// in integers while the sum is exact (the book floors or ceils every bucket's sums).
    pub(crate) fn round_dp(self, dp: u32, strategy: RoundingStrategy) -> Decimal {
        if let Sum::Exact { m, scale } = self
            && let Some(rounded) = (Exact { m, s: scale }).round_dp(dp, strategy)
        {
            return rounded.to_decimal();
        }
        self.value().round_dp_with_strategy(dp, strategy)
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
            let up = |m: i128, by: u32| pow10_19(by).and_then(|p| m.checked_mul(p));
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
        (a, b * pow10_19(s - ds)?.unsigned_abs(), s)
    } else {
        (a * pow10_19(ds - s)?.unsigned_abs(), b, ds)
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

/// Test aids shared by the modules that test against `Decimal`.
#[cfg(test)]
pub(crate) mod testing {
    use rust_decimal::Decimal;

    use super::Exact;

    /// A small deterministic generator (the tests need variety, not quality).
    pub(crate) struct Lcg(pub(crate) u64);

    impl Lcg {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 11
        }

        pub(crate) fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        /// A decimal of up to `digits` digits at a scale up to `max_scale`, of either sign.
        pub(crate) fn decimal(&mut self, digits: u32, max_scale: u32) -> Decimal {
            let magnitude = 10i128.pow(1 + self.below(u64::from(digits)) as u32);
            let m = i128::from(self.next()) * i128::from(self.next()) % magnitude;
            let m = if self.below(2) == 0 { m } else { -m };
            Decimal::from_i128_with_scale(m, self.below(u64::from(max_scale) + 1) as u32)
        }
    }

    /// The same value and representation.
    pub(crate) fn same(exact: Exact, d: Decimal, what: &str) {
        let got = exact.to_decimal();
        assert_eq!(got.to_string(), d.to_string(), "{what}");
        assert_eq!(got.scale(), d.scale(), "{what}");
        assert_eq!(got.is_sign_negative(), d.is_sign_negative(), "{what}");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test reports failure by panicking")]

    use std::cmp::Ordering;

    use proptest::prelude::*;
    use rust_decimal::{Decimal, RoundingStrategy};

    use super::{
        Exact, Sum,
        testing::{Lcg, same},
    };

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

    /// Each `Exact` operation gives `Decimal`'s result, value and representation, whenever it
    /// gives one; and it gives one for ordinary amounts.
    #[test]
    fn exact_is_decimal() {
        let mut g = Lcg(7);
        let mut answered = 0;
        let cases = 20_000;
        for i in 0..cases {
            let (digits, scale) = if i % 10 == 0 { (28, 28) } else { (12, 12) };
            let mut a = g.decimal(digits, scale);
            let mut b = g.decimal(digits, scale);
            match i % 7 {
                0 => b = Decimal::ZERO,
                1 => a = Decimal::new(0, 4),
                2 => b = -a,
                _ => {}
            }
            // `-0` (from `b = -a`) is not represented.
            let (Some(ea), Some(eb)) = (Exact::of(a), Exact::of(b)) else {
                assert!(b.is_zero() && b.is_sign_negative());
                continue;
            };
            let what = format!("{a} {b}");
            if let (Some(e), Some(d)) = (ea.add(eb), a.checked_add(b)) {
                same(e, d, &format!("{what} +"));
                answered += 1;
            }
            if let (Some(e), Some(d)) = (ea.sub(eb), a.checked_sub(b)) {
                same(e, d, &format!("{what} −"));
            }
            if let (Some(e), Some(d)) = (ea.mul(eb), a.checked_mul(b)) {
                same(e, d, &format!("{what} ×"));
            }
            if let Some(o) = ea.cmp(eb) {
                assert_eq!(o, a.cmp(&b), "{what} cmp");
            }
            same(ea.abs(), a.abs(), &format!("{what} abs"));
            for strategy in [
                RoundingStrategy::MidpointNearestEven,
                RoundingStrategy::ToPositiveInfinity,
                RoundingStrategy::ToNegativeInfinity,
                RoundingStrategy::ToZero,
            ] {
                let dp = g.below(12) as u32;
                same(
                    ea.round_dp(dp, strategy).unwrap(),
                    a.round_dp_with_strategy(dp, strategy),
                    &format!("{what} round {dp} {strategy:?}"),
                );
            }
        }
        // Most sums of ordinary amounts are answered (the rest: zero sums, huge mantissas).
        assert!(answered > cases * 3 / 4, "{answered}");
        assert!(Exact::of(-Decimal::ZERO).is_none());
        assert_eq!(
            Exact::of(Decimal::ONE).unwrap().cmp(Exact::ZERO),
            Some(Ordering::Greater)
        );
    }

    /// Decimals of every size and scale, zeros and signs included.
    fn any_decimal() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
            (-1000i64..1000, 0u32..=4).prop_map(|(m, s)| Decimal::new(m, s)),
            (any::<i128>(), 0u32..=28).prop_map(|(m, s)| {
                Decimal::try_from_i128_with_scale(m % (1i128 << 96), s).unwrap()
            }),
            Just(Decimal::ZERO),
            Just(Decimal::MAX),
            Just(Decimal::MIN),
            Just(Decimal::new(0, 7)),
            Just(-Decimal::new(0, 3)),
        ]
    }

    proptest! {
        /// Rounding a `Sum` is rounding its value, representation included.
        #[test]
        fn sum_rounds_like_decimal(items in proptest::collection::vec(any_decimal(), 0..6), dp in 0u32..=12) {
            let mut want = Decimal::ZERO;
            let mut got = Sum::default();
            for d in items {
                let Some(next) = want.checked_add(d) else { return Ok(()) };
                want = next;
                got.add(d);
            }
            for strategy in [RoundingStrategy::ToNegativeInfinity, RoundingStrategy::ToPositiveInfinity] {
                let want = want.round_dp_with_strategy(dp, strategy);
                let got = got.round_dp(dp, strategy);
                prop_assert_eq!(got.serialize(), want.serialize());
            }
        }

        /// Cancelling sums, where `Decimal` picks the zero's sign and scale.
        #[test]
        fn sum_cancels_like_decimal(a in any_decimal(), b in any_decimal()) {
            let mut want = Decimal::ZERO;
            let mut got = Sum::default();
            for d in [a, b, -a, -b, a] {
                let Some(next) = want.checked_add(d) else { return Ok(()) };
                want = next;
                got.add(d);
                prop_assert_eq!(got.value().serialize(), want.serialize());
            }
        }
    }
}

//! Exact scaled integers for the stress grid's inner loop.
//!
//! The grid multiplies every bucket by every scenario's factor; with `Decimal` that is most of a
//! profile's cost. The loop therefore runs on the same numbers as exact `i128` integers: money in
//! units of 1e-8 USD (the aggregates are already rounded to 8 places, against the account),
//! factors and weights in units of 1e-9 (grid moves are rounded to 9 places), products in units of
//! 1e-17. No floats, no rounding inside the loop; `i128` holds ±1.7e38, i.e. ±1.7e21 USD at 1e-17,
//! and the few results are turned back into `Decimal`s at the end.

use rust_decimal::{Decimal, RoundingStrategy};

/// Scale of money (1e-8 USD).
pub(crate) const MONEY: u32 = 8;
/// Scale of factors and weights (1e-9).
pub(crate) const FACTOR: u32 = 9;
/// `10^FACTOR`.
pub(crate) const ONE: i128 = 1_000_000_000;

/// `d` as an integer at `scale`, rounded with `strategy` if it has more places. Values beyond the
/// range saturate (no Unimargin amount comes near 1e20 USD).
pub(crate) fn to_fixed(d: Decimal, scale: u32, strategy: RoundingStrategy) -> i128 {
    let d = if d.scale() > scale {
        d.round_dp_with_strategy(scale, strategy)
    } else {
        d
    };
    let m = d.mantissa();
    let pow = POWERS_OF_TEN
        .get((scale - d.scale()) as usize)
        .copied()
        .unwrap_or(i128::MAX);
    m.checked_mul(pow)
        .unwrap_or(if m < 0 { i128::MIN / 2 } else { i128::MAX / 2 })
}

/// `10^0 ..= 10^38`, the powers of ten an `i128` holds (a lookup instead of `checked_pow`, which
/// the book calls for every term of every bucket).
const POWERS_OF_TEN: [i128; 39] = {
    let mut table = [1i128; 39];
    let mut i = 1;
    while i < 39 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// A product at scale `MONEY + FACTOR` back to a `Decimal` (28 significant digits; beyond 1e11
/// USD the last nine places are dropped toward zero).
pub(crate) fn product_to_decimal(v: i128) -> Decimal {
    const LIMIT: i128 = 10i128.pow(28);
    if v.abs() < LIMIT {
        Decimal::from_i128_with_scale(v, MONEY + FACTOR)
    } else {
        Decimal::from_i128_with_scale(v / ONE, MONEY)
    }
}

/// Money at scale `MONEY` to a `Decimal`.
pub(crate) fn money_to_decimal(v: i128) -> Decimal {
    Decimal::try_from_i128_with_scale(v, MONEY).unwrap_or(if v < 0 {
        Decimal::MIN
    } else {
        Decimal::MAX
    })
}

/// `v × 10^−scale` as a normalized `Decimal` (no trailing zeros): the same value and
/// representation as `Decimal::try_from_i128_with_scale(v, scale)` then `normalize()` (which
/// divides the 96-bit mantissa by ten repeatedly), with the zeros stripped in machine integers.
/// Beyond the decimal range it saturates like [`money_to_decimal`].
pub(crate) fn normalized(v: i128, scale: u32) -> Decimal {
    if Decimal::try_from_i128_with_scale(v, scale).is_err() {
        return if v < 0 { Decimal::MIN } else { Decimal::MAX };
    }
    if v == 0 {
        return Decimal::ZERO;
    }
    let (mut v, mut scale) = (v, scale);
    if let Ok(mut small) = i64::try_from(v) {
        while scale > 0 && small % 10 == 0 {
            small /= 10;
            scale -= 1;
        }
        v = i128::from(small);
    } else {
        while scale > 0 && v % 10 == 0 {
            v /= 10;
            scale -= 1;
        }
    }
    Decimal::try_from_i128_with_scale(v, scale).unwrap_or(Decimal::ZERO)
}

/// `v` as the nearest `f64`, through `i64` when it fits: the same number as `v as f64` (exact
/// below 2⁵³, and both round to nearest above), without the software `i128` conversion.
pub(crate) fn to_f64(v: i128) -> f64 {
    match i64::try_from(v) {
        Ok(small) => small as f64,
        Err(_) => v as f64,
    }
}

/// `x` (an integral `f64`, e.g. from `round`) as an integer, saturating like `x as i128`, through
/// `i64` when it fits.
pub(crate) fn from_f64(x: f64) -> i128 {
    // 2⁶³: every integral value strictly inside converts exactly to `i64`.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if x > -LIMIT && x < LIMIT {
        i128::from(x as i64)
    } else {
        x as i128
    }
}

/// A running sum of `Decimal`s with the same value and representation as adding them one by
/// one with `+=`, kept as a scaled `i128` while that is exact.
///
/// `Decimal` addition aligns scales and is exact whenever the aligned operands and the result fit
/// in its 96-bit mantissa; it only rounds beyond. The sum therefore adds mantissas at the larger
/// scale while everything stays within 96 bits, and hands over to `Decimal` itself for whatever
/// it would treat specially: a zero result (whose sign and scale `Decimal` decides), or a partial
/// sum or operand beyond 96 bits (where it rounds). Adding zero, or to zero, returns the other
/// operand, as `Decimal` does. The book sums every position into a few of these, and an add is
/// then a comparison and an integer addition instead of `Decimal`'s general path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sum {
    mantissa: i128,
    scale: u32,
    /// The sum when `mantissa` is zero (its sign and scale are `Decimal`'s).
    zero: Decimal,
    /// Set once the sum left the exact range: from then on it is a `Decimal` sum.
    spilled: Option<Decimal>,
}

impl Default for Sum {
    fn default() -> Self {
        Self::ZERO
    }
}

/// `2⁹⁶ − 1`, the largest mantissa of a `Decimal`.
const MAX_MANTISSA: u128 = (1 << 96) - 1;

impl Sum {
    /// The empty sum (`Decimal::ZERO`).
    pub(crate) const ZERO: Self = Self {
        mantissa: 0,
        scale: 0,
        zero: Decimal::ZERO,
        spilled: None,
    };

    /// `self += d`.
    #[inline]
    pub(crate) fn add(&mut self, d: Decimal) {
        if let Some(x) = &mut self.spilled {
            *x += d;
            return;
        }
        let (dm, ds) = (d.mantissa(), d.scale());
        if self.mantissa == 0 {
            // 0 + d = d, representation included.
            self.mantissa = dm;
            self.scale = ds;
            self.zero = d;
            return;
        }
        if dm == 0 {
            return;
        }
        if ds == self.scale {
            let r = self.mantissa + dm;
            if r != 0 && r.unsigned_abs() <= MAX_MANTISSA {
                self.mantissa = r;
                return;
            }
        } else if let Some((a, b)) = align(self.mantissa, self.scale, dm, ds) {
            let r = a + b;
            if r != 0 && r.unsigned_abs() <= MAX_MANTISSA {
                self.mantissa = r;
                self.scale = self.scale.max(ds);
                return;
            }
        }
        // Beyond the exact range, or a zero result: `Decimal` decides.
        let r = self.value() + d;
        if r.is_zero() {
            self.mantissa = 0;
            self.zero = r;
        } else {
            self.spilled = Some(r);
        }
    }

    /// `self.value().round_dp_with_strategy(dp, strategy)`, same value and representation,
    /// rounded in integers when the sum is exact: the book floors or ceils every bucket's sums.
    pub(crate) fn round_dp(&self, dp: u32, strategy: RoundingStrategy) -> Decimal {
        if self.spilled.is_none() && self.mantissa != 0 {
            if self.scale <= dp {
                return Decimal::from_i128_with_scale(self.mantissa, self.scale);
            }
            let p = POWERS_OF_TEN[(self.scale - dp) as usize];
            let q = match strategy {
                RoundingStrategy::ToNegativeInfinity => Some(self.mantissa.div_euclid(p)),
                RoundingStrategy::ToPositiveInfinity => Some(-(-self.mantissa).div_euclid(p)),
                _ => None,
            };
            // A zero result keeps `Decimal`'s own sign and scale.
            if let Some(q) = q.filter(|q| *q != 0) {
                return Decimal::from_i128_with_scale(q, dp);
            }
        }
        self.value().round_dp_with_strategy(dp, strategy)
    }

    /// The sum.
    #[inline]
    pub(crate) fn value(&self) -> Decimal {
        match self.spilled {
            Some(x) => x,
            None if self.mantissa == 0 => self.zero,
            // Within 96 bits and scale ≤ 28 by construction.
            None => Decimal::from_i128_with_scale(self.mantissa, self.scale),
        }
    }
}

/// Both mantissas at the larger of the two scales, if each fits in 96 bits there.
#[inline]
fn align(m1: i128, s1: u32, m2: i128, s2: u32) -> Option<(i128, i128)> {
    let up = |m: i128, by: u32| -> Option<i128> {
        let r = m.checked_mul(*POWERS_OF_TEN.get(by as usize)?)?;
        (r.unsigned_abs() <= MAX_MANTISSA).then_some(r)
    };
    if s1 > s2 {
        Some((m1, up(m2, s1 - s2)?))
    } else {
        Some((up(m1, s2 - s1)?, m2))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test reports failure by panicking")]

    use proptest::prelude::*;
    use rust_decimal::{Decimal, RoundingStrategy};

    use super::{Sum, normalized};

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
            let mut got = Sum::ZERO;
            for d in items {
                let Some(next) = want.checked_add(d) else { return Ok(()) };
                want = next;
                got.add(d);
            }
            for strategy in [RoundingStrategy::ToNegativeInfinity, RoundingStrategy::ToPositiveInfinity] {
                let want = want.round_dp_with_strategy(dp, strategy);
                let got = got.round_dp(dp, strategy);
                prop_assert_eq!(got.to_string(), want.to_string());
                prop_assert_eq!(got.is_sign_negative(), want.is_sign_negative());
            }
        }

        /// A `Sum` is the same number, in the same representation, as adding with `+=` —
        /// wherever `+=` itself does not overflow.
        #[test]
        fn sum_is_decimal_addition(items in proptest::collection::vec(any_decimal(), 0..24)) {
            let mut want = Decimal::ZERO;
            let mut got = Sum::ZERO;
            for d in items {
                let Some(next) = want.checked_add(d) else { return Ok(()) };
                want = next;
                got.add(d);
                let value = got.value();
                prop_assert_eq!(value, want);
                prop_assert_eq!(value.to_string(), want.to_string());
                prop_assert_eq!(value.scale(), want.scale());
                prop_assert_eq!(value.is_sign_negative(), want.is_sign_negative());
            }
        }

        /// Cancelling sums, where `Decimal` picks the zero's sign and scale.
        #[test]
        fn sum_cancels_like_decimal(a in any_decimal(), b in any_decimal()) {
            let items = [a, b, -a, -b, a];
            let mut want = Decimal::ZERO;
            let mut got = Sum::ZERO;
            for d in items {
                let Some(next) = want.checked_add(d) else { return Ok(()) };
                want = next;
                got.add(d);
                prop_assert_eq!(got.value().to_string(), want.to_string());
                prop_assert_eq!(got.value().is_sign_negative(), want.is_sign_negative());
            }
        }
    }

    /// The same value and representation as `Decimal::normalize`.
    #[test]
    fn normalized_is_decimal_normalize() {
        let mut cases: Vec<i128> = vec![0, 1, -1, 10, -10, 1_000_000_000, -35_000_000_000];
        for k in 0..30u32 {
            let p = 10i128.pow(k);
            cases.extend([p, -p, 3 * p, 7 * p + 1, p * 120, 10i128.pow(28) - 1]);
        }
        cases.extend([
            i128::MAX,
            i128::MIN + 1,
            79_228_162_514_264_337_593_543_950_335,
        ]);
        for v in cases {
            for scale in [0u32, 2, 8, 9, 17, 28] {
                let want = Decimal::try_from_i128_with_scale(v, scale).map(|d| d.normalize());
                let got = normalized(v, scale);
                match want {
                    Ok(d) => {
                        assert_eq!(got, d, "{v} e-{scale}");
                        assert_eq!(got.scale(), d.scale(), "{v} e-{scale}");
                        assert_eq!(got.to_string(), d.to_string());
                    }
                    Err(_) => assert!(got == Decimal::MAX || got == Decimal::MIN),
                }
            }
        }
    }
}

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
    let pow = crate::exact::pow10(scale - d.scale()).unwrap_or(i128::MAX);
    m.checked_mul(pow)
        .unwrap_or(if m < 0 { i128::MIN / 2 } else { i128::MAX / 2 })
}

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test reports failure by panicking")]

    use rust_decimal::Decimal;

    use super::normalized;

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

//! The haircut schedule: per asset, a tier chosen by volatility (per regime) plus a size premium.
//!
//! `haircut = tier level + imf × √(size ÷ liquidity)`, the premium in the spirit of Drift's IMF
//! factor: liquidating a position several times the market's depth costs more than in proportion.
//! The haircut is capped at `cap` (two thirds of what the asset's largest fall on the grid leaves),
//! so that no holding's stress loss plus concentration charge can exceed its value — which is what
//! keeps "more collateral never lowers health" true.
//!
//! Everything but the size is fixed per asset ([`HaircutBasis`]), so it is looked up once per
//! asset while the size varies (the portfolio's net exposure, each market's own).

use std::cmp::Ordering;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::{
    exact::{Exact, MANTISSA_LIMIT, mul_i128, pow10},
    model::{HaircutLevels, RiskModel, SizeParams},
};

/// What an asset's haircut depends on besides its size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HaircutBasis {
    levels: HaircutLevels,
    size: SizeParams,
    cap: Decimal,
    /// `cap` rounded to 10 places, as every haircut is.
    cap_rounded: Decimal,
    /// The same numbers as [`Exact`]s, for [`HaircutBasis::at_exact`] (`None` for a negative
    /// zero, which [`Exact`] does not represent).
    exact: Option<BasisExact>,
}

/// [`HaircutBasis`]'s numbers as [`Exact`]s.
#[derive(Debug, Clone, Copy)]
struct BasisExact {
    maintenance: Exact,
    initial: Exact,
    liquidity: Exact,
    imf: Exact,
    cap_rounded: Exact,
    /// The sums with a premium, prepared (when the premium is never zero).
    premium: Option<PremiumSums>,
}

/// `capped(level + premium)` prepared for a premium `imf × root` at its scale
/// `imf scale + 9`: every step but the premium itself done once per asset.
#[derive(Debug, Clone, Copy)]
struct PremiumSums {
    /// The premium's scale.
    scale: u32,
    /// The maintenance and initial levels at that scale (the larger of the two, as `Decimal`
    /// aligns a sum; a zero level's sum is the premium, the same thing).
    levels: [i128; 2],
    /// `10^(c − r)` and the rounded cap at `10^−c`, `r` the scale of a sum rounded to 10
    /// places and `c` the larger of `r` and the cap's: a rounded sum compared with the cap in
    /// integers.
    factor: i128,
    cap: i128,
}

impl BasisExact {
    fn new(levels: HaircutLevels, size: SizeParams, cap_rounded: Decimal) -> Option<Self> {
        let mut basis = Self {
            maintenance: Exact::of(levels.maintenance)?,
            initial: Exact::of(levels.initial)?,
            liquidity: Exact::of(size.liquidity_usd)?,
            imf: Exact::of(size.imf)?,
            cap_rounded: Exact::of(cap_rounded)?,
            premium: None,
        };
        if basis.imf.m != 0 && basis.liquidity.m > 0 {
            basis.premium = PremiumSums::new(&basis);
        }
        Some(basis)
    }
}

impl PremiumSums {
    fn new(b: &BasisExact) -> Option<Self> {
        // A product beyond 28 places is rounded by `Decimal`: not prepared.
        let scale = Some(b.imf.s + 9).filter(|s| *s <= Decimal::MAX_SCALE)?;
        let at_scale = |level: Exact| -> Option<i128> {
            let m = mul_i128(level.m, pow10(scale.checked_sub(level.s)?)?)?;
            (m.abs() < MANTISSA_LIMIT).then_some(m)
        };
        let rounded_scale = scale.min(10);
        let c = rounded_scale.max(b.cap_rounded.s);
        Some(Self {
            scale,
            levels: [at_scale(b.maintenance)?, at_scale(b.initial)?],
            factor: pow10(c - rounded_scale)?,
            cap: mul_i128(b.cap_rounded.m, pow10(c - b.cap_rounded.s)?)?,
        })
    }
}

impl HaircutBasis {
    /// The basis of asset `symbol` whose group has `volatility`, capped at `cap`.
    pub(crate) fn new(model: &RiskModel, symbol: &str, volatility: Decimal, cap: Decimal) -> Self {
        let tiers = &model.haircuts.tiers;
        let tier = tiers
            .iter()
            .find(|t| volatility <= t.max_volatility)
            .or(tiers.last());
        let levels = tier.map_or(
            HaircutLevels {
                maintenance: Decimal::ZERO,
                initial: Decimal::ZERO,
            },
            |t| t.levels.get(model.regime),
        );
        let size = *model
            .haircuts
            .assets
            .get(symbol)
            .unwrap_or(&model.haircuts.default_size);
        Self::from_parts(levels, size, cap)
    }

    /// The basis of the given levels and size parameters, capped at `cap`.
    fn from_parts(levels: HaircutLevels, size: SizeParams, cap: Decimal) -> Self {
        let cap = cap.max(Decimal::ZERO);
        let cap_rounded = cap.round_dp(10);
        Self {
            levels,
            size,
            cap,
            cap_rounded,
            exact: BasisExact::new(levels, size, cap_rounded),
        }
    }

    /// Maintenance and initial haircuts of `size_usd` of the asset.
    pub(crate) fn at(&self, size_usd: Decimal) -> HaircutLevels {
        let params = &self.size;
        let premium = if size_usd > Decimal::ZERO && params.liquidity_usd > Decimal::ZERO {
            params.imf * sqrt_up(size_usd / params.liquidity_usd)
        } else {
            Decimal::ZERO
        };
        HaircutLevels {
            maintenance: self.capped(self.levels.maintenance + premium),
            initial: self.capped(self.levels.initial + premium),
        }
    }

    /// `min(level, cap)` rounded to 10 places. Rounding is monotone, so the rounded minimum is
    /// the minimum of the rounded values, and the cap is rounded once per asset; on a tie the
    /// two are compared unrounded, so the result is the same number in the same representation.
    fn capped(&self, level: Decimal) -> Decimal {
        let rounded = level.round_dp(10);
        match rounded.cmp(&self.cap_rounded) {
            std::cmp::Ordering::Less => rounded,
            std::cmp::Ordering::Greater => self.cap_rounded,
            std::cmp::Ordering::Equal => level.min(self.cap).round_dp(10),
        }
    }

    /// [`HaircutBasis::at`] in machine integers: the same two numbers, value and representation,
    /// for a size above zero, or `None` where the integers cannot show that they are the same
    /// (then `at` decides). About a third of the instructions of `at`, which divides, rounds and
    /// compares in `Decimal`.
    pub(crate) fn at_exact(&self, size: Exact) -> Option<(Exact, Exact)> {
        let b = self.exact.as_ref()?;
        if size.m <= 0 {
            return None;
        }
        let Some(p) = &b.premium else {
            // No premium (or a basis the prepared sums do not cover): the general steps.
            let premium = if b.liquidity.m > 0 {
                b.imf.mul(Exact {
                    m: sqrt_up_exact(size, b.liquidity)?,
                    s: 9,
                })?
            } else {
                Exact::ZERO
            };
            let capped = |level: Exact| -> Option<Exact> {
                let rounded = level
                    .add(premium)?
                    .round_dp(10, RoundingStrategy::MidpointNearestEven)?;
                match rounded.cmp(b.cap_rounded)? {
                    Ordering::Less => Some(rounded),
                    Ordering::Greater => Some(b.cap_rounded),
                    // The tie compares the unrounded numbers (see `capped`): left to `at`.
                    Ordering::Equal => None,
                }
            };
            return Some((capped(b.maintenance)?, capped(b.initial)?));
        };
        // The premium is nonzero (the root is at least 1e-9): `level + premium` is aligned at
        // the premium's scale, unless the sum is zero or beyond 96 bits.
        let premium = mul_i128(b.imf.m, sqrt_up_exact(size, b.liquidity)?)?;
        if premium.abs() >= MANTISSA_LIMIT {
            return None;
        }
        let capped = |level: i128| -> Option<Exact> {
            let sum = level + premium;
            if sum == 0 || sum.abs() >= MANTISSA_LIMIT {
                return None;
            }
            let rounded =
                Exact { m: sum, s: p.scale }.round_dp(10, RoundingStrategy::MidpointNearestEven)?;
            match mul_i128(rounded.m, p.factor)?.cmp(&p.cap) {
                Ordering::Less => Some(rounded),
                Ordering::Greater => Some(b.cap_rounded),
                // The tie compares the unrounded numbers (see `capped`): left to `at`.
                Ordering::Equal => None,
            }
        };
        Some((capped(p.levels[0])?, capped(p.levels[1])?))
    }
}

/// `sqrt_up(size ÷ liquidity)` at 1e-9 for positive `size` and `liquidity`, or `None` when the
/// `Decimal` quotient `sqrt_up` rounds up to 1e-18 might not round up to the same integer as the
/// exact one.
///
/// The quotient `x` is below 1e8 here, so `Decimal` keeps it to at least 20 places (its 96-bit
/// mantissa holds 28 digits) and differs from the exact ratio by at most 1e-20. Writing the exact
/// ratio at 1e-18 as `k + r ÷ d`: with `r = 0` it is exact at 1e-18 in `Decimal` too; with
/// `r ÷ d > 1 ÷ 100` the `Decimal` quotient lies in `(k, k + 1]` at 1e-18, and rounds up to
/// `k + 1` as the exact one does. Only a remainder within 1e-20 of `k` is left to `Decimal`.
fn sqrt_up_exact(size: Exact, liquidity: Exact) -> Option<i128> {
    // x × 10¹⁸ = size_m × 10^(18 + liquidity_s − size_s) ÷ liquidity_m.
    let shift = 18 + i64::from(liquidity.s) - i64::from(size.s);
    let (n, d) = if shift >= 0 {
        (
            size.m.checked_mul(pow10(u32::try_from(shift).ok()?)?)?,
            liquidity.m,
        )
    } else {
        (
            size.m,
            liquidity
                .m
                .checked_mul(pow10(u32::try_from(-shift).ok()?)?)?,
        )
    };
    // Both positive (checked by the caller).
    let (n, d) = (n.unsigned_abs(), d.unsigned_abs());
    let k = n / d;
    let r = n - k * d;
    if k >= 10u128.pow(26) {
        return None;
    }
    let scaled = if r == 0 {
        k
    } else if r > d / 100 {
        k + 1
    } else {
        return None;
    };
    Some(ceil_sqrt(i128::try_from(scaled).ok()?))
}

/// `√x` rounded up to 1e-9, by an exact integer square root (`Decimal::sqrt` iterates in
/// `Decimal` and costs more than the rest of the add-ons together).
fn sqrt_up(x: Decimal) -> Decimal {
    // x at 1e-18, so its root comes out at 1e-9.
    let scaled =
        crate::fixed::to_fixed(x, 18, rust_decimal::RoundingStrategy::ToPositiveInfinity).max(0);
    let root = ceil_sqrt(scaled);
    Decimal::try_from_i128_with_scale(root, 9).unwrap_or(Decimal::MAX)
}

/// `⌈√n⌉` for `n ≥ 0`, exactly: a floating-point estimate corrected in integers (the estimate is
/// within a few units, and the corrections make the result exact whatever it was).
fn ceil_sqrt(n: i128) -> i128 {
    if n <= 0 {
        return 0;
    }
    if let Ok(small) = u64::try_from(n) {
        // The same in 64 bits (squares in 128): no 128-bit float conversions.
        let n = u128::from(small);
        let mut r = ((small as f64).sqrt() as u64).max(1);
        while u128::from(r) * u128::from(r) > n {
            r -= 1;
        }
        while u128::from(r + 1) * u128::from(r + 1) <= n {
            r += 1;
        }
        let r = i128::from(r);
        return if r * r < small.into() { r + 1 } else { r };
    }
    // `n < 2¹²⁷`, so the root is below 2⁶⁴; the estimate (relative error about 2⁻⁵²) is clamped
    // there and the loops below move it by a few units at most.
    let mut r = ((n as f64).sqrt() as i128).clamp(1, i128::from(u64::MAX));
    while r.checked_mul(r).is_none_or(|sq| sq > n) {
        r -= 1;
    }
    while (r + 1).checked_mul(r + 1).is_some_and(|sq| sq <= n) {
        r += 1;
    }
    // r = ⌊√n⌋.
    if r * r < n { r + 1 } else { r }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test reports failure by panicking")]

    use rust_decimal::Decimal;

    use super::{HaircutBasis, ceil_sqrt};
    use crate::exact::{
        Exact,
        testing::{Lcg, same},
    };
    use crate::model::{HaircutLevels, SizeParams};

    /// `at_exact` gives `at`'s haircuts, value and representation, whenever it gives them, for
    /// bases with and without premium and caps that bind or not; and it gives them for most
    /// sizes.
    #[test]
    fn at_exact_is_at() {
        let d = |s: &str| Decimal::from_str_exact(s).unwrap();
        let mut g = Lcg(11);
        let mut answered = 0;
        let mut asked = 0;
        for (maintenance, initial) in [
            ("0.05", "0.08"),
            ("0", "0"),
            ("0.1", "0.125"),
            ("0.3", "0.3"),
        ] {
            for (liquidity, imf) in [
                ("400000000", "0.01"),
                ("1000000", "0.05"),
                ("150000000.5", "0.002"),
                ("0", "0.01"),
                ("1000000", "0"),
                ("3", "1.5"),
            ] {
                for cap in [
                    "0.6",
                    "0.3333333333333333333333333333",
                    "0.0800000000",
                    "0.12",
                    "0",
                ] {
                    let basis = HaircutBasis::from_parts(
                        HaircutLevels {
                            maintenance: d(maintenance),
                            initial: d(initial),
                        },
                        SizeParams {
                            liquidity_usd: d(liquidity),
                            imf: d(imf),
                        },
                        d(cap),
                    );
                    for _ in 0..200 {
                        let size = g.decimal(14, 12).abs();
                        if size.is_zero() {
                            continue;
                        }
                        asked += 1;
                        let want = basis.at(size);
                        if let Some((m, i)) = basis.at_exact(Exact::of(size).unwrap()) {
                            answered += 1;
                            let what = format!("{size} at {maintenance}/{liquidity}/{imf}/{cap}");
                            same(m, want.maintenance, &what);
                            same(i, want.initial, &what);
                        }
                    }
                }
            }
        }
        assert!(answered > asked * 9 / 10, "{answered} of {asked}");
    }

    /// The capped haircut is `min(level, cap).round_dp(10)`, value and representation, including
    /// levels and caps that round to the same value.
    #[test]
    fn capped_is_the_rounded_minimum() {
        let d = |s: &str| Decimal::from_str_exact(s).unwrap();
        let caps = [
            "0.0500000000",
            "0.05",
            "0.049999999996",
            "0.050000000004",
            "0.3333333333333333333333333333",
            "0.6",
            "0",
        ];
        let levels = [
            "0",
            "0.05",
            "0.04999999999",
            "0.050000000049",
            "0.0500000000500",
            "0.05000000005",
            "0.33333333335",
            "0.3333333333",
            "0.61",
            "0.1234567890123",
        ];
        for cap in caps {
            let basis = HaircutBasis::from_parts(
                HaircutLevels {
                    maintenance: Decimal::ZERO,
                    initial: Decimal::ZERO,
                },
                SizeParams {
                    liquidity_usd: Decimal::ONE,
                    imf: Decimal::ZERO,
                },
                d(cap),
            );
            for level in levels {
                let want = d(level).min(d(cap)).round_dp(10);
                let got = basis.capped(d(level));
                assert_eq!(got, want, "{level} capped at {cap}");
                assert_eq!(got.to_string(), want.to_string(), "{level} capped at {cap}");
            }
        }
    }

    /// Against `isqrt` on squares, their neighbours and large values.
    #[test]
    fn ceil_sqrt_is_exact() {
        let reference = |n: i128| {
            let r = n.isqrt();
            if r * r < n { r + 1 } else { r }
        };
        let mut cases: Vec<i128> = (0..2_000).collect();
        for k in [
            3i128,
            10,
            1_000_003,
            999_999_999_989,
            3_037_000_499,
            1 << 40,
            1 << 62,
        ] {
            for d in -2..=2 {
                cases.push(k * k + d);
            }
        }
        cases.extend([i128::MAX, i128::MAX - 1, 10i128.pow(36), 10i128.pow(36) + 1]);
        for n in cases.into_iter().filter(|n| *n >= 0) {
            assert_eq!(ceil_sqrt(n), reference(n), "{n}");
        }
    }
}

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

use rust_decimal::Decimal;

use crate::model::{HaircutLevels, RiskModel, SizeParams};

/// What an asset's haircut depends on besides its size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HaircutBasis {
    levels: HaircutLevels,
    size: SizeParams,
    cap: Decimal,
    /// `cap` rounded to 10 places, as every haircut is.
    cap_rounded: Decimal,
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
        let cap = cap.max(Decimal::ZERO);
        Self {
            levels,
            size,
            cap,
            cap_rounded: cap.round_dp(10),
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
    use crate::model::{HaircutLevels, SizeParams};

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
            let basis = HaircutBasis {
                levels: HaircutLevels {
                    maintenance: Decimal::ZERO,
                    initial: Decimal::ZERO,
                },
                size: SizeParams {
                    liquidity_usd: Decimal::ONE,
                    imf: Decimal::ZERO,
                },
                cap: d(cap),
                cap_rounded: d(cap).round_dp(10),
            };
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

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
        Self {
            levels,
            size,
            cap: cap.max(Decimal::ZERO),
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
            maintenance: (self.levels.maintenance + premium)
                .min(self.cap)
                .round_dp(10),
            initial: (self.levels.initial + premium).min(self.cap).round_dp(10),
        }
    }
}

/// `√x` rounded up to 1e-9, by an exact integer square root (`Decimal::sqrt` iterates in
/// `Decimal` and costs more than the rest of the add-ons together).
fn sqrt_up(x: Decimal) -> Decimal {
    // x at 1e-18, so its root comes out at 1e-9.
    let scaled =
        crate::fixed::to_fixed(x, 18, rust_decimal::RoundingStrategy::ToPositiveInfinity).max(0);
    let root = scaled.isqrt();
    let root = if root * root < scaled { root + 1 } else { root };
    Decimal::try_from_i128_with_scale(root, 9).unwrap_or(Decimal::MAX)
}

//! Comet's two account checks, reproduced, and the native health built from them.
//!
//! Comet computes `liquidity = Σ mulFactor(mulPrice(balance_i, price_i, scale_i), CF_i) −
//! mulPrice(debt, basePrice, baseScale)` over the collaterals in the account's `assetsIn`;
//! `isLiquidatable` is `liquidity < 0` with the liquidation factors, `isBorrowCollateralized` is
//! `liquidity ≥ 0` with the borrow factors. Both return early once `liquidity ≥ 0`; since every
//! term added is non-negative, the full sums give the same answers.

use std::collections::BTreeMap;

use alloy::primitives::U256;
use rust_decimal::Decimal;
use unimargin_schema::{Health, NativeHealth};
use unimargin_sdk::{
    Result,
    units::{Rounding, scale},
};

use crate::math::{self, RATIO_DECIMALS};

/// Comet's checks over one set of balances, in Comet's price units (`PRICE_SCALE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Liquidity {
    /// Σ collateral value × liquidateCollateralFactor.
    pub(crate) liquidate_collateral: U256,
    /// Σ collateral value × borrowCollateralFactor.
    pub(crate) borrow_collateral: U256,
    /// The debt's value: `-signedMulPrice(presentValue(principal), basePrice, baseScale)`
    /// (0 without debt).
    pub(crate) debt: U256,
}

impl Liquidity {
    /// `isLiquidatable`.
    pub(crate) fn is_liquidatable(&self) -> bool {
        self.liquidate_collateral < self.debt
    }

    /// `isBorrowCollateralized`.
    pub(crate) fn is_borrow_collateralized(&self) -> bool {
        self.borrow_collateral >= self.debt
    }
}

/// What Comet itself answered for the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdicts {
    /// `isLiquidatable(account)`.
    pub(crate) is_liquidatable: bool,
    /// `isBorrowCollateralized(account)`.
    pub(crate) is_borrow_collateralized: bool,
}

/// `numerator ÷ debt` floored to 18 decimals, and the wad behind it; infinite without debt.
fn ratio(numerator: U256, debt: U256) -> Result<(Health, Option<U256>)> {
    if debt.is_zero() {
        return Ok((Health::Infinite, None));
    }
    let wad = math::ratio_wad(numerator, debt)?;
    let value = scale(wad, RATIO_DECIMALS, Rounding::Down)?
        .value
        .normalize();
    Ok((Health::Finite(value), Some(wad)))
}

/// The native health: the liquidation ratio at the accrued debt, Comet's verdicts compared with
/// the reproduction of its views (`view`, at the stored index), and every disagreement, those
/// found earlier in `mismatches` included, recorded in `agrees`.
pub(crate) fn native_health(
    metric: &str,
    view: Liquidity,
    accrued: Liquidity,
    reported: Verdicts,
    mismatches: &mut Vec<String>,
) -> Result<NativeHealth> {
    if view.is_liquidatable() != reported.is_liquidatable {
        mismatches.push(format!(
            "isLiquidatable {} vs reproduced {}",
            reported.is_liquidatable,
            view.is_liquidatable()
        ));
    }
    if view.is_borrow_collateralized() != reported.is_borrow_collateralized {
        mismatches.push(format!(
            "isBorrowCollateralized {} vs reproduced {}",
            reported.is_borrow_collateralized,
            view.is_borrow_collateralized()
        ));
    }
    let (reproduced, ratio_wad) = ratio(accrued.liquidate_collateral, accrued.debt)?;
    let (_, borrow_ratio_wad) = ratio(accrued.borrow_collateral, accrued.debt)?;

    // Comet reports no number, so `reported` stays empty and the comparison is ours to record.
    let mut health = NativeHealth::new(metric, reproduced, None);
    health.liquidatable = accrued.is_liquidatable() || reported.is_liquidatable;
    if reported.is_liquidatable && !accrued.is_liquidatable() {
        // The protocol's verdict wins, and we cannot say by how much the account is short.
        health.value = Health::Finite(Decimal::ZERO);
        mismatches.push("Comet reports the account liquidatable; relying on 0".into());
    }
    health.agrees = Some(mismatches.is_empty());

    let wad = |w: Option<U256>| w.map_or_else(|| "infinity".to_owned(), |w| w.to_string());
    health.figures = BTreeMap::from(
        [
            ("price_scale", "100000000".to_owned()),
            (
                "reproduced.liquidate_collateral_value",
                accrued.liquidate_collateral.to_string(),
            ),
            (
                "reproduced.borrow_collateral_value",
                accrued.borrow_collateral.to_string(),
            ),
            ("reproduced.debt_value", accrued.debt.to_string()),
            ("reproduced.liquidation_ratio_wad", wad(ratio_wad)),
            ("reproduced.borrow_ratio_wad", wad(borrow_ratio_wad)),
            (
                "reproduced.is_liquidatable",
                accrued.is_liquidatable().to_string(),
            ),
            (
                "reproduced.is_borrow_collateralized",
                accrued.is_borrow_collateralized().to_string(),
            ),
            ("reproduced.view_debt_value", view.debt.to_string()),
            (
                "reproduced.view_is_liquidatable",
                view.is_liquidatable().to_string(),
            ),
            (
                "reproduced.view_is_borrow_collateralized",
                view.is_borrow_collateralized().to_string(),
            ),
            (
                "reported.is_liquidatable",
                reported.is_liquidatable.to_string(),
            ),
            (
                "reported.is_borrow_collateralized",
                reported.is_borrow_collateralized.to_string(),
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    Ok(health)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn liquidity(liquidate: u64, borrow: u64, debt: u64) -> Liquidity {
        Liquidity {
            liquidate_collateral: U256::from(liquidate),
            borrow_collateral: U256::from(borrow),
            debt: U256::from(debt),
        }
    }

    const AGREE: Verdicts = Verdicts {
        is_liquidatable: false,
        is_borrow_collateralized: true,
    };

    #[test]
    fn equal_collateral_and_debt_is_not_liquidatable() {
        let mut mismatches = Vec::new();
        let l = liquidity(100, 90, 100);
        let reported = Verdicts {
            is_liquidatable: false,
            is_borrow_collateralized: false,
        };
        let h = native_health("m", l, l, reported, &mut mismatches).unwrap();
        assert_eq!(
            (h.reproduced, h.liquidatable, h.agrees),
            (Health::Finite(Decimal::ONE), false, Some(true))
        );
    }

    #[test]
    fn accrued_debt_can_make_an_account_liquidatable_before_comets_view_does() {
        let mut mismatches = Vec::new();
        let h = native_health(
            "m",
            liquidity(100, 90, 80),
            liquidity(100, 90, 101),
            AGREE,
            &mut mismatches,
        )
        .unwrap();
        assert!(h.liquidatable);
        assert_eq!(
            h.agrees,
            Some(true),
            "the view is reproduced exactly: {mismatches:?}"
        );
        assert!(h.value < Health::Finite(Decimal::ONE));
    }

    #[test]
    fn an_earlier_disagreement_is_kept() {
        let mut mismatches = vec!["balanceOf 1 vs reproduced 2".to_owned()];
        let l = liquidity(100, 90, 0);
        let h = native_health("m", l, l, AGREE, &mut mismatches).unwrap();
        assert_eq!((h.reproduced, h.agrees), (Health::Infinite, Some(false)));
    }
}

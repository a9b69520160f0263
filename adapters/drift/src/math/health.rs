//! Drift's health (0–100) and per-position liquidation price, as Drift's SDK (`User.getHealth`,
//! `User.liquidationPrice`) derives them from the maintenance margin calculation.

use super::{MarginType, MathResult, Safe, perp};
use crate::{
    constants::{BASE_PRECISION, MARGIN_PRECISION, QUOTE_PRECISION},
    layout::PerpMarket,
};

/// `getHealth`: `round(100 × (1 − requirement / collateral))` clamped to [0, 100]; 100 without
/// a requirement, 0 without collateral or while being liquidated. Rounded half up like
/// JavaScript's `Math.round`, computed exactly in integers.
pub fn health(total_collateral: i128, maintenance_requirement: u128, being_liquidated: bool) -> u8 {
    if being_liquidated {
        return 0;
    }
    let req = i128::try_from(maintenance_requirement).unwrap_or(i128::MAX);
    if req == 0 && total_collateral >= 0 {
        return 100;
    }
    if total_collateral <= 0 || req >= total_collateral {
        return 0;
    }
    // x = 100 (c − r) / c; round(x) = floor((2 · 100 (c − r) + c) / 2c).
    let c = total_collateral;
    let num = (c - req).saturating_mul(200).saturating_add(c);
    let h = num / c.saturating_mul(2);
    h.clamp(0, 100) as u8
}

/// `liquidationPrice` for a perp position: the oracle price at which the free collateral of the
/// account it is margined in reaches zero, assuming every other price stays put. Each $1 of price
/// moves free collateral by `base × (1 ∓ maintenance ratio)`. `None` when the position is flat
/// or no positive price would liquidate it.
pub fn liquidation_price(
    market: &PerpMarket,
    base: i64,
    oracle_price: i64,
    free_collateral: i128,
    high_leverage: bool,
) -> MathResult<Option<i64>> {
    if base == 0 {
        return Ok(None);
    }
    let ratio = perp::margin_ratio(
        market,
        u128::from(base.unsigned_abs()),
        MarginType::Maintenance,
        high_leverage,
    )?;
    let ratio_quote = i128::from(ratio)
        .mul_(QUOTE_PRECISION)?
        .div_(MARGIN_PRECISION as i128)?;
    let base = i128::from(base);
    let delta = if base > 0 {
        QUOTE_PRECISION
            .sub_(ratio_quote)?
            .mul_(base)?
            .div_(BASE_PRECISION)?
    } else {
        (-QUOTE_PRECISION)
            .sub_(ratio_quote)?
            .mul_(base.abs())?
            .div_(BASE_PRECISION)?
    };
    if delta == 0 {
        return Ok(None);
    }
    let price_delta = free_collateral.max(0).mul_(QUOTE_PRECISION)?.div_(delta)?;
    let liq = i128::from(oracle_price).sub_(price_delta)?;
    if liq < 0 {
        return Ok(None);
    }
    Ok(i64::try_from(liq).ok())
}

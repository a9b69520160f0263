//! Perp positions: funding, PnL, worst-case liability and margin ratios (`math/funding.rs`,
//! `math/position.rs`, `PerpPosition::worst_case_liability_value`, `PerpMarket::get_margin_ratio`
//! and `get_unrealized_asset_weight` of the program).

use super::{
    MarginType, MathResult, Safe, cast, spot::size_discount_asset_weight,
    spot::size_premium_liability_weight,
};
use crate::{
    constants::{
        AMM_RESERVE_PRECISION, AMM_TO_QUOTE_PRECISION_RATIO, FUNDING_RATE_TO_QUOTE_PRECISION_RATIO,
        MARGIN_PRECISION, PRICE_PRECISION, PRICE_TIMES_AMM_TO_QUOTE_PRECISION_RATIO,
        SPOT_WEIGHT_PRECISION,
    },
    layout::{PerpMarket, PerpPosition},
    types::{ContractType, MarketStatus},
};

/// `calculate_funding_payment`: funding owed to (positive) or by (negative) the position since
/// its last settlement, in `QUOTE_PRECISION`. Longs pay shorts when the rate rises.
pub fn funding_payment(position: &PerpPosition, market: &PerpMarket) -> MathResult<i128> {
    let base = i128::from(position.base_asset_amount.get());
    let cumulative = if base > 0 {
        market.amm.cumulative_funding_rate_long.get()
    } else {
        market.amm.cumulative_funding_rate_short.get()
    };
    let delta = cumulative.sub_(i128::from(position.last_cumulative_funding_rate.get()))?;
    if delta == 0 {
        return Ok(0);
    }
    let magnitude: i128 = cast(
        delta
            .unsigned_abs()
            .mul_(base.unsigned_abs())?
            .div_(AMM_RESERVE_PRECISION)?
            .div_(FUNDING_RATE_TO_QUOTE_PRECISION_RATIO)?,
    )?;
    let position_sign = if base > 0 { -1 } else { 1 };
    let delta_sign = if delta > 0 { 1 } else { -1 };
    // The program casts the payment to i64.
    let payment = magnitude.mul_(position_sign)?.mul_(delta_sign)?;
    let _: i64 = cast(payment)?;
    Ok(payment)
}

/// `calculate_base_asset_value_and_pnl_with_oracle_price`: `|base| × price` and the PnL
/// `base × price + quote_asset_amount`, both in `QUOTE_PRECISION`.
pub fn base_value_and_pnl(base: i64, quote: i64, price: i64) -> MathResult<(u128, i128)> {
    if base == 0 {
        return Ok((0, i128::from(quote)));
    }
    let value = i128::from(base)
        .mul_(i128::from(price))?
        .div_(PRICE_TIMES_AMM_TO_QUOTE_PRECISION_RATIO)?;
    Ok((value.unsigned_abs(), value.add_(i128::from(quote))?))
}

/// `calculate_perp_liability_value`: notional of a base amount; for prediction markets (prices
/// in [0, 1]) a short's liability is `1 − price` per contract.
pub fn liability_value(base: i128, price: i64, prediction: bool) -> MathResult<u128> {
    let price = if prediction && base < 0 {
        (PRICE_PRECISION as i64).saturating_sub(price).max(0)
    } else {
        price.max(0)
    };
    base.unsigned_abs()
        .mul_(u128::from(price.unsigned_abs()))?
        .div_(AMM_RESERVE_PRECISION)
}

/// `PerpPosition::worst_case_liability_value`: the base amount (and its notional) if all open
/// bids, or all open asks, filled — whichever is larger.
pub fn worst_case_liability(
    position: &PerpPosition,
    price: i64,
    prediction: bool,
) -> MathResult<(i128, u128)> {
    let base = position.base_asset_amount.get();
    let all_bids = i128::from(base).add_(i128::from(position.open_bids.get()))?;
    let all_asks = i128::from(base).add_(i128::from(position.open_asks.get()))?;
    let bids_value = liability_value(all_bids, price, prediction)?;
    let asks_value = liability_value(all_asks, price, prediction)?;
    Ok(if asks_value >= bids_value {
        (all_asks, asks_value)
    } else {
        (all_bids, bids_value)
    })
}

/// `PerpMarket::get_margin_ratio`: the market's ratio (high-leverage ratios for users in
/// high-leverage mode) with the size premium from `imf_factor`; 0 in settlement.
pub fn margin_ratio(
    market: &PerpMarket,
    size: u128,
    margin: MarginType,
    high_leverage: bool,
) -> MathResult<u32> {
    if MarketStatus::from_u8(market.status) == Some(MarketStatus::Settlement) {
        return Ok(0);
    }
    let hlm = market.high_leverage_margin_ratio_initial.get() > 0
        && market.high_leverage_margin_ratio_maintenance.get() > 0;
    let (initial, maintenance) = if high_leverage && hlm {
        (
            u32::from(market.high_leverage_margin_ratio_initial.get()),
            u32::from(market.high_leverage_margin_ratio_maintenance.get()),
        )
    } else {
        (
            market.margin_ratio_initial.get(),
            market.margin_ratio_maintenance.get(),
        )
    };
    let default = match margin {
        MarginType::Initial => initial,
        MarginType::Maintenance => maintenance,
    };
    Ok(default.max(size_premium_liability_weight(
        size,
        market.imf_factor.get(),
        default,
        MARGIN_PRECISION,
    )?))
}

/// `amm::calculate_net_user_pnl`: what all users of the market would realize at `price`.
fn net_user_pnl(market: &PerpMarket, price: i64) -> MathResult<i128> {
    let amm = &market.amm;
    let base = amm
        .base_asset_amount_with_amm
        .get()
        .add_(amm.base_asset_amount_with_unsettled_lp.get())?;
    let value = base
        .mul_(i128::from(price))?
        .div_(PRICE_TIMES_AMM_TO_QUOTE_PRECISION_RATIO)?;
    value
        .add_(amm.quote_asset_amount.get())?
        .sub_(i128::from(amm.net_unsettled_funding_pnl.get()))
}

/// `PerpMarket::get_unrealized_asset_weight`: how much of a position's positive PnL counts as
/// collateral (all of a loss always counts). For initial margin the weight shrinks with the size
/// of the profit (`unrealized_pnl_imf_factor`) and when users as a whole are owed more than
/// `unrealized_pnl_max_imbalance`.
pub fn unrealized_asset_weight(
    market: &PerpMarket,
    pnl: i128,
    margin: MarginType,
) -> MathResult<u32> {
    let mut weight = match margin {
        MarginType::Initial => market.unrealized_pnl_initial_asset_weight.get(),
        MarginType::Maintenance => market.unrealized_pnl_maintenance_asset_weight.get(),
    };
    let max_imbalance = market.unrealized_pnl_max_imbalance.get();
    if weight > 0 && margin == MarginType::Initial && max_imbalance > 0 {
        let net = net_user_pnl(
            market,
            market.amm.historical_oracle_data.last_oracle_price.get(),
        )?;
        if net > i128::from(max_imbalance) {
            weight = cast(
                u128::from(weight)
                    .mul_(u128::from(max_imbalance))?
                    .div_(net.unsigned_abs())?,
            )?;
        }
    }
    if pnl <= 0 {
        return Ok(SPOT_WEIGHT_PRECISION as u32);
    }
    match margin {
        MarginType::Initial if weight > 0 => size_discount_asset_weight(
            pnl.unsigned_abs().mul_(AMM_TO_QUOTE_PRECISION_RATIO)?,
            market.unrealized_pnl_imf_factor.get(),
            weight,
        ),
        MarginType::Initial => Ok(0),
        MarginType::Maintenance => Ok(market.unrealized_pnl_maintenance_asset_weight.get()),
    }
}

/// Whether the market prices a prediction contract.
pub fn is_prediction(market: &PerpMarket) -> bool {
    ContractType::from_u8(market.contract_type) == Some(ContractType::Prediction)
}

/// Whether the market is settling at its expiry price.
pub fn in_settlement(market: &PerpMarket) -> bool {
    MarketStatus::from_u8(market.status) == Some(MarketStatus::Settlement)
}

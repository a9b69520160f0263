//! Spot balances and weights: `math/spot_balance.rs`, `state/spot_market.rs` (weights) and
//! `SpotPosition::get_worst_case_fill_simulation` of the program.

use super::{MarginType, MathError, MathResult, Safe, cast, div_ceil};
use crate::{
    constants::{AMM_RESERVE_PRECISION, SPOT_IMF_PRECISION, SPOT_WEIGHT_PRECISION},
    layout::{SpotMarket, SpotPosition},
    types::SpotBalanceType,
};

/// `get_token_amount`: a scaled balance (`SPOT_BALANCE_PRECISION`) times the market's cumulative
/// deposit or borrow interest (`SPOT_CUMULATIVE_INTEREST_PRECISION`), in the mint's base units.
/// Deposits round down and borrows round up, so interest never flatters the account.
pub fn token_amount(balance: u128, market: &SpotMarket, kind: SpotBalanceType) -> MathResult<u128> {
    let decimals = market.decimals.get();
    // 1e9 (balance) × 1e10 (interest) / 10^decimals.
    let exp = 19u32
        .checked_sub(decimals)
        .ok_or_else(|| MathError::at("decimals > 19"))?;
    let precision_decrease = 10u128
        .checked_pow(exp)
        .ok_or_else(|| MathError::at("pow"))?;
    match kind {
        SpotBalanceType::Deposit => balance
            .mul_(market.cumulative_deposit_interest.get())?
            .div_(precision_decrease),
        SpotBalanceType::Borrow => div_ceil(
            balance.mul_(market.cumulative_borrow_interest.get())?,
            precision_decrease,
        ),
    }
}

/// `get_signed_token_amount`: borrows negative.
pub fn signed_token_amount(amount: u128, kind: SpotBalanceType) -> MathResult<i128> {
    let a: i128 = cast(amount)?;
    Ok(match kind {
        SpotBalanceType::Deposit => a,
        SpotBalanceType::Borrow => -a,
    })
}

/// `get_token_value`: `amount × price / 10^decimals` in `QUOTE_PRECISION`, truncated towards
/// zero as the program's signed division does.
pub fn token_value(amount: i128, decimals: u32, price: i64) -> MathResult<i128> {
    if amount == 0 {
        return Ok(0);
    }
    let precision: i128 = 10i128
        .checked_pow(decimals)
        .ok_or_else(|| MathError::at("pow"))?;
    amount.mul_(i128::from(price))?.div_(precision)
}

/// `StrictOraclePrice`: the current price and, in strict contexts, the 5-minute TWAP, so that
/// assets are valued at the lower and liabilities at the higher of the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrictPrice {
    /// Oracle price (`PRICE_PRECISION`).
    pub current: i64,
    /// The 5-minute TWAP, only in strict contexts.
    pub twap_5min: Option<i64>,
}

impl StrictPrice {
    /// A non-strict price (the standard margin context).
    pub fn standard(current: i64) -> Self {
        Self {
            current,
            twap_5min: None,
        }
    }

    /// The higher of current and TWAP.
    pub fn max(&self) -> i64 {
        self.twap_5min.map_or(self.current, |t| t.max(self.current))
    }

    /// The lower of current and TWAP.
    pub fn min(&self) -> i64 {
        self.twap_5min.map_or(self.current, |t| t.min(self.current))
    }
}

/// `get_strict_token_value`: liabilities at the higher price, assets at the lower.
pub fn strict_token_value(amount: i128, decimals: u32, price: &StrictPrice) -> MathResult<i128> {
    let p = if amount < 0 { price.max() } else { price.min() };
    token_value(amount, decimals, p)
}

/// `calculate_size_premium_liability_weight` (bounded): weights grow with `sqrt(size)` ×
/// `imf_factor`, never below the configured weight. `size` in `AMM_RESERVE_PRECISION`.
pub fn size_premium_liability_weight(
    size: u128,
    imf_factor: u32,
    weight: u32,
    precision: u128,
) -> MathResult<u32> {
    if imf_factor == 0 {
        return Ok(weight);
    }
    // 1e9 → 1e10 → sqrt → 1e5
    let size_sqrt = size.mul_(10)?.add_(1)?.isqrt();
    let w = u128::from(weight);
    let numerator = w.sub_(w.div_(5)?)?;
    let premium = numerator.add_(
        size_sqrt
            .mul_(u128::from(imf_factor))?
            .div_(100_000u128.mul_(SPOT_IMF_PRECISION)?.div_(precision)?)?,
    )?;
    Ok(weight.max(cast(premium)?))
}

/// `calculate_size_discount_asset_weight`: asset weights shrink with `sqrt(size)` ×
/// `imf_factor`, never above the configured weight.
pub fn size_discount_asset_weight(size: u128, imf_factor: u32, weight: u32) -> MathResult<u32> {
    if imf_factor == 0 {
        return Ok(weight);
    }
    let size_sqrt = size.mul_(10)?.add_(1)?.isqrt();
    let imf_numerator = SPOT_IMF_PRECISION + SPOT_IMF_PRECISION / 10;
    let discounted = imf_numerator
        .mul_(SPOT_WEIGHT_PRECISION)?
        .div_(SPOT_IMF_PRECISION.add_(size_sqrt.mul_(u128::from(imf_factor))?.div_(100_000)?)?)?;
    Ok(weight.min(cast(discounted)?))
}

/// A token amount in `AMM_RESERVE_PRECISION`, the unit of the size premium.
fn size_in_amm_precision(size: u128, decimals: u32) -> MathResult<u128> {
    let size_precision = 10u128
        .checked_pow(decimals)
        .ok_or_else(|| MathError::at("pow"))?;
    if size_precision > AMM_RESERVE_PRECISION {
        size.div_(size_precision.div_(AMM_RESERVE_PRECISION)?)
    } else {
        size.mul_(AMM_RESERVE_PRECISION)?.div_(size_precision)
    }
}

/// `SpotMarket::get_scaled_initial_asset_weight`: above `scale_initial_asset_weight_start` of
/// total deposits (USD), the initial weight is scaled down in proportion.
pub fn scaled_initial_asset_weight(market: &SpotMarket, price: i64) -> MathResult<u32> {
    let start = market.scale_initial_asset_weight_start.get();
    let weight = market.initial_asset_weight.get();
    if start == 0 {
        return Ok(weight);
    }
    let deposits = token_amount(
        market.deposit_balance.get(),
        market,
        SpotBalanceType::Deposit,
    )?;
    let deposits_value: u128 =
        cast(token_value(cast(deposits)?, market.decimals.get(), price)?.max(0))?;
    if deposits_value < u128::from(start) {
        Ok(weight)
    } else {
        cast(
            u128::from(weight)
                .mul_(u128::from(start))?
                .div_(deposits_value)?,
        )
    }
}

/// `SpotMarket::get_asset_weight`.
pub fn asset_weight(
    market: &SpotMarket,
    size: u128,
    price: i64,
    margin: MarginType,
) -> MathResult<u32> {
    let size = size_in_amm_precision(size, market.decimals.get())?;
    let imf = market.imf_factor.get();
    match margin {
        MarginType::Initial => {
            size_discount_asset_weight(size, imf, scaled_initial_asset_weight(market, price)?)
        }
        MarginType::Maintenance => {
            size_discount_asset_weight(size, imf, market.maintenance_asset_weight.get())
        }
    }
}

/// `SpotMarket::get_liability_weight`.
pub fn liability_weight(market: &SpotMarket, size: u128, margin: MarginType) -> MathResult<u32> {
    let size = size_in_amm_precision(size, market.decimals.get())?;
    let default = match margin {
        MarginType::Initial => market.initial_liability_weight.get(),
        MarginType::Maintenance => market.maintenance_liability_weight.get(),
    };
    Ok(size_premium_liability_weight(
        size,
        market.imf_factor.get(),
        default,
        SPOT_WEIGHT_PRECISION,
    )?
    .max(default))
}

/// `OrderFillSimulation`: a spot position as if all its open bids (or all its asks) had filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FillSimulation {
    /// Signed token amount after the fills (base units).
    pub token_amount: i128,
    /// Quote value paid (negative) or received (positive) for the fills.
    pub orders_value: i128,
    /// Signed value of the token amount (`QUOTE_PRECISION`).
    pub token_value: i128,
    /// `token_value` × asset or liability weight.
    pub weighted_token_value: i128,
    /// `weighted_token_value + orders_value`: the side with the lower one is the riskier.
    pub free_collateral_contribution: i128,
    /// The weight applied (`SPOT_WEIGHT_PRECISION`): asset weight for positive values, liability
    /// weight for negative ones.
    pub weight: u32,
}

/// `SpotPosition::get_worst_case_fill_simulation`: the riskier of "all bids fill" and "all asks
/// fill" (the position itself when it has no open orders).
pub fn worst_case_fill(
    position: &SpotPosition,
    market: &SpotMarket,
    price: &StrictPrice,
    token_amount: i128,
    margin: MarginType,
) -> MathResult<FillSimulation> {
    let decimals = market.decimals.get();
    let value_now = strict_token_value(token_amount, decimals, price)?;
    let weighted = |amount: i128, value: i128| -> MathResult<(i128, u32)> {
        if value > 0 {
            let w = asset_weight(market, amount.unsigned_abs(), price.current, margin)?;
            Ok((
                value
                    .mul_(i128::from(w))?
                    .div_(SPOT_WEIGHT_PRECISION as i128)?,
                w,
            ))
        } else if value < 0 {
            let w = liability_weight(market, amount.unsigned_abs(), margin)?;
            Ok((
                value
                    .mul_(i128::from(w))?
                    .div_(SPOT_WEIGHT_PRECISION as i128)?,
                w,
            ))
        } else {
            Ok((0, 0))
        }
    };
    let (open_bids, open_asks) = (
        i128::from(position.open_bids.get()),
        i128::from(position.open_asks.get()),
    );
    if open_bids == 0 && open_asks == 0 {
        let (weighted_token_value, weight) = weighted(token_amount, value_now)?;
        return Ok(FillSimulation {
            token_amount,
            orders_value: 0,
            token_value: value_now,
            weighted_token_value,
            free_collateral_contribution: weighted_token_value,
            weight,
        });
    }
    let side = |open: i128| -> MathResult<FillSimulation> {
        // Buying `open` tokens costs `open × price` of quote (negative orders value).
        let orders_value = token_value(
            open.checked_neg().ok_or_else(|| MathError::at("neg"))?,
            decimals,
            price.max(),
        )?;
        let amount = token_amount.add_(open)?;
        let value = value_now.sub_(orders_value)?;
        let (weighted_token_value, weight) = weighted(amount, value)?;
        Ok(FillSimulation {
            token_amount: amount,
            orders_value,
            token_value: value,
            weighted_token_value,
            free_collateral_contribution: weighted_token_value.add_(orders_value)?,
            weight,
        })
    };
    let bids = side(open_bids)?;
    let asks = side(open_asks)?;
    // `riskier_side(ask, bid)`: ties go to the ask side.
    Ok(
        if asks.free_collateral_contribution <= bids.free_collateral_contribution {
            asks
        } else {
            bids
        },
    )
}

/// `OrderFillSimulation::apply_user_custom_margin_ratio`: a user's own stricter initial margin
/// ratio caps asset weights at `1 − ratio` and raises liability weights to `1 + ratio`.
pub fn apply_custom_margin_ratio(
    mut sim: FillSimulation,
    market: &SpotMarket,
    price: i64,
    ratio: u32,
) -> MathResult<FillSimulation> {
    if ratio == 0 {
        return Ok(sim);
    }
    let precision = SPOT_WEIGHT_PRECISION as u32;
    if sim.weighted_token_value < 0 {
        let w = liability_weight(market, sim.token_amount.unsigned_abs(), MarginType::Initial)?
            .max(
                ratio
                    .checked_add(precision)
                    .ok_or_else(|| MathError::at("add"))?,
            );
        sim.weighted_token_value = sim
            .token_value
            .mul_(i128::from(w))?
            .div_(SPOT_WEIGHT_PRECISION as i128)?;
        sim.weight = w;
    } else if sim.weighted_token_value > 0 {
        let w = asset_weight(
            market,
            sim.token_amount.unsigned_abs(),
            price,
            MarginType::Initial,
        )?
        .min(precision.saturating_sub(ratio));
        sim.weighted_token_value = sim
            .token_value
            .mul_(i128::from(w))?
            .div_(SPOT_WEIGHT_PRECISION as i128)?;
        sim.weight = w;
    }
    sim.free_collateral_contribution = sim.weighted_token_value.add_(sim.orders_value)?;
    Ok(sim)
}

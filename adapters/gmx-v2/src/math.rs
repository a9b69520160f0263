//! GMX v2's integer arithmetic, reproduced: USD values carry 30 decimals (`FLOAT_PRECISION`), a
//! price is USD per token base unit with 30 decimals, factors are fractions with 30 decimals.
//!
//! Each function names the GMX function it mirrors (gmx-synthetics `PositionUtils`,
//! `PositionPricingUtils`, `MarketUtils`, `Precision`, `Oracle`), including its rounding: GMX rounds
//! every value against the trader, and a reproduction that rounds differently disagrees by a unit.

use alloy::primitives::{I256, U256, U512, uint};
use unimargin_schema::{Decimal, Health};
use unimargin_sdk::{AdapterError, Result};

#[cfg(test)]
mod tests;

/// `Precision.FLOAT_PRECISION`: 10^30.
pub const FLOAT_PRECISION: U256 = uint!(1_000_000_000_000_000_000_000_000_000_000_U256);
/// `Precision.FLOAT_PRECISION_SQRT`: 10^15 (funding amounts per size carry it).
pub const FLOAT_PRECISION_SQRT: U256 = uint!(1_000_000_000_000_000_U256);

fn overflow(what: &str) -> AdapterError {
    AdapterError::OutOfRange {
        what: format!("gmx-v2 {what}"),
        value: "overflows 256 bits".into(),
    }
}

/// 10^n.
pub fn pow10(n: u32) -> U256 {
    U256::from(10u8).pow(U256::from(n))
}

/// `a × b / c`, rounded down, with a 512-bit intermediate (OpenZeppelin `Math.mulDiv`).
pub fn mul_div(a: U256, b: U256, c: U256) -> Result<U256> {
    if c.is_zero() {
        return Err(AdapterError::malformed(
            "gmx-v2 arithmetic",
            "division by zero",
        ));
    }
    let q = U512::from(a) * U512::from(b) / U512::from(c);
    U256::checked_from_limbs_slice(q.as_limbs()).ok_or_else(|| overflow("mulDiv"))
}

/// `a × b / c`, rounded up.
pub fn mul_div_up(a: U256, b: U256, c: U256) -> Result<U256> {
    if c.is_zero() {
        return Err(AdapterError::malformed(
            "gmx-v2 arithmetic",
            "division by zero",
        ));
    }
    let p = U512::from(a) * U512::from(b);
    let c = U512::from(c);
    let q = p.div_ceil(c);
    U256::checked_from_limbs_slice(q.as_limbs()).ok_or_else(|| overflow("mulDiv"))
}

/// `Precision.applyFactor`: `value × factor / 1e30`, rounded down.
pub fn apply_factor(value: U256, factor: U256) -> Result<U256> {
    mul_div(value, factor, FLOAT_PRECISION)
}

/// `SafeCast.toInt256`.
pub fn signed(v: U256) -> Result<I256> {
    I256::try_from(v).map_err(|_| overflow("toInt256"))
}

fn checked_mul(a: U256, b: U256, what: &str) -> Result<U256> {
    a.checked_mul(b).ok_or_else(|| overflow(what))
}

/// A min/max price pair (`Price.Props`), USD per base unit with 30 decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenPrice {
    /// Lower price.
    pub min: U256,
    /// Higher price.
    pub max: U256,
}

impl TokenPrice {
    /// `Price.pickPriceForPnl`: the price least favourable to the trader unless `maximize`.
    pub fn for_pnl(self, is_long: bool, maximize: bool) -> U256 {
        match (is_long, maximize) {
            (true, true) | (false, false) => self.max,
            (true, false) | (false, true) => self.min,
        }
    }
}

/// Why a reference feed gives no usable price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedPriceError {
    /// `answer ≤ 0` (`Errors.InvalidFeedPrice`).
    NonPositiveAnswer,
    /// A zero multiplier makes every price zero.
    ZeroMultiplier,
}

/// GMX's price of a token from its reference Chainlink feed (`ChainlinkPriceFeedUtils` and
/// `Oracle`): `answer × PRICE_FEED_MULTIPLIER / 1e30` per base unit, widened to the token's
/// `STABLE_PRICE` when one is set (min = the lower of the two, max = the higher).
pub fn feed_price(
    answer: I256,
    multiplier: U256,
    stable_price: U256,
) -> Result<TokenPrice, FeedPriceError> {
    if answer <= I256::ZERO {
        return Err(FeedPriceError::NonPositiveAnswer);
    }
    if multiplier.is_zero() {
        return Err(FeedPriceError::ZeroMultiplier);
    }
    let price = mul_div(answer.into_raw(), multiplier, FLOAT_PRECISION)
        .map_err(|_| FeedPriceError::ZeroMultiplier)?;
    if price.is_zero() {
        return Err(FeedPriceError::ZeroMultiplier);
    }
    Ok(if stable_price.is_zero() {
        TokenPrice {
            min: price,
            max: price,
        }
    } else {
        TokenPrice {
            min: price.min(stable_price),
            max: price.max(stable_price),
        }
    })
}

/// One side's open interest and pool, as `MarketUtils` reads it (already divided by the pool
/// divisor: 2 when the long and short token are the same, 1 otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SideState {
    /// `getOpenInterest(market, isLong)` (USD, 30 decimals).
    pub open_interest: U256,
    /// `getOpenInterestInTokens(market, isLong)` (index token base units).
    pub open_interest_in_tokens: U256,
    /// `getPoolAmount(market, pnlToken)`: the long token for longs, the short token for shorts.
    pub pool_amount: U256,
    /// `MAX_PNL_FACTOR_FOR_TRADERS` of the side.
    pub max_pnl_factor_for_traders: U256,
}

/// `MarketUtils.getPnl(..., maximize = true)`: the PnL of all open positions of one side.
fn pool_pnl(side: &SideState, index: TokenPrice, is_long: bool) -> Result<I256> {
    if side.open_interest.is_zero() || side.open_interest_in_tokens.is_zero() {
        return Ok(I256::ZERO);
    }
    let value = signed(checked_mul(
        side.open_interest_in_tokens,
        index.for_pnl(is_long, true),
        "open interest value",
    )?)?;
    let oi = signed(side.open_interest)?;
    Ok(if is_long { value - oi } else { oi - value })
}

/// `PositionUtils.getPositionPnlUsd` for closing the whole position: (PnL, uncapped PnL).
///
/// The position is valued at the price least favourable to it; a profit is scaled down when the
/// side's total profit exceeds `MAX_PNL_FACTOR_FOR_TRADERS` of the pool (`getCappedPnl`).
pub fn position_pnl(
    size_in_usd: U256,
    size_in_tokens: U256,
    is_long: bool,
    index: TokenPrice,
    pool_token_price_min: U256,
    side: &SideState,
) -> Result<(I256, I256)> {
    let value = signed(checked_mul(
        size_in_tokens,
        index.for_pnl(is_long, false),
        "position value",
    )?)?;
    let size = signed(size_in_usd)?;
    let uncapped = if is_long { value - size } else { size - value };
    let mut total = uncapped;
    if total > I256::ZERO {
        let pool_usd = checked_mul(side.pool_amount, pool_token_price_min, "pool value")?;
        let pool_pnl = pool_pnl(side, index, is_long)?;
        let capped_pool_pnl = if pool_pnl < I256::ZERO {
            pool_pnl
        } else {
            let max_pnl = signed(apply_factor(pool_usd, side.max_pnl_factor_for_traders)?)?;
            pool_pnl.min(max_pnl)
        };
        if capped_pool_pnl != pool_pnl && capped_pool_pnl > I256::ZERO && pool_pnl > I256::ZERO {
            // Precision.mulDiv(uint, int, uint): the magnitude rounded down, then signed.
            total = signed(mul_div(
                total.into_raw(),
                capped_pool_pnl.into_raw(),
                pool_pnl.into_raw(),
            )?)?;
        }
    }
    Ok((total, uncapped))
}

/// The USD value of a position's pending price impact (index token base units, signed) on a full
/// close: a gain at the low price, a cost at the high one.
pub fn pending_impact_usd(amount: I256, index: TokenPrice) -> Result<I256> {
    let price = signed(if amount > I256::ZERO {
        index.min
    } else {
        index.max
    })?;
    amount
        .checked_mul(price)
        .ok_or_else(|| overflow("pending impact"))
}

/// The price impact `isPositionLiquidatable` charges: the closing impact (GMX's curve, capped for
/// gains) plus the pending impact; a gain counts as zero and a cost is capped at
/// `MAX_POSITION_IMPACT_FACTOR_FOR_LIQUIDATIONS` of the size.
pub fn liquidation_impact(
    closing_impact_usd: I256,
    pending_impact_usd: I256,
    size_in_usd: U256,
    max_factor_for_liquidations: U256,
) -> Result<I256> {
    let impact = closing_impact_usd + pending_impact_usd;
    if impact >= I256::ZERO {
        return Ok(I256::ZERO);
    }
    let floor = -signed(apply_factor(size_in_usd, max_factor_for_liquidations)?)?;
    Ok(impact.max(floor))
}

/// `MarketUtils.getBorrowingFees`: `sizeInUsd × (cumulative − position's factor) / 1e30` USD.
pub fn borrowing_fee_usd(
    size_in_usd: U256,
    cumulative_factor: U256,
    position_factor: U256,
) -> Result<U256> {
    let diff = cumulative_factor.checked_sub(position_factor).ok_or_else(|| {
        AdapterError::malformed(
            "gmx-v2 borrowing state",
            format!("position borrowing factor {position_factor} exceeds the cumulative factor {cumulative_factor}"),
        )
    })?;
    apply_factor(size_in_usd, diff)
}

/// `MarketUtils.getFundingAmount(..., roundUpMagnitude = true)`: the funding a position owes, in
/// collateral token base units (per-size values carry `FLOAT_PRECISION_SQRT`).
pub fn funding_fee_amount(
    latest_per_size: U256,
    position_per_size: U256,
    size_in_usd: U256,
) -> Result<U256> {
    let diff = latest_per_size.checked_sub(position_per_size).ok_or_else(|| {
        AdapterError::malformed(
            "gmx-v2 funding state",
            format!("position funding per size {position_per_size} exceeds the market's {latest_per_size}"),
        )
    })?;
    mul_div_up(
        size_in_usd,
        diff,
        checked_mul(FLOAT_PRECISION, FLOAT_PRECISION_SQRT, "funding precision")?,
    )
}

/// The closing fee of the whole position in collateral token base units
/// (`PositionPricingUtils.getPositionFees`: `applyFactor(size, POSITION_FEE_FACTOR) / price.min`).
pub fn position_fee_amount(
    size_in_usd: U256,
    fee_factor: U256,
    collateral_price_min: U256,
) -> Result<U256> {
    if collateral_price_min.is_zero() {
        return Err(AdapterError::malformed("gmx-v2 collateral price", "zero"));
    }
    Ok(apply_factor(size_in_usd, fee_factor)? / collateral_price_min)
}

/// Inputs of GMX's liquidation rule for one position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiquidationInputs {
    /// `sizeInUsd`.
    pub size_in_usd: U256,
    /// `collateralAmount` (collateral token base units).
    pub collateral_amount: U256,
    /// Price of the collateral token.
    pub collateral_price: TokenPrice,
    /// PnL of closing the position (capped).
    pub pnl_usd: I256,
    /// Price impact as [`liquidation_impact`] charges it.
    pub impact_usd: I256,
    /// Total cost of closing in collateral token base units (fees − discounts + funding).
    pub total_cost_amount: U256,
    /// `MIN_COLLATERAL_USD`.
    pub min_collateral_usd: U256,
    /// `MIN_COLLATERAL_FACTOR_FOR_LIQUIDATION` of the market.
    pub min_collateral_factor: U256,
}

/// GMX's liquidation verdict and the figures behind it (`IsPositionLiquidatableInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiquidationFigures {
    /// Collateral + PnL + impact − costs (USD, 30 decimals).
    pub remaining_collateral_usd: I256,
    /// `MIN_COLLATERAL_USD`.
    pub min_collateral_usd: I256,
    /// `applyFactor(size, minCollateralFactor)`.
    pub min_collateral_usd_for_leverage: I256,
    /// Whether GMX may liquidate.
    pub liquidatable: bool,
    /// GMX's reason string (empty when not liquidatable).
    pub reason: &'static str,
}

impl LiquidationFigures {
    /// The collateral the position must keep: the larger of the two minimums.
    pub fn required_usd(&self) -> I256 {
        self.min_collateral_usd
            .max(self.min_collateral_usd_for_leverage)
    }

    /// Remaining ÷ required; below 1 exactly when GMX may liquidate.
    pub fn ratio(&self) -> Health {
        ratio(self.remaining_collateral_usd, self.required_usd())
    }
}

/// `PositionUtils.isPositionLiquidatable(..., shouldValidateMinCollateralUsd = true,
/// forLiquidation = true)`.
pub fn liquidation(i: &LiquidationInputs) -> Result<LiquidationFigures> {
    let collateral_usd = signed(checked_mul(
        i.collateral_amount,
        i.collateral_price.min,
        "collateral value",
    )?)?;
    let cost_usd = signed(checked_mul(
        i.total_cost_amount,
        i.collateral_price.min,
        "cost value",
    )?)?;
    let remaining = collateral_usd + i.pnl_usd + i.impact_usd - cost_usd;
    let min_usd = signed(i.min_collateral_usd)?;
    let min_leverage = signed(apply_factor(i.size_in_usd, i.min_collateral_factor)?)?;
    let reason = if remaining < min_usd {
        "min collateral"
    } else if remaining <= I256::ZERO {
        "< 0"
    } else if remaining < min_leverage {
        "min collateral for leverage"
    } else {
        ""
    };
    Ok(LiquidationFigures {
        remaining_collateral_usd: remaining,
        min_collateral_usd: min_usd,
        min_collateral_usd_for_leverage: min_leverage,
        liquidatable: !reason.is_empty(),
        reason,
    })
}

/// Remaining ÷ required collateral as a health ratio, rounded down at 18 decimals: zero when
/// nothing remains, infinite when nothing is required, below 1 exactly when `remaining <
/// required`. Ratios beyond 10^10 are reported as 10^10 (far beyond any liquidation).
pub fn ratio(remaining: I256, required: I256) -> Health {
    if remaining <= I256::ZERO {
        return Health::Finite(Decimal::ZERO);
    }
    if required <= I256::ZERO {
        return Health::Infinite;
    }
    let cap = pow10(28);
    let scaled = mul_div(remaining.into_raw(), pow10(18), required.into_raw())
        .unwrap_or(cap)
        .min(cap);
    let mantissa = i128::try_from(scaled).unwrap_or(i128::MAX);
    Health::Finite(Decimal::from_i128_with_scale(mantissa, 18).normalize())
}

/// The index price (USD per base unit, 30 decimals) at which [`liquidation`]'s remaining
/// collateral meets the requirement, holding fees and the price impact at their current values.
///
/// With `collateral_is_index` the collateral is the index token and its value moves with the
/// price (a coin-margined position). `None` when no positive price solves the equation (the
/// position cannot be liquidated by the index price alone). Rounded towards the current price
/// (up for longs, down for shorts), so the reported level is reached no later than the true one.
pub fn liquidation_price(
    i: &LiquidationInputs,
    size_in_tokens: U256,
    is_long: bool,
    collateral_is_index: bool,
) -> Result<Option<U256>> {
    let required = signed(
        i.min_collateral_usd
            .max(apply_factor(i.size_in_usd, i.min_collateral_factor)?),
    )?;
    let size = signed(i.size_in_usd)?;
    let tokens = signed(size_in_tokens)?;
    let net_collateral = signed(i.collateral_amount)? - signed(i.total_cost_amount)?;
    let (numerator, denominator) = if collateral_is_index {
        if is_long {
            // tokens·P − size + net·P + impact = required
            (required + size - i.impact_usd, tokens + net_collateral)
        } else {
            // size − tokens·P + net·P + impact = required
            (required - size - i.impact_usd, net_collateral - tokens)
        }
    } else {
        let collateral_usd = net_collateral
            .checked_mul(signed(i.collateral_price.min)?)
            .ok_or_else(|| overflow("collateral value"))?;
        if is_long {
            // tokens·P − size + collateral + impact = required
            (required + size - collateral_usd - i.impact_usd, tokens)
        } else {
            // size − tokens·P + collateral + impact = required
            (size + collateral_usd + i.impact_usd - required, tokens)
        }
    };
    if denominator.is_zero() {
        return Ok(None);
    }
    let (n, d) = if denominator < I256::ZERO {
        (-numerator, -denominator)
    } else {
        (numerator, denominator)
    };
    if n <= I256::ZERO {
        return Ok(None);
    }
    let (n, d) = (n.into_raw(), d.into_raw());
    let price = if is_long { n.div_ceil(d) } else { n / d };
    Ok((!price.is_zero()).then_some(price))
}

//! Comet's integer arithmetic (CometCore, CometMath and the Comet contract's helpers), reproduced
//! with the same truncations so that what we compute equals what the contract computes, to the
//! last unit. Where Solidity would revert (checked overflow, `safe64`), these return an error.

use alloy::primitives::U256;
use unimargin_sdk::AdapterError;

/// `FACTOR_SCALE`: collateral factors, utilization and per-second rates are 1e18-scaled.
pub(crate) const FACTOR_SCALE: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);
/// `PRICE_SCALE`: `getPrice` answers with 8 decimals (`PRICE_FEED_DECIMALS`).
pub(crate) const PRICE_DECIMALS: u32 = 8;
/// `BASE_INDEX_SCALE`: the supply and borrow indices are 1e15-scaled.
pub(crate) const BASE_INDEX_SCALE: U256 = U256::from_limbs([1_000_000_000_000_000, 0, 0, 0]);
/// Decimals of the liquidation ratio we publish (a wad, floored).
pub(crate) const RATIO_DECIMALS: u32 = 18;

fn overflow(what: &str) -> AdapterError {
    AdapterError::OutOfRange {
        what: format!("comet math: {what}"),
        value: "overflows uint256".into(),
    }
}

fn mul(a: U256, b: U256, what: &str) -> Result<U256, AdapterError> {
    a.checked_mul(b).ok_or_else(|| overflow(what))
}

fn add(a: U256, b: U256, what: &str) -> Result<U256, AdapterError> {
    a.checked_add(b).ok_or_else(|| overflow(what))
}

/// `safe64`: Comet reverts with `InvalidUInt64` above `type(uint64).max`.
fn safe64(n: U256, what: &str) -> Result<U256, AdapterError> {
    if n > U256::from(u64::MAX) {
        return Err(AdapterError::OutOfRange {
            what: format!("comet math: {what}"),
            value: n.to_string(),
        });
    }
    Ok(n)
}

/// `mulFactor(n, factor) = n * factor / FACTOR_SCALE`, truncated.
pub(crate) fn mul_factor(n: U256, factor: U256) -> Result<U256, AdapterError> {
    Ok(mul(n, factor, "mulFactor")? / FACTOR_SCALE)
}

/// `mulPrice(n, price, fromScale) = n * price / fromScale`, truncated: an amount in `fromScale`
/// units valued in `PRICE_SCALE` units. `signedMulPrice` of a negative balance truncates towards
/// zero, which is this applied to the magnitude.
pub(crate) fn mul_price(n: U256, price: U256, from_scale: U256) -> Result<U256, AdapterError> {
    if from_scale.is_zero() {
        return Err(AdapterError::malformed("comet scale", "zero"));
    }
    Ok(mul(n, price, "mulPrice")? / from_scale)
}

/// `presentValueSupply` / `presentValueBorrow`: `principal * index / BASE_INDEX_SCALE`, truncated
/// (Comet truncates borrows too).
pub(crate) fn present_value(index: U256, principal: U256) -> Result<U256, AdapterError> {
    Ok(mul(principal, index, "presentValue")? / BASE_INDEX_SCALE)
}

/// The interest-rate model of one side (supply or borrow), per second, 1e18-scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateCurve {
    /// Utilization at which the slope changes.
    pub kink: U256,
    /// Slope below the kink.
    pub slope_low: U256,
    /// Slope above the kink.
    pub slope_high: U256,
    /// Rate at zero utilization.
    pub base: U256,
}

impl RateCurve {
    /// `getSupplyRate` / `getBorrowRate`.
    pub(crate) fn rate(&self, utilization: U256) -> Result<U256, AdapterError> {
        let rate = if utilization <= self.kink {
            add(self.base, mul_factor(self.slope_low, utilization)?, "rate")?
        } else {
            let low = mul_factor(self.slope_low, self.kink)?;
            let high = mul_factor(self.slope_high, utilization - self.kink)?;
            add(add(self.base, low, "rate")?, high, "rate")?
        };
        safe64(rate, "rate")
    }
}

/// `getUtilization`: total borrows over total supplies, both at the stored indices.
pub(crate) fn utilization(
    supply_index: U256,
    borrow_index: U256,
    total_supply_base: U256,
    total_borrow_base: U256,
) -> Result<U256, AdapterError> {
    let total_supply = present_value(supply_index, total_supply_base)?;
    let total_borrow = present_value(borrow_index, total_borrow_base)?;
    if total_supply.is_zero() {
        Ok(U256::ZERO)
    } else {
        Ok(mul(total_borrow, FACTOR_SCALE, "getUtilization")? / total_supply)
    }
}

/// `accruedInterestIndices(timeElapsed)`: each index grows by `index * rate * timeElapsed`,
/// truncated, with the rates taken at the stored utilization.
pub(crate) fn accrued_index(
    index: U256,
    rate: U256,
    time_elapsed: u64,
) -> Result<U256, AdapterError> {
    if time_elapsed == 0 {
        return Ok(index);
    }
    let growth = safe64(
        mul_factor(
            index,
            mul(rate, U256::from(time_elapsed), "rate * timeElapsed")?,
        )?,
        "index growth",
    )?;
    // `baseSupplyIndex_ += ...` is a checked uint64 addition.
    safe64(add(index, growth, "index")?, "accrued index")
}

/// Whether bit `offset` of the account's collateral set is on: `assetsIn` holds offsets 0-15 and
/// `_reserved` offsets 16-23 (CometWithExtendedAssetList `isInAsset`).
pub(crate) fn is_in_asset(assets_in: u16, reserved: u8, offset: u8) -> bool {
    match offset {
        0..16 => assets_in & (1u16 << offset) != 0,
        16..24 => reserved & (1u8 << (offset - 16)) != 0,
        _ => false,
    }
}

/// `numerator / denominator` as a wad, floored, so `ratio < 1e18` exactly when
/// `numerator < denominator`.
pub(crate) fn ratio_wad(numerator: U256, denominator: U256) -> Result<U256, AdapterError> {
    if denominator.is_zero() {
        return Err(AdapterError::malformed(
            "liquidation ratio",
            "zero denominator",
        ));
    }
    Ok(mul(numerator, FACTOR_SCALE, "ratio")? / denominator)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

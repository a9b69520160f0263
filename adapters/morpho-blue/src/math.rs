//! Morpho Blue's integer arithmetic (`MathLib`, `SharesMathLib`, `_accrueInterest`, `_isHealthy`
//! of morpho-blue v1.0.0), reproduced bit for bit so that balances and the health verdict we
//! compute equal the ones the contract computes in a transaction at the same block.
//!
//! Every operation is checked: Morpho reverts on overflow, and so do we (with a typed error).

use alloy::primitives::U256;
use unimargin_sdk::AdapterError;

/// 1e18: LLTVs, fees and per-second rates are WAD fractions.
pub const WAD: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);
/// Virtual shares added to every market's share totals (`SharesMathLib.VIRTUAL_SHARES`).
pub const VIRTUAL_SHARES: U256 = U256::from_limbs([1_000_000, 0, 0, 0]);
/// Virtual assets added to every market's asset totals (`SharesMathLib.VIRTUAL_ASSETS`).
pub const VIRTUAL_ASSETS: U256 = U256::from_limbs([1, 0, 0, 0]);

/// 1e36, the scale of oracle prices (`ORACLE_PRICE_SCALE`).
pub fn oracle_price_scale() -> U256 {
    U256::from(10u8).pow(U256::from(36u8))
}

fn overflow(what: &str) -> AdapterError {
    AdapterError::OutOfRange {
        what: format!("morpho math: {what}"),
        value: "overflows uint256".into(),
    }
}

fn mul(x: U256, y: U256, what: &str) -> Result<U256, AdapterError> {
    x.checked_mul(y).ok_or_else(|| overflow(what))
}

fn add(x: U256, y: U256, what: &str) -> Result<U256, AdapterError> {
    x.checked_add(y).ok_or_else(|| overflow(what))
}

/// `(x * y) / d`, rounded down.
pub fn mul_div_down(x: U256, y: U256, d: U256) -> Result<U256, AdapterError> {
    if d.is_zero() {
        return Err(overflow("mulDivDown by zero"));
    }
    Ok(mul(x, y, "mulDivDown")? / d)
}

/// `(x * y + (d - 1)) / d`, rounded up.
pub fn mul_div_up(x: U256, y: U256, d: U256) -> Result<U256, AdapterError> {
    if d.is_zero() {
        return Err(overflow("mulDivUp by zero"));
    }
    Ok(add(mul(x, y, "mulDivUp")?, d - U256::from(1u8), "mulDivUp")? / d)
}

/// `x * y / WAD`, rounded down.
pub fn w_mul_down(x: U256, y: U256) -> Result<U256, AdapterError> {
    mul_div_down(x, y, WAD)
}

/// `e^(x·n) − 1` by its third-order Taylor expansion: how Morpho compounds the per-second rate
/// `x` (WAD) over `n` seconds.
pub fn w_taylor_compounded(x: U256, n: u64) -> Result<U256, AdapterError> {
    let first = mul(x, U256::from(n), "wTaylorCompounded")?;
    let second = mul_div_down(first, first, WAD * U256::from(2u8))?;
    let third = mul_div_down(second, first, WAD * U256::from(3u8))?;
    add(
        add(first, second, "wTaylorCompounded")?,
        third,
        "wTaylorCompounded",
    )
}

/// `SharesMathLib.toSharesDown`.
pub fn to_shares_down(
    assets: U256,
    total_assets: U256,
    total_shares: U256,
) -> Result<U256, AdapterError> {
    mul_div_down(
        assets,
        add(total_shares, VIRTUAL_SHARES, "shares")?,
        add(total_assets, VIRTUAL_ASSETS, "assets")?,
    )
}

/// `SharesMathLib.toAssetsDown`: what supply shares are worth (never overstates an asset).
pub fn to_assets_down(
    shares: U256,
    total_assets: U256,
    total_shares: U256,
) -> Result<U256, AdapterError> {
    mul_div_down(
        shares,
        add(total_assets, VIRTUAL_ASSETS, "assets")?,
        add(total_shares, VIRTUAL_SHARES, "shares")?,
    )
}

/// `SharesMathLib.toAssetsUp`: what borrow shares owe (never understates a debt).
pub fn to_assets_up(
    shares: U256,
    total_assets: U256,
    total_shares: U256,
) -> Result<U256, AdapterError> {
    mul_div_up(
        shares,
        add(total_assets, VIRTUAL_ASSETS, "assets")?,
        add(total_shares, VIRTUAL_SHARES, "shares")?,
    )
}

/// A market's totals (Morpho's `Market` without `lastUpdate` and `fee`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Supplied loan-token units, interest included.
    pub supply_assets: U256,
    /// Supply shares.
    pub supply_shares: U256,
    /// Borrowed loan-token units, interest included.
    pub borrow_assets: U256,
    /// Borrow shares.
    pub borrow_shares: U256,
}

/// The stored market state accrued to a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accrual {
    /// Totals after accrual.
    pub totals: Totals,
    /// Seconds since the market's `lastUpdate`.
    pub elapsed: u64,
    /// The per-second rate used (WAD), when interest accrued.
    pub borrow_rate: Option<U256>,
    /// Interest added to both borrow and supply assets.
    pub interest: U256,
    /// Supply shares minted to the fee recipient.
    pub fee_shares: U256,
}

/// Whether accruing `stored` from `last_update` to `now` needs the IRM's rate: not when no time
/// passed, nothing is borrowed or the market has no IRM (interest would be zero).
pub fn needs_rate(stored: &Totals, last_update: u64, irm_set: bool, now: u64) -> bool {
    now > last_update && irm_set && !stored.borrow_assets.is_zero()
}

/// Morpho's `_accrueInterest` (and `MorphoBalancesLib.expectedMarketBalances`) without storage:
/// `interest = totalBorrowAssets.wMulDown(rate.wTaylorCompounded(elapsed))`, added to both
/// totals; the fee share of it is minted as supply shares priced at the supply before the fee.
pub fn accrue(
    stored: Totals,
    last_update: u64,
    fee: U256,
    irm_set: bool,
    rate: Option<U256>,
    now: u64,
) -> Result<Accrual, AdapterError> {
    let elapsed = now
        .checked_sub(last_update)
        .ok_or_else(|| AdapterError::OutOfRange {
            what: "market lastUpdate".into(),
            value: format!("{last_update} is after the read block's timestamp {now}"),
        })?;
    if !needs_rate(&stored, last_update, irm_set, now) {
        return Ok(Accrual {
            totals: stored,
            elapsed,
            borrow_rate: None,
            interest: U256::ZERO,
            fee_shares: U256::ZERO,
        });
    }
    let rate = rate.ok_or_else(|| {
        AdapterError::malformed(
            "borrowRateView",
            "no rate for a market with interest to accrue",
        )
    })?;
    let interest = w_mul_down(stored.borrow_assets, w_taylor_compounded(rate, elapsed)?)?;
    let mut totals = stored;
    totals.borrow_assets = add(totals.borrow_assets, interest, "totalBorrowAssets")?;
    totals.supply_assets = add(totals.supply_assets, interest, "totalSupplyAssets")?;
    let mut fee_shares = U256::ZERO;
    if !fee.is_zero() {
        let fee_amount = w_mul_down(interest, fee)?;
        // Total supply already includes the fee amount, hence the subtraction (as in Morpho).
        fee_shares = to_shares_down(
            fee_amount,
            totals.supply_assets - fee_amount,
            totals.supply_shares,
        )?;
        totals.supply_shares = add(totals.supply_shares, fee_shares, "totalSupplyShares")?;
    }
    Ok(Accrual {
        totals,
        elapsed,
        borrow_rate: Some(rate),
        interest,
        fee_shares,
    })
}

/// The two sides of Morpho's `_isHealthy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthParts {
    /// `borrowShares.toAssetsUp(totalBorrowAssets, totalBorrowShares)`.
    pub borrowed: U256,
    /// `collateral.mulDivDown(price, ORACLE_PRICE_SCALE)`: the collateral in loan-token units.
    pub collateral_value: U256,
    /// `collateral_value.wMulDown(lltv)`.
    pub max_borrow: U256,
}

impl HealthParts {
    /// Morpho's verdict: healthy iff `maxBorrow >= borrowed` (always healthy without debt).
    pub fn healthy(&self) -> bool {
        self.max_borrow >= self.borrowed
    }

    /// `maxBorrow / borrowed` as a WAD, rounded down (so rounding never improves health);
    /// `None` without debt (infinite).
    pub fn health_factor_wad(&self) -> Result<Option<U256>, AdapterError> {
        if self.borrowed.is_zero() {
            return Ok(None);
        }
        mul_div_down(self.max_borrow, WAD, self.borrowed).map(Some)
    }

    /// `borrowed / collateral_value` as a WAD, rounded up; `None` without debt or without
    /// collateral value (unbounded).
    pub fn ltv_wad(&self) -> Result<Option<U256>, AdapterError> {
        if self.borrowed.is_zero() || self.collateral_value.is_zero() {
            return Ok(None);
        }
        mul_div_up(self.borrowed, WAD, self.collateral_value).map(Some)
    }
}

/// Computes both sides of `_isHealthy` for a position at an oracle price.
pub fn health_parts(
    borrow_shares: U256,
    collateral: U256,
    totals: &Totals,
    price: U256,
    lltv: U256,
) -> Result<HealthParts, AdapterError> {
    let borrowed = to_assets_up(borrow_shares, totals.borrow_assets, totals.borrow_shares)?;
    let collateral_value = mul_div_down(collateral, price, oracle_price_scale())?;
    let max_borrow = w_mul_down(collateral_value, lltv)?;
    Ok(HealthParts {
        borrowed,
        collateral_value,
        max_borrow,
    })
}

/// The oracle price (1e36 scale) at which `maxBorrow` would equal `borrowed`:
/// `borrowed × 1e36 × 1e18 / (collateral × lltv)`, rounded up, so the reported liquidation price
/// is never below the real one. `None` without debt, collateral or LLTV.
pub fn liquidation_price(
    borrowed: U256,
    collateral: U256,
    lltv: U256,
) -> Result<Option<U256>, AdapterError> {
    if borrowed.is_zero() || collateral.is_zero() || lltv.is_zero() {
        return Ok(None);
    }
    let numerator = mul(
        mul(borrowed, oracle_price_scale(), "liquidation price")?,
        WAD,
        "liquidation price",
    )?;
    mul_div_up(
        numerator,
        U256::from(1u8),
        mul(collateral, lltv, "liquidation price")?,
    )
    .map(Some)
}

#[cfg(test)]
mod tests;

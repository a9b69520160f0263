//! Aave v3.6's integer arithmetic (WadRayMath, MathUtils, TokenMath), reproduced bit for bit so
//! that the health factor we compute equals the one the Pool computes.

use alloy::primitives::U256;

use unimargin_sdk::AdapterError;

/// 1e18.
pub(crate) const WAD: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);
/// 1e27 (ray).
pub(crate) fn ray() -> U256 {
    U256::from(10u8).pow(U256::from(27u8))
}
/// 365 days, Aave ignores leap years.
const SECONDS_PER_YEAR: u64 = 365 * 24 * 3600;
/// Basis points in 100 %.
pub(crate) const PERCENTAGE_FACTOR: u64 = 10_000;

fn overflow(what: &str) -> AdapterError {
    AdapterError::OutOfRange {
        what: format!("aave math: {what}"),
        value: "overflows uint256".into(),
    }
}

fn mul(a: U256, b: U256, what: &str) -> Result<U256, AdapterError> {
    a.checked_mul(b).ok_or_else(|| overflow(what))
}

/// `rayMul`, rounding half up.
pub(crate) fn ray_mul(a: U256, b: U256) -> Result<U256, AdapterError> {
    let half = ray() / U256::from(2u8);
    Ok((mul(a, b, "rayMul")?
        .checked_add(half)
        .ok_or_else(|| overflow("rayMul"))?)
        / ray())
}

/// `rayMulFloor` (aToken balances: never overstate collateral).
pub(crate) fn ray_mul_floor(a: U256, b: U256) -> Result<U256, AdapterError> {
    Ok(mul(a, b, "rayMulFloor")? / ray())
}

/// `rayMulCeil` (debt balances: never understate debt).
pub(crate) fn ray_mul_ceil(a: U256, b: U256) -> Result<U256, AdapterError> {
    let p = mul(a, b, "rayMulCeil")?;
    let (q, r) = p.div_rem(ray());
    Ok(q + U256::from(u8::from(!r.is_zero())))
}

/// `mulDivCeil`.
pub(crate) fn mul_div_ceil(a: U256, b: U256, c: U256) -> Result<U256, AdapterError> {
    if c.is_zero() {
        return Err(overflow("mulDivCeil by zero"));
    }
    let p = mul(a, b, "mulDivCeil")?;
    let (q, r) = p.div_rem(c);
    Ok(q + U256::from(u8::from(!r.is_zero())))
}

/// `wadDiv`, rounding half up.
pub(crate) fn wad_div(a: U256, b: U256) -> Result<U256, AdapterError> {
    if b.is_zero() {
        return Err(overflow("wadDiv by zero"));
    }
    Ok((mul(a, WAD, "wadDiv")?
        .checked_add(b / U256::from(2u8))
        .ok_or_else(|| overflow("wadDiv"))?)
        / b)
}

/// `percentMulFloor`.
pub(crate) fn percent_mul_floor(value: U256, bps: U256) -> Result<U256, AdapterError> {
    Ok(mul(value, bps, "percentMulFloor")? / U256::from(PERCENTAGE_FACTOR))
}

/// Liquidity index accrued linearly to `now` (`ReserveLogic.getNormalizedIncome`).
pub(crate) fn normalized_income(
    index: U256,
    rate: U256,
    last_update: u64,
    now: u64,
) -> Result<U256, AdapterError> {
    if last_update == now {
        return Ok(index);
    }
    let dt = now
        .checked_sub(last_update)
        .ok_or_else(|| overflow("reserve updated in the future"))?;
    let linear =
        ray() + mul(rate, U256::from(dt), "linear interest")? / U256::from(SECONDS_PER_YEAR);
    ray_mul(linear, index)
}

/// Borrow index compounded to `now` with Aave's binomial approximation
/// (`ReserveLogic.getNormalizedDebt`, `MathUtils.calculateCompoundedInterest`).
pub(crate) fn normalized_debt(
    index: U256,
    rate: U256,
    last_update: u64,
    now: u64,
) -> Result<U256, AdapterError> {
    if last_update == now {
        return Ok(index);
    }
    let exp = now
        .checked_sub(last_update)
        .ok_or_else(|| overflow("reserve updated in the future"))?;
    let x = mul(rate, U256::from(exp), "compounded interest")? / U256::from(SECONDS_PER_YEAR);
    let inner = x / U256::from(2u8) + ray_mul(x, x / U256::from(6u8))?;
    let compounded = ray() + x + ray_mul(x, inner)?;
    ray_mul(compounded, index)
}

/// `percentMul`, rounding half up (v3.0).
pub(crate) fn percent_mul(value: U256, bps: U256) -> Result<U256, AdapterError> {
    let half = U256::from(PERCENTAGE_FACTOR / 2);
    Ok((mul(value, bps, "percentMul")?
        .checked_add(half)
        .ok_or_else(|| overflow("percentMul"))?)
        / U256::from(PERCENTAGE_FACTOR))
}

/// v3.0's `calculateCompoundedInterest` (binomial expansion with separate power terms); v3.6
/// rewrote it as [`normalized_debt`] does, and the two differ in the last digits.
pub(crate) fn compounded_interest_v3_0(
    rate: U256,
    last_update: u64,
    now: u64,
) -> Result<U256, AdapterError> {
    let exp = now
        .checked_sub(last_update)
        .ok_or_else(|| overflow("updated in the future"))?;
    if exp == 0 {
        return Ok(ray());
    }
    let exp_u = U256::from(exp);
    let exp_minus_one = U256::from(exp - 1);
    let exp_minus_two = U256::from(exp.saturating_sub(2));
    let year = U256::from(SECONDS_PER_YEAR);
    let base_power_two = ray_mul(rate, rate)? / (year * year);
    let base_power_three = ray_mul(base_power_two, rate)? / year;
    let second = mul(
        mul(exp_u, exp_minus_one, "compounded")?,
        base_power_two,
        "compounded",
    )? / U256::from(2u8);
    let third = mul(
        mul(
            mul(exp_u, exp_minus_one, "compounded")?,
            exp_minus_two,
            "compounded",
        )?,
        base_power_three,
        "compounded",
    )? / U256::from(6u8);
    Ok(ray() + mul(rate, exp_u, "compounded")? / year + second + third)
}

/// v3.0 normalized variable debt.
pub(crate) fn normalized_debt_v3_0(
    index: U256,
    rate: U256,
    last_update: u64,
    now: u64,
) -> Result<U256, AdapterError> {
    if last_update == now {
        return Ok(index);
    }
    ray_mul(compounded_interest_v3_0(rate, last_update, now)?, index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> U256 {
        s.parse().unwrap()
    }

    #[test]
    fn rounding_directions() {
        // 3 × 0.5 ray = 1.5: floor 1, ceil 2, half-up 2.
        let half = ray() / U256::from(2u8);
        assert_eq!(
            ray_mul_floor(U256::from(3u8), half).unwrap(),
            U256::from(1u8)
        );
        assert_eq!(
            ray_mul_ceil(U256::from(3u8), half).unwrap(),
            U256::from(2u8)
        );
        assert_eq!(ray_mul(U256::from(3u8), half).unwrap(), U256::from(2u8));
        assert_eq!(
            mul_div_ceil(U256::from(10u8), U256::from(1u8), U256::from(3u8)).unwrap(),
            U256::from(4u8)
        );
        // wadDiv(1, 3) = 0.333…e18 rounded half up.
        assert_eq!(
            wad_div(U256::from(1u8), U256::from(3u8)).unwrap(),
            u("333333333333333333")
        );
    }

    #[test]
    fn one_year_of_interest() {
        let index = ray();
        let rate = ray() / U256::from(10u8); // 10 % per year
        let year = SECONDS_PER_YEAR;
        // Linear: exactly 1.1.
        assert_eq!(
            normalized_income(index, rate, 0, year).unwrap(),
            u("1100000000000000000000000000")
        );
        // Compounded, third-order: 1 + 0.1 + 0.1·(0.05 + 0.1·0.1/6) = 1.105166666…
        assert_eq!(
            normalized_debt(index, rate, 0, year).unwrap(),
            u("1105166666666666666666666667")
        );
        assert_eq!(normalized_debt(index, rate, year, year).unwrap(), index);
    }

    #[test]
    fn v3_0_compounding_of_one_year() {
        // 10 %/year over n = 365 days of seconds: RAY + r·n/Y + n(n−1)·b2/2 + n(n−1)(n−2)·b3/6 with
        // b2 = rayMul(r, r)/Y² = 10_055_103_770 and b3 = rayMul(b2, r)/Y = 31 (v3.0 truncates the
        // per-second powers, so it lands below the third-order value 1.1051666…).
        let rate = ray() / U256::from(10u8);
        let v30 = compounded_interest_v3_0(rate, 0, SECONDS_PER_YEAR).unwrap();
        assert_eq!(v30, u("1105162042821782412575504000"));
        assert!(v30 < normalized_debt(ray(), rate, 0, SECONDS_PER_YEAR).unwrap());
        assert_eq!(compounded_interest_v3_0(rate, 5, 5).unwrap(), ray());
        assert_eq!(
            percent_mul(U256::from(3u8), U256::from(5000u16)).unwrap(),
            U256::from(2u8)
        ); // 1.5 → 2
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(ray_mul_floor(U256::MAX, U256::from(2u8)).is_err());
        assert!(normalized_income(ray(), ray(), 10, 5).is_err());
    }
}

//! GMX arithmetic against hand-computed values (30-decimal USD, prices per base unit).

#![allow(clippy::unwrap_used, clippy::panic)]

use alloy::primitives::{I256, U256};

use super::*;

fn u(v: u128) -> U256 {
    U256::from(v)
}

fn i(v: i128) -> I256 {
    I256::try_from(v).unwrap()
}

/// `whole` USD with 30 decimals.
fn usd(whole: u128) -> U256 {
    u(whole) * FLOAT_PRECISION
}

#[test]
fn feed_price_applies_multiplier_and_stable_price() {
    // ETH/USD answer 3125.56 (8 decimals), WETH 18 decimals: multiplier 10^(60 − 8 − 18) = 10^34.
    // 312_556_000_000 × 10^34 / 10^30 = 3_125_560_000_000_000 (USD per wei, 30 decimals).
    let p = feed_price(i(312_556_000_000), pow10(34), U256::ZERO).unwrap();
    assert_eq!(
        p,
        TokenPrice {
            min: u(3_125_560_000_000_000),
            max: u(3_125_560_000_000_000)
        }
    );
    // USDC at 0.9997 with a stable price of 1: min 0.9997, max 1 (per 6-decimal unit: × 10^24).
    let stable = pow10(24);
    let p = feed_price(i(99_970_000), pow10(46), stable).unwrap();
    assert_eq!(p.min, u(999_700_000_000_000_000_000_000));
    assert_eq!(p.max, stable);
    assert_eq!(
        feed_price(i(0), pow10(34), U256::ZERO),
        Err(FeedPriceError::NonPositiveAnswer)
    );
    assert_eq!(
        feed_price(i(1), U256::ZERO, U256::ZERO),
        Err(FeedPriceError::ZeroMultiplier)
    );
}

#[test]
fn pnl_is_taken_at_the_unfavourable_price_and_capped() {
    // Long 1 ETH opened at 2000; price min 2400 / max 2410 (per wei: × 10^12).
    let index = TokenPrice {
        min: u(2_400) * pow10(12),
        max: u(2_410) * pow10(12),
    };
    let side = SideState::default();
    let (pnl, uncapped) =
        position_pnl(usd(2_000), pow10(18), true, index, U256::ZERO, &side).unwrap();
    // 1e18 × 2400e12 − 2000e30 = 400e30 (long at min).
    assert_eq!(pnl, signed(usd(400)).unwrap());
    assert_eq!(uncapped, pnl);
    // A short of the same size loses at the max price: 2000e30 − 2410e30 = −410e30.
    let (pnl, _) = position_pnl(usd(2_000), pow10(18), false, index, U256::ZERO, &side).unwrap();
    assert_eq!(pnl, -signed(usd(410)).unwrap());

    // The side's total profit at the max price: 10 ETH of open interest costing 20_000:
    // 10 × 2410 − 20_000 = 4_100. Pool 10 ETH × 2400 = 24_000; 10 % max PnL factor → 2_400.
    // The position's 400 is scaled by 2_400 / 4_100: 400e30 × 2400e30 / 4100e30 = 234.146…e30.
    let side = SideState {
        open_interest: usd(20_000),
        open_interest_in_tokens: u(10) * pow10(18),
        pool_amount: u(10) * pow10(18),
        max_pnl_factor_for_traders: pow10(29),
    };
    let (pnl, uncapped) = position_pnl(
        usd(2_000),
        pow10(18),
        true,
        index,
        u(2_400) * pow10(12),
        &side,
    )
    .unwrap();
    assert_eq!(uncapped, signed(usd(400)).unwrap());
    let expected = usd(400) * usd(2_400) / usd(4_100);
    assert_eq!(pnl, signed(expected).unwrap());
}

#[test]
fn liquidation_impact_ignores_gains_and_caps_costs() {
    // A gain counts as zero.
    assert_eq!(
        liquidation_impact(i(5), i(-3), usd(1_000), U256::ZERO).unwrap(),
        I256::ZERO
    );
    // A cost of 30 USD on 1_000 USD with a 1 % cap: capped at 10 USD.
    let cost = -signed(usd(30)).unwrap();
    assert_eq!(
        liquidation_impact(cost, I256::ZERO, usd(1_000), pow10(28)).unwrap(),
        -signed(usd(10)).unwrap()
    );
    // Under the cap it stays.
    assert_eq!(
        liquidation_impact(cost, I256::ZERO, usd(1_000), pow10(29)).unwrap(),
        cost
    );
}

#[test]
fn funding_rounds_up_and_borrowing_down() {
    // 10_000 USD of size, funding per size advanced by 1.5e15 (per USD, FLOAT_PRECISION_SQRT):
    // 10_000e30 × 1.5e15 / 1e45 = 15_000 units... exact: 1.5e49 / 1e45 = 15_000.
    assert_eq!(
        funding_fee_amount(u(1_500_000_000_000_000), U256::ZERO, usd(10_000)).unwrap(),
        u(15_000)
    );
    // One more unit of per-size makes the amount fractional: rounded up.
    assert_eq!(
        funding_fee_amount(u(1_500_000_000_000_001), U256::ZERO, usd(10_000)).unwrap(),
        u(15_001)
    );
    // Borrowing: 10_000 USD × (0.0123 − 0.0003) = 120 USD.
    let f = borrowing_fee_usd(usd(10_000), u(123) * pow10(26), u(3) * pow10(26)).unwrap();
    assert_eq!(f, usd(120));
    assert!(borrowing_fee_usd(usd(1), U256::ZERO, u(1)).is_err());
}

#[test]
fn liquidation_rule_and_ratio_follow_gmx_order_of_checks() {
    // 1 ETH long at 2000, 100 USDC collateral (price 1 per 6-decimal unit = 1e24), PnL −50, fees 2 USDC.
    let base = LiquidationInputs {
        size_in_usd: usd(2_000),
        collateral_amount: u(100_000_000),
        collateral_price: TokenPrice {
            min: pow10(24),
            max: pow10(24),
        },
        pnl_usd: -signed(usd(50)).unwrap(),
        impact_usd: I256::ZERO,
        total_cost_amount: u(2_000_000),
        min_collateral_usd: usd(2),
        min_collateral_factor: pow10(28) / u(2), // 0.5 %
    };
    let f = liquidation(&base).unwrap();
    // remaining = 100 − 50 − 2 = 48 USD; required = max(2, 2000 × 0.5 % = 10) = 10.
    assert_eq!(f.remaining_collateral_usd, signed(usd(48)).unwrap());
    assert_eq!(f.required_usd(), signed(usd(10)).unwrap());
    assert!(!f.liquidatable);
    assert_eq!(f.ratio(), Health::Finite(Decimal::new(48, 1)));
    // A loss of 90: remaining 8 < 10 → liquidatable "min collateral for leverage", ratio 0.8.
    let f = liquidation(&LiquidationInputs {
        pnl_usd: -signed(usd(90)).unwrap(),
        ..base
    })
    .unwrap();
    assert_eq!(
        (f.liquidatable, f.reason),
        (true, "min collateral for leverage")
    );
    assert_eq!(f.ratio(), Health::Finite(Decimal::new(8, 1)));
    // A loss of 99: remaining 1 < MIN_COLLATERAL_USD 2 → "min collateral" first.
    let f = liquidation(&LiquidationInputs {
        pnl_usd: -signed(usd(99)).unwrap(),
        ..base
    })
    .unwrap();
    assert_eq!(f.reason, "min collateral");
    // Exactly at the requirement is not liquidatable (GMX compares strictly).
    let f = liquidation(&LiquidationInputs {
        pnl_usd: -signed(usd(88)).unwrap(),
        ..base
    })
    .unwrap();
    assert_eq!(f.remaining_collateral_usd, signed(usd(10)).unwrap());
    assert!(!f.liquidatable);
    assert_eq!(f.ratio(), Health::Finite(Decimal::ONE));
    // Nothing left: zero.
    assert_eq!(
        ratio(-signed(usd(1)).unwrap(), signed(usd(10)).unwrap()),
        Health::Finite(Decimal::ZERO)
    );
    assert_eq!(ratio(signed(usd(1)).unwrap(), I256::ZERO), Health::Infinite);
}

#[test]
fn liquidation_price_solves_the_rule() {
    // Long 1 ETH (1e18 wei) costing 2000 USD, 100 USDC collateral, 2 USDC of costs, impact 0,
    // required max(2, 10) = 10 USD: tokens·P − 2000 + 98 = 10 → P = 1912 USD per ETH
    // = 1912e30 / 1e18 per wei = 1912e12.
    let long = LiquidationInputs {
        size_in_usd: usd(2_000),
        collateral_amount: u(100_000_000),
        collateral_price: TokenPrice {
            min: pow10(24),
            max: pow10(24),
        },
        pnl_usd: I256::ZERO,
        impact_usd: I256::ZERO,
        total_cost_amount: u(2_000_000),
        min_collateral_usd: usd(2),
        min_collateral_factor: pow10(28) / u(2),
    };
    assert_eq!(
        liquidation_price(&long, pow10(18), true, false).unwrap(),
        Some(u(1_912) * pow10(12))
    );
    // Short: 2000 − P + 98 = 10 → P = 2088.
    assert_eq!(
        liquidation_price(&long, pow10(18), false, false).unwrap(),
        Some(u(2_088) * pow10(12))
    );
    // Coin-margined long: 0.05 ETH collateral, no costs: (1 + 0.05)·P − 2000 = 10 → P = 1914.285…
    // per wei 2010e30 / 1.05e18, rounded up.
    let coin = LiquidationInputs {
        collateral_amount: u(5) * pow10(16),
        total_cost_amount: U256::ZERO,
        ..long
    };
    let expected = (usd(2_010)).div_ceil(u(105) * pow10(16));
    assert_eq!(
        liquidation_price(&coin, pow10(18), true, true).unwrap(),
        Some(expected)
    );
    // A long whose collateral covers the whole size can never be liquidated by price.
    let safe = LiquidationInputs {
        collateral_amount: u(3_000_000_000),
        ..long
    };
    assert_eq!(
        liquidation_price(&safe, pow10(18), true, false).unwrap(),
        None
    );
}

#[test]
fn mul_div_rounds_as_asked() {
    assert_eq!(mul_div(u(7), u(3), u(2)).unwrap(), u(10));
    assert_eq!(mul_div_up(u(7), u(3), u(2)).unwrap(), u(11));
    assert!(mul_div(u(1), u(1), U256::ZERO).is_err());
    assert!(mul_div(U256::MAX, U256::MAX, u(1)).is_err());
}

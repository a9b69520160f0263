//! Comet's helpers on hand-computed values, truncation included.

use super::*;

fn u(n: u128) -> U256 {
    U256::from(n)
}

#[test]
fn factor_and_price_truncate_like_solidity() {
    // 1000 × 0.5e18 / 1e18 = 500; 999 × 0.5e18 / 1e18 = 499.5 → 499.
    assert_eq!(
        mul_factor(u(1000), u(500_000_000_000_000_000)).unwrap(),
        u(500)
    );
    assert_eq!(
        mul_factor(u(999), u(500_000_000_000_000_000)).unwrap(),
        u(499)
    );
    // 10 WETH (1e18 scale) at 3000e8: 10e18 × 3000e8 / 1e18 = 30_000e8.
    assert_eq!(
        mul_price(
            u(10_000_000_000_000_000_000),
            u(300_000_000_000),
            u(1_000_000_000_000_000_000)
        )
        .unwrap(),
        u(3_000_000_000_000)
    );
    // One wei of an 18-decimal token is worth 3000e8 / 1e18 → 0 price units.
    assert_eq!(
        mul_price(u(1), u(300_000_000_000), u(1_000_000_000_000_000_000)).unwrap(),
        U256::ZERO
    );
    assert!(mul_price(u(1), u(1), U256::ZERO).is_err());
}

#[test]
fn present_value_truncates_both_sides() {
    // 1000 × 1.1e15 / 1e15 = 1100; 999 × (1e15 + 1) / 1e15 = 999.000000000000999 → 999.
    assert_eq!(
        present_value(u(1_100_000_000_000_000), u(1000)).unwrap(),
        u(1100)
    );
    assert_eq!(
        present_value(u(1_000_000_000_000_001), u(999)).unwrap(),
        u(999)
    );
}

#[test]
fn rates_follow_the_kinked_curve() {
    let curve = RateCurve {
        kink: u(800_000_000_000_000_000),
        slope_low: u(1000),
        slope_high: u(10_000),
        base: u(100),
    };
    // Below the kink: 100 + 1000 × 0.5 = 600.
    assert_eq!(curve.rate(u(500_000_000_000_000_000)).unwrap(), u(600));
    // At the kink the low branch applies: 100 + 1000 × 0.8 = 900.
    assert_eq!(curve.rate(u(800_000_000_000_000_000)).unwrap(), u(900));
    // Above: 100 + 1000 × 0.8 + 10_000 × 0.1 = 1900.
    assert_eq!(curve.rate(u(900_000_000_000_000_000)).unwrap(), u(1900));
    let absurd = RateCurve {
        kink: U256::ZERO,
        slope_low: U256::ZERO,
        slope_high: U256::ZERO,
        base: U256::from(u64::MAX) + U256::from(1u8),
    };
    assert!(
        absurd.rate(U256::ZERO).is_err(),
        "safe64 must refuse what Comet refuses"
    );
}

#[test]
fn utilization_and_accrual() {
    // Supply 1000 at index 1.0, borrow 800 at index 1.25: 1000 / 1000 → 0.8 × 1.25 = 1.0.
    let util = utilization(
        u(1_000_000_000_000_000),
        u(1_250_000_000_000_000),
        u(1000),
        u(800),
    )
    .unwrap();
    assert_eq!(util, u(1_000_000_000_000_000_000));
    assert_eq!(
        utilization(
            u(1_000_000_000_000_000),
            u(1_000_000_000_000_000),
            U256::ZERO,
            u(5)
        )
        .unwrap(),
        U256::ZERO
    );
    // 1e15 × (1e9 × 1000) / 1e18 = 1e9 of growth.
    assert_eq!(
        accrued_index(u(1_000_000_000_000_000), u(1_000_000_000), 1000).unwrap(),
        u(1_000_001_000_000_000)
    );
    assert_eq!(
        accrued_index(u(1_000_000_000_000_000), u(1_000_000_000), 0).unwrap(),
        u(1_000_000_000_000_000)
    );
}

#[test]
fn collateral_bits_span_assets_in_and_reserved() {
    assert!(is_in_asset(0b100, 0, 2));
    assert!(!is_in_asset(0b100, 0xff, 3));
    assert!(is_in_asset(0, 0b10, 17));
    assert!(!is_in_asset(u16::MAX, 0, 16));
    assert!(!is_in_asset(u16::MAX, u8::MAX, 24));
}

#[test]
fn ratio_is_floored() {
    assert_eq!(ratio_wad(u(1), u(3)).unwrap(), u(333_333_333_333_333_333));
    assert_eq!(ratio_wad(u(5), u(5)).unwrap(), FACTOR_SCALE);
    assert!(ratio_wad(u(1), U256::ZERO).is_err());
}

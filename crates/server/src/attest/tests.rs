use std::str::FromStr;

use alloy::primitives::{I256, U256};
use rust_decimal::Decimal;

use super::{Round, scaled, unsigned};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_default()
}

#[test]
fn scaling_to_1e18_rounds_against_the_account() {
    let e18 = I256::exp10(18);
    let cases = [
        // (value, rounding, expected)
        (
            "1.5",
            Round::Down,
            I256::try_from(15).unwrap_or_default() * I256::exp10(17),
        ), // 1.5 × 1e18
        (
            "20000",
            Round::Down,
            I256::try_from(20_000).unwrap_or_default() * e18,
        ), // 2e4 × 1e18
        // 28 decimals: 1e-28 × 1e18 = 1e-10 → 0 down, 1 up.
        ("0.0000000000000000000000000001", Round::Down, I256::ZERO),
        ("0.0000000000000000000000000001", Round::Up, I256::ONE),
        // −1e-28 × 1e18 → −1 toward −∞.
        (
            "-0.0000000000000000000000000001",
            Round::Down,
            I256::MINUS_ONE,
        ),
    ];
    for (value, round, want) in cases {
        assert_eq!(scaled(d(value), round), want, "{value}");
    }
}

#[test]
fn a_negative_requirement_is_refused_rather_than_clamped() {
    assert!(unsigned("x", d("-1"), Round::Up).is_err());
    assert_eq!(
        unsigned("x", d("2"), Round::Up).ok(),
        Some(U256::from(2u64) * U256::from(10u64).pow(U256::from(18u64)))
    );
}

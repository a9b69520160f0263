//! Morpho's arithmetic against values written as the arithmetic that produces them.
#![allow(clippy::unwrap_used, reason = "a test reports failure by panicking")]

use alloy::primitives::{U256, address, b256};

use super::*;
use crate::{bindings::morpho::IMorpho, fetch::market_id};

fn u(v: u128) -> U256 {
    U256::from(v)
}

const E18: u128 = 1_000_000_000_000_000_000;

#[test]
fn taylor_compounding_has_three_terms() {
    // 1e9 per second (≈ 3.15 % a year) over one year.
    let (x, n): (u128, u128) = (1_000_000_000, 31_536_000);
    let first = x * n; // 3.1536e16
    let second = first * first / (2 * E18); // first² / 2
    let third = second * first / (3 * E18); // first³ / 6, from the rounded second term
    assert_eq!(
        w_taylor_compounded(u(x), 31_536_000).unwrap(),
        u(first + second + third)
    );
    assert_eq!(
        first + second + third,
        31_536_000_000_000_000 + 497_259_648_000_000 + 5_227_193_419_776
    );
    assert_eq!(w_taylor_compounded(u(x), 0).unwrap(), U256::ZERO);
}

#[test]
fn shares_round_in_the_protocols_favour() {
    // Empty market: 1e6 virtual shares for 1 virtual asset.
    assert_eq!(
        to_assets_down(u(1_000_000), U256::ZERO, U256::ZERO).unwrap(),
        u(1)
    );
    // 7 shares of a market with 10 assets and 3e6 shares: 7 × 11 / 4_000_000 = 0.00001925.
    assert_eq!(
        to_assets_down(u(7), u(10), u(3_000_000)).unwrap(),
        U256::ZERO
    );
    assert_eq!(to_assets_up(u(7), u(10), u(3_000_000)).unwrap(), u(1));
    // 1_000e6 assets over 1_000e12 shares: exact both ways when divisible.
    // shares × (1e9 + 1) / (1e15 + 1e6) = 1e12 × 1_000_000_001 / 1_000_000_001_000_000 = 1e6 exactly.
    let (ta, ts) = (u(1_000_000_000), u(1_000_000_000_000_000));
    assert_eq!(
        to_assets_down(u(1_000_000_000_000), ta, ts).unwrap(),
        u(1_000_000)
    );
    assert_eq!(
        to_assets_up(u(1_000_000_000_000), ta, ts).unwrap(),
        u(1_000_000)
    );
    // toSharesDown(assets) = assets × (ts + 1e6) / (ta + 1).
    assert_eq!(
        to_shares_down(u(1_000_000), ta, ts).unwrap(),
        u(1_000_000_000_000)
    );
}

#[test]
fn accrual_adds_interest_to_both_sides_and_mints_fee_shares() {
    let stored = Totals {
        supply_assets: u(1_000_000_000_000), // 1_000_000 USDC
        supply_shares: u(1_000_000_000_000_000_000),
        borrow_assets: u(800_000_000_000), // 800_000 USDC
        borrow_shares: u(800_000_000_000_000_000),
    };
    let rate: u128 = 2_000_000_000; // per second, WAD
    let elapsed: u128 = 86_400;
    let fee: u128 = E18 / 10; // 10 %
    let a = accrue(stored, 1_000, u(fee), true, Some(u(rate)), 1_000 + 86_400).unwrap();

    let first = rate * elapsed;
    let compounded =
        first + first * first / (2 * E18) + (first * first / (2 * E18)) * first / (3 * E18);
    let interest = 800_000_000_000 * compounded / E18;
    let supply_after = 1_000_000_000_000 + interest;
    let fee_amount = interest * fee / E18;
    // toSharesDown(fee, supply − fee, shares) = fee × (shares + 1e6) / (supply − fee + 1).
    let fee_shares =
        fee_amount * (1_000_000_000_000_000_000 + 1_000_000) / (supply_after - fee_amount + 1);
    assert_eq!(a.interest, u(interest));
    assert_eq!(a.fee_shares, u(fee_shares));
    assert_eq!(a.totals.borrow_assets, u(800_000_000_000 + interest));
    assert_eq!(a.totals.supply_assets, u(supply_after));
    assert_eq!(
        a.totals.supply_shares,
        u(1_000_000_000_000_000_000 + fee_shares)
    );
    assert_eq!(a.totals.borrow_shares, stored.borrow_shares);
    assert_eq!((a.elapsed, a.borrow_rate), (86_400, Some(u(rate))));
    assert!(interest > 0 && fee_shares > 0);
}

#[test]
fn no_rate_is_needed_when_nothing_accrues() {
    let stored = Totals {
        borrow_assets: u(5),
        ..Totals::default()
    };
    assert!(!needs_rate(&stored, 10, true, 10), "no time elapsed");
    assert!(!needs_rate(&stored, 10, false, 20), "no IRM");
    assert!(
        !needs_rate(&Totals::default(), 10, true, 20),
        "nothing borrowed"
    );
    assert!(needs_rate(&stored, 10, true, 20));
    let a = accrue(Totals::default(), 10, U256::ZERO, true, None, 20).unwrap();
    assert_eq!((a.interest, a.totals), (U256::ZERO, Totals::default()));
    // A rate is required when interest accrues, and a future lastUpdate is an error.
    assert!(accrue(stored, 10, U256::ZERO, true, None, 20).is_err());
    assert!(accrue(stored, 30, U256::ZERO, true, Some(u(1)), 20).is_err());
}

#[test]
fn health_check_is_morphos_is_healthy() {
    // 1 WBTC (8 decimals) at 60_000 USDC (6 decimals): 60_000e6 / 1e8 = 600 loan units per
    // collateral unit, so price = 600 × 1e36.
    let price = u(600) * oracle_price_scale();
    let lltv = u(860_000_000_000_000_000); // 86 %
    let totals = Totals {
        borrow_assets: u(1_000_000_000_000),
        borrow_shares: u(1_000_000_000_000_000_000),
        ..Totals::default()
    };
    // 51_600e6 borrowed: toAssetsUp(51_600e12 shares) = 51_600e12 × (1e12 + 1) / (1e18 + 1e6) = 51_600e6 exactly.
    let parts = health_parts(
        u(51_600_000_000_000_000),
        u(100_000_000),
        &totals,
        price,
        lltv,
    )
    .unwrap();
    // maxBorrow = 1e8 × 600e36 / 1e36 × 0.86 = 60_000e6 × 0.86 = 51_600e6.
    assert_eq!(parts.collateral_value, u(60_000_000_000));
    assert_eq!(parts.max_borrow, u(51_600_000_000));
    assert_eq!(parts.borrowed, u(51_600_000_000));
    assert!(parts.healthy());
    assert_eq!(parts.health_factor_wad().unwrap(), Some(WAD));
    // LTV = 51_600 / 60_000 = 0.86.
    assert_eq!(parts.ltv_wad().unwrap(), Some(lltv));
    // Liquidation price = borrowed × 1e36 × 1e18 / (collateral × lltv) = 51_600e6 × 1e54 / (1e8 × 0.86e18) = 600e36.
    assert_eq!(
        liquidation_price(parts.borrowed, u(100_000_000), lltv).unwrap(),
        Some(price)
    );
    // One more share of debt tips it over.
    let over = health_parts(
        u(51_600_000_000_000_001),
        u(100_000_000),
        &totals,
        price,
        lltv,
    )
    .unwrap();
    assert_eq!(over.borrowed, u(51_600_000_001));
    assert!(!over.healthy());
    // No debt: infinite health, no LTV.
    let none = health_parts(U256::ZERO, u(100_000_000), &totals, price, lltv).unwrap();
    assert!(none.healthy());
    assert_eq!(
        (none.health_factor_wad().unwrap(), none.ltv_wad().unwrap()),
        (None, None)
    );
}

#[test]
fn overflow_is_an_error_not_a_panic() {
    assert!(mul_div_down(U256::MAX, u(2), u(1)).is_err());
    assert!(mul_div_up(u(1), u(1), U256::ZERO).is_err());
    assert!(w_taylor_compounded(U256::MAX, 2).is_err());
}

#[test]
fn market_id_is_the_hash_of_the_encoded_params() {
    // Morpho Blue on Ethereum, wstETH collateral / WETH loan, LLTV 94.5 %, its Chainlink oracle and
    // the AdaptiveCurveIrm: the market id Morpho publishes for it.
    let params = IMorpho::MarketParams {
        loanToken: address!("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"),
        collateralToken: address!("0x7f39C581F595B53c5cb19bD0b3f8dA6c935E2Ca0"),
        oracle: address!("0x2a01EB9496094dA03c4E364Def50f5aD1280AD72"),
        irm: address!("0x870aC11D48B15DB9a138Cf899d20F13F79Ba00BC"),
        lltv: u(945_000_000_000_000_000),
    };
    assert_eq!(
        market_id(&params),
        b256!("0xc54d7acf14de29e0e5527cabd7a576506870346a78a11a6762e2cca66322ec41")
    );
}

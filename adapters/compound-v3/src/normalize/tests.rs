//! The pure normalization on hand-built reads: the fail-closed branches a healthy fixture never
//! takes.

use alloy::primitives::{
    I256,
    aliases::{U40, U104},
};
use unimargin_schema::Health;

use super::*;
use crate::{
    RateCurve,
    bindings::comet::{CometCore::AssetInfo, CometStorage::TotalsBasic},
    fetch::{RateModel, RawAsset, RawBase, RawUsdConversion, RawUserBasic},
};

const NOW: u64 = 1_700_000_000;
const E8: u64 = 100_000_000;

fn zero_curve() -> RateCurve {
    RateCurve {
        kink: U256::ZERO,
        slope_low: U256::ZERO,
        slope_high: U256::ZERO,
        base: U256::ZERO,
    }
}

/// A USDC market (6 decimals, 1 USD) with one WETH collateral (18 decimals, 3000 USD, 0.83/0.90),
/// and an account holding 1 WETH and owing 2,000 USDC at index 1.0 with nothing to accrue.
fn raw() -> RawAccount {
    let weth = Address::repeat_byte(0xee);
    RawAccount {
        comet: Address::repeat_byte(0xc0),
        block_timestamp: NOW,
        base: RawBase {
            token: Address::repeat_byte(0x05),
            symbol: "USDC".into(),
            decimals: 6,
            scale: U256::from(1_000_000u64),
            price_feed: Address::repeat_byte(0xf0),
            comet_price: Some(U256::from(E8)),
            feed_updated_at: Some(NOW - 60),
        },
        assets: vec![RawAsset {
            info: AssetInfo {
                offset: 0,
                asset: weth,
                priceFeed: Address::repeat_byte(0xf1),
                scale: 1_000_000_000_000_000_000,
                borrowCollateralFactor: 830_000_000_000_000_000,
                liquidateCollateralFactor: 900_000_000_000_000_000,
                liquidationFactor: 950_000_000_000_000_000,
                supplyCap: 0,
            },
            symbol: "WETH".into(),
            balance: 1_000_000_000_000_000_000,
            comet_price: Some(U256::from(3_000 * E8)),
            feed_updated_at: Some(NOW - 30),
        }],
        totals: TotalsBasic {
            baseSupplyIndex: 1_000_000_000_000_000,
            baseBorrowIndex: 1_000_000_000_000_000,
            trackingSupplyIndex: 0,
            trackingBorrowIndex: 0,
            totalSupplyBase: U104::from(10_000_000_000u64),
            totalBorrowBase: U104::from(2_000_000_000u64),
            lastAccrualTime: U40::from(NOW),
            pauseFlags: 0,
        },
        rates: RateModel {
            supply: zero_curve(),
            borrow: zero_curve(),
        },
        // 2_000e6 × 1e18 / 10_000e6.
        reported_utilization: U256::from(200_000_000_000_000_000u64),
        user: RawUserBasic {
            principal: -2_000_000_000,
            assets_in: 1,
            reserved: 0,
        },
        reported_balance: U256::ZERO,
        reported_borrow_balance: U256::from(2_000_000_000u64),
        reported_is_liquidatable: false,
        reported_is_borrow_collateralized: true,
        usd_conversion: None,
        learned_symbols: BTreeMap::new(),
    }
}

fn run(raw: &RawAccount, deployment: &CometDeployment) -> Result<ProtocolSnapshot> {
    let chain = ChainId::evm(1);
    let protocol = ProtocolId::new("compound-v3").unwrap();
    let market = MarketId("usdc".into());
    let account =
        AccountId::new(chain.clone(), "0x1111111111111111111111111111111111111111").unwrap();
    let ctx = NormalizeContext {
        chain: &chain,
        read_point: ReadPoint::Block {
            number: 1,
            hash: "0x01".into(),
            timestamp: NOW,
        },
        protocol: &protocol,
        market: &market,
        account: &account,
        deployment,
        fetched_at: DateTime::<Utc>::from_timestamp(1_700_000_001, 0).unwrap(),
    };
    normalize(raw, &ctx)
}

fn usd() -> CometDeployment {
    CometDeployment::usd(Address::repeat_byte(0xc0))
}

#[test]
fn agreeing_read_is_deterministic() {
    let a = run(&raw(), &usd()).unwrap();
    assert_eq!(a, run(&raw(), &usd()).unwrap());
    // 300_000_000_000 × 0.9 / (2_000e6 × 1e8 / 1e6) = 270e9 / 200e9 = 1.35.
    assert_eq!(
        a.native_health.reproduced,
        Health::Finite(Decimal::new(135, 2))
    );
    assert_eq!(a.native_health.agrees, Some(true));
    assert!(
        a.positions
            .iter()
            .all(|p| p.amount >= Decimal::ZERO && p.value_usd >= Decimal::ZERO)
    );
}

#[test]
fn a_larger_borrow_balance_from_comet_is_used_and_reported() {
    let mut r = raw();
    // Comet says 2,500 USDC are owed where the principal and index give 2,000.
    r.reported_borrow_balance = U256::from(2_500_000_000u64);
    let s = run(&r, &usd()).unwrap();
    let debt = s
        .positions
        .iter()
        .find(|p| p.kind == PositionKind::Debt)
        .unwrap();
    assert_eq!(debt.amount, Decimal::from(2_500));
    // 270e9 / (2_500e6 × 1e8 / 1e6) = 270e9 / 250e9 = 1.08.
    assert_eq!(
        s.native_health.reproduced,
        Health::Finite(Decimal::new(108, 2))
    );
    assert_eq!(s.native_health.agrees, Some(false));
    assert!(
        s.warnings
            .iter()
            .any(|w| w.kind == WarningKind::NativeHealthMismatch
                && w.message.contains("borrowBalanceOf"))
    );
}

#[test]
fn a_held_collateral_without_a_price_fails_closed() {
    let mut r = raw();
    r.assets[0].comet_price = None;
    assert!(matches!(
        run(&r, &usd()),
        Err(AdapterError::MissingPrice { .. })
    ));
    let mut r = raw();
    r.base.comet_price = None;
    assert!(matches!(
        run(&r, &usd()),
        Err(AdapterError::MissingPrice { .. })
    ));
}

#[test]
fn an_accrual_time_after_the_block_is_malformed() {
    let mut r = raw();
    r.totals.lastAccrualTime = U40::from(NOW + 1);
    assert!(matches!(
        run(&r, &usd()),
        Err(AdapterError::Malformed { .. })
    ));
}

#[test]
fn a_non_positive_usd_conversion_is_a_missing_price() {
    let mut deployment = usd();
    deployment.price_unit = "ETH".into();
    deployment.usd_feed = Some(Address::repeat_byte(0xfe));
    let mut r = raw();
    r.usd_conversion = Some(RawUsdConversion {
        feed: Address::repeat_byte(0xfe),
        answer: I256::ZERO,
        decimals: 8,
        updated_at: Some(NOW),
    });
    assert!(matches!(
        run(&r, &deployment),
        Err(AdapterError::MissingPrice { .. })
    ));
    // And a conversion the configuration does not ask for is a configuration error.
    assert!(matches!(run(&r, &usd()), Err(AdapterError::Config(_))));
}

//! Compound III adapter against a real anvil node running the Solidity fixtures (Comet's ABI).
//!
//! Expected values are computed here from Comet's published formulas (CometCore.presentValue,
//! Comet.accruedInterestIndices, getSupplyRate/getBorrowRate, isLiquidatable /
//! isBorrowCollateralized with mulPrice / mulFactor truncation) and written as the arithmetic
//! that produces them.

// A failed expectation in a test is a panic with a message; that is what these are.
#![allow(clippy::unwrap_used, clippy::panic)]

mod abi;
mod config;
mod requests;
mod vectors;

use std::{str::FromStr, sync::Arc};

use alloy::primitives::Address;
use unimargin_compound_v3::{
    CompoundV3Factory, KIND,
    fixtures::{
        CollateralSpec, E8, FixtureMarket, MarketSpec, demo_risk_keys, demo_usdc_market,
        demo_weth_market, seed_demo_borrower, units,
    },
    normalize::METRIC,
};
use unimargin_schema::{
    AccountId, Decimal, Health, MarketId, Position, PositionKind, ProtocolId, ProtocolSnapshot,
    ReadPoint, WarningKind,
};
use unimargin_sdk::{
    AdapterError, AdapterFactory, ChainClient, ChainReader, DeploymentSpec, ProtocolAdapter,
    evm::EvmSettings, testkit::TestChain,
};

/// Comet's FACTOR_SCALE, and the scale of the published ratio.
const WAD: u128 = 1_000_000_000_000_000_000;
/// Comet's BASE_INDEX_SCALE.
const INDEX: u128 = 1_000_000_000_000_000;
/// Comet's SECONDS_PER_YEAR.
const YEAR: u128 = 31_536_000;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn wad_health(wad: u128) -> Health {
    Health::Finite(Decimal::from_i128_with_scale(i128::try_from(wad).unwrap(), 18).normalize())
}

struct Env {
    chain: TestChain,
    market: FixtureMarket,
    adapter: Arc<dyn ProtocolAdapter>,
}

fn spec(
    protocol: &str,
    market: &str,
    chain: &TestChain,
    params: serde_json::Value,
) -> DeploymentSpec {
    DeploymentSpec {
        protocol: ProtocolId::new(protocol).unwrap(),
        kind: Some(KIND.into()),
        chain: chain.chain(),
        market: MarketId(market.into()),
        params,
    }
}

async fn env_with(market_spec: MarketSpec) -> Env {
    let chain = TestChain::start().await.expect("anvil");
    let market = FixtureMarket::deploy(&chain, &market_spec)
        .await
        .expect("deploy fixtures");
    let adapter = CompoundV3Factory
        .build(&spec(
            "compound-v3",
            &market_spec.base.symbol.to_lowercase(),
            &chain,
            market.deployment_params(&demo_risk_keys()),
        ))
        .expect("adapter");
    Env {
        chain,
        market,
        adapter,
    }
}

async fn env() -> Env {
    env_with(demo_usdc_market()).await
}

impl Env {
    fn user(&self, i: usize) -> (Address, AccountId) {
        let a = self.chain.accounts()[i];
        (
            a,
            AccountId::from_str(&format!("eip155:31337:{a}")).unwrap(),
        )
    }

    async fn reader(&self) -> ChainReader {
        ChainClient::Evm(Arc::new(self.chain.client(EvmSettings::default())))
            .pin()
            .await
            .unwrap()
    }

    async fn snapshot(&self, account: &AccountId) -> Result<ProtocolSnapshot, AdapterError> {
        let reader = self.reader().await;
        self.adapter.snapshot(&reader, account).await
    }

    async fn now(&self) -> u64 {
        self.chain
            .client(EvmSettings::default())
            .pin_latest()
            .await
            .unwrap()
            .block_timestamp()
    }
}

fn position<'a>(s: &'a ProtocolSnapshot, symbol: &str, kind: PositionKind) -> &'a Position {
    s.positions
        .iter()
        .find(|p| p.asset.symbol == symbol && p.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} {symbol} position in {:#?}", s.positions))
}

fn block_time(s: &ProtocolSnapshot) -> u64 {
    match s.provenance.read_point {
        ReadPoint::Block { timestamp, .. } => timestamp,
        ref other => panic!("not a block read point: {other:?}"),
    }
}

#[tokio::test]
async fn multi_decimal_borrower_matches_hand_computed_liquidity() {
    let env = env().await;
    let (owner, account) = env.user(1);
    seed_demo_borrower(&env.market, owner).await.unwrap();
    let s = env.snapshot(&account).await.unwrap();

    // Debt: principal −20_000e6 at the initial index 1e15 (no interest: the rate model is zero).
    //   present value = 20_000e6 × 1e15 / 1e15 = 20_000e6
    //   value = signedMulPrice: 20_000e6 × 0.9999e8 / 1e6 (baseScale)  = 1_999_800_000_000
    let debt_value: u128 = 20_000_000_000 * 99_990_000 / 1_000_000;
    assert_eq!(debt_value, 1_999_800_000_000);
    // Collateral, mulPrice(balance, price, scale) then mulFactor(·, CF):
    //   WETH (18 dec): 10e18 × 3000e8 / 1e18   = 3_000_000_000_000 → × 0.90 (liq) / × 0.83 (borrow)
    //   WBTC ( 8 dec): 0.5e8 × 60_000e8 / 1e8  = 3_000_000_000_000 → × 0.77 (liq) / × 0.70 (borrow)
    let weth_value: u128 = 10 * WAD * 300_000_000_000 / WAD;
    let wbtc_value: u128 = 50_000_000 * 6_000_000_000_000 / 100_000_000;
    let liquidate: u128 =
        weth_value * 900_000_000_000_000_000 / WAD + wbtc_value * 770_000_000_000_000_000 / WAD;
    let borrow: u128 =
        weth_value * 830_000_000_000_000_000 / WAD + wbtc_value * 700_000_000_000_000_000 / WAD;
    assert_eq!((liquidate, borrow), (5_010_000_000_000, 4_590_000_000_000));
    // Ratio = 5_010_000_000_000 / 1_999_800_000_000, floored to 18 decimals.
    let ratio = liquidate * WAD / debt_value;
    assert_eq!(ratio, 2_505_250_525_052_505_250);

    let nh = &s.native_health;
    assert_eq!(nh.metric, METRIC);
    assert_eq!(nh.reproduced, wad_health(ratio));
    assert_eq!(nh.value, wad_health(ratio));
    assert_eq!(nh.reported, None, "Comet reports verdicts, not a number");
    assert_eq!(nh.agrees, Some(true), "{:#?}", nh.figures);
    assert!(!nh.liquidatable);
    assert_eq!(nh.figures["reproduced.debt_value"], debt_value.to_string());
    assert_eq!(
        nh.figures["reproduced.liquidate_collateral_value"],
        liquidate.to_string()
    );
    assert_eq!(
        nh.figures["reproduced.borrow_collateral_value"],
        borrow.to_string()
    );
    assert_eq!(nh.figures["reported.is_liquidatable"], "false");
    assert_eq!(nh.figures["reported.is_borrow_collateralized"], "true");
    assert_eq!(nh.figures["reported.borrow_balance"], "20000000000");
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);

    assert_eq!(s.positions.len(), 3);
    let debt = position(&s, "USDC", PositionKind::Debt);
    assert_eq!(
        (debt.amount, debt.price.usd, debt.value_usd),
        (d("20000"), d("0.9999"), d("19998"))
    );
    assert_eq!(
        (debt.asset.decimals, debt.asset.risk_key.as_str()),
        (6, "USD")
    );
    assert_eq!(
        (debt.weights.initial, debt.weights.maintenance),
        (Decimal::ONE, Decimal::ONE)
    );
    assert!(!debt.counts_as_collateral);
    assert_eq!(debt.native["principal"], "-20000000000");
    let weth = position(&s, "WETH", PositionKind::Supply);
    assert_eq!(
        (weth.amount, weth.price.usd, weth.value_usd),
        (d("10"), d("3000"), d("30000"))
    );
    assert_eq!(
        (weth.weights.initial, weth.weights.maintenance),
        (d("0.83"), d("0.9"))
    );
    assert_eq!(
        (weth.asset.decimals, weth.asset.risk_key.as_str()),
        (18, "ETH")
    );
    assert!(weth.counts_as_collateral);
    assert_eq!(weth.price.source.oracle, "compound-v3");
    let weth_feed = format!(
        "eip155:31337:{}",
        env.market.feeds["WETH"].to_checksum(None)
    );
    assert_eq!(weth.price.source.feed.as_deref(), Some(weth_feed.as_str()));
    assert!(
        weth.price.age_seconds.is_some(),
        "the feed exposes updatedAt"
    );
    let wbtc = position(&s, "WBTC", PositionKind::Supply);
    assert_eq!(
        (wbtc.amount, wbtc.value_usd, wbtc.asset.decimals),
        (d("0.5"), d("30000"), 8)
    );
    assert_eq!(
        (wbtc.weights.initial, wbtc.weights.maintenance),
        (d("0.7"), d("0.77"))
    );

    let comet = format!("eip155:31337:{}", env.market.comet.to_checksum(None));
    assert!(s.provenance.sources.contains(&comet));
    assert_eq!(s.provenance.account, account);
    assert_eq!(s.provenance.protocol.as_str(), "compound-v3");
}

#[tokio::test]
async fn accounts_on_each_side_of_the_liquidation_threshold() {
    let env = env().await;
    let now = env.now().await;
    // A base price of exactly 1 USD makes the threshold reachable to the unit.
    env.market
        .set_price("USDC", 100_000_000, now)
        .await
        .unwrap();
    let (at, at_account) = env.user(1);
    let (over, over_account) = env.user(2);
    for user in [at, over] {
        env.market
            .set_collateral(user, "WETH", units(1, 18))
            .await
            .unwrap();
    }
    // Collateral: mulFactor(mulPrice(1e18, 3000e8, 1e18), 0.9e18) = 300_000_000_000 × 0.9 = 270_000_000_000.
    let liquidate: u128 = 300_000_000_000 * 900_000_000_000_000_000 / WAD;
    // `at` owes 2_700_000_000 (2,700 USDC): 2_700_000_000 × 1e8 / 1e6 = 270_000_000_000 = collateral,
    // so liquidity is exactly 0: not liquidatable (Comet's test is `liquidity < 0`).
    env.market.set_principal(at, -2_700_000_000).await.unwrap();
    // `over` owes one base unit more: 2_700_000_001 × 1e8 / 1e6 = 270_000_000_100 > collateral.
    env.market
        .set_principal(over, -2_700_000_001)
        .await
        .unwrap();

    let s = env.snapshot(&at_account).await.unwrap();
    let nh = &s.native_health;
    assert_eq!(nh.reproduced, Health::Finite(Decimal::ONE));
    assert!(!nh.liquidatable);
    assert_eq!(nh.agrees, Some(true), "{:#?}", nh.figures);
    assert_eq!(nh.figures["reported.is_liquidatable"], "false");
    // Borrowing more is not allowed: 300_000_000_000 × 0.83 = 249_000_000_000 < 270_000_000_000.
    assert_eq!(nh.figures["reported.is_borrow_collateralized"], "false");
    assert_eq!(
        nh.figures["reproduced.borrow_ratio_wad"],
        (249_000_000_000u128 * WAD / 270_000_000_000).to_string()
    );

    let s = env.snapshot(&over_account).await.unwrap();
    let nh = &s.native_health;
    let debt_value: u128 = 2_700_000_001 * 100_000_000 / 1_000_000;
    let ratio = liquidate * WAD / debt_value;
    assert_eq!(ratio, 999_999_999_629_629_629);
    assert_eq!(nh.reproduced, wad_health(ratio));
    assert!(nh.liquidatable);
    assert_eq!(
        nh.agrees,
        Some(true),
        "Comet agrees the account is liquidatable: {:#?}",
        nh.figures
    );
    assert_eq!(nh.figures["reported.is_liquidatable"], "true");
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[tokio::test]
async fn base_supply_is_not_collateral() {
    let env = env().await;
    let (owner, account) = env.user(3);
    env.market
        .set_principal(owner, 5_000_000_000)
        .await
        .unwrap();
    env.market
        .set_collateral(owner, "COMP", units(2, 18))
        .await
        .unwrap();
    let s = env.snapshot(&account).await.unwrap();

    assert_eq!(s.positions.len(), 2);
    let usdc = position(&s, "USDC", PositionKind::Supply);
    // 5_000e6 × 1e15 / 1e15 = 5_000 USDC at 0.9999 USD.
    assert_eq!((usdc.amount, usdc.value_usd), (d("5000"), d("4999.5")));
    assert!(
        !usdc.counts_as_collateral,
        "Comet never counts supplied base as collateral"
    );
    assert_eq!(
        (usdc.weights.initial, usdc.weights.maintenance),
        (Decimal::ZERO, Decimal::ZERO)
    );
    let comp = position(&s, "COMP", PositionKind::Supply);
    assert!(comp.counts_as_collateral);
    assert_eq!((comp.amount, comp.value_usd), (d("2"), d("100")));
    assert_eq!(
        comp.asset.risk_key, "COMP",
        "unlisted symbols are their own risk group"
    );

    let nh = &s.native_health;
    assert_eq!(nh.reproduced, Health::Infinite);
    assert!(!nh.liquidatable);
    assert_eq!(nh.agrees, Some(true), "{:#?}", nh.figures);
    assert_eq!(nh.figures["reported.balance"], "5000000000");
    assert_eq!(serde_json::to_value(nh).unwrap()["value"], "infinity");
}

#[tokio::test]
async fn account_without_positions_is_empty_and_infinite() {
    let env = env().await;
    let (_, account) = env.user(4);
    let s = env.snapshot(&account).await.unwrap();
    assert!(s.positions.is_empty());
    assert_eq!(s.native_health.value, Health::Infinite);
    assert_eq!(s.native_health.agrees, Some(true));
    assert!(!s.native_health.liquidatable);
}

#[tokio::test]
async fn a_verdict_that_disagrees_with_the_balances_is_reported_not_hidden() {
    let env = env().await;
    let (owner, account) = env.user(5);
    seed_demo_borrower(&env.market, owner).await.unwrap();
    env.market.skew_health_views(true).await.unwrap();
    let s = env.snapshot(&account).await.unwrap();

    let nh = &s.native_health;
    // Our reproduction from the balances is unchanged (see the multi-decimal test) ...
    assert_eq!(nh.reproduced, wad_health(2_505_250_525_052_505_250));
    // ... but Comet now says "liquidatable" and "not collateralized".
    assert_eq!(nh.figures["reported.is_liquidatable"], "true");
    assert_eq!(nh.figures["reproduced.view_is_liquidatable"], "false");
    assert_eq!(nh.agrees, Some(false));
    assert!(
        nh.liquidatable,
        "the protocol's verdict is never overruled in the healthy direction"
    );
    assert_eq!(nh.value, Health::Finite(Decimal::ZERO));
    let warning = s
        .warnings
        .iter()
        .find(|w| w.kind == WarningKind::NativeHealthMismatch)
        .unwrap_or_else(|| panic!("no mismatch warning in {:?}", s.warnings));
    assert!(
        warning
            .message
            .contains("isLiquidatable true vs reproduced false"),
        "{}",
        warning.message
    );
    assert!(
        warning
            .message
            .contains("isBorrowCollateralized false vs reproduced true"),
        "{}",
        warning.message
    );
}

#[tokio::test]
async fn interest_accrues_to_the_pinned_block() {
    let env = env().await;
    env.market
        .set_price("USDC", 100_000_000, env.now().await)
        .await
        .unwrap();
    let (borrower, borrower_account) = env.user(1);
    let (supplier, supplier_account) = env.user(2);
    let (edge, edge_account) = env.user(3);
    env.market
        .set_collateral(borrower, "WETH", units(5, 18))
        .await
        .unwrap();
    env.market
        .set_principal(borrower, -10_000_000_000)
        .await
        .unwrap();
    env.market
        .set_principal(supplier, 8_000_000_000)
        .await
        .unwrap();
    // At the stored borrow index 1.1 the edge account owes 2_454_545_454 × 1.1 = 2_699_999_999.4
    // → 2_699_999_999 USDC units, worth 269_999_999_900 against 270_000_000_000 of liquidation
    // collateral: Comet's view says "not liquidatable". A month of interest pushes it over.
    env.market
        .set_collateral(edge, "WETH", units(1, 18))
        .await
        .unwrap();
    env.market
        .set_principal(edge, -2_454_545_454)
        .await
        .unwrap();

    // Per-year rate model (1e18-scaled), as in Comet's configuration.
    let supply = [
        850_000_000_000_000_000u64,
        40_000_000_000_000_000,
        3_000_000_000_000_000_000,
        0,
    ];
    let borrow = [
        850_000_000_000_000_000u64,
        50_000_000_000_000_000,
        3_400_000_000_000_000_000,
        15_000_000_000_000_000,
    ];
    env.market.set_rate_model(supply, borrow).await.unwrap();
    let last_accrual = env.now().await - 30 * 86_400;
    let (supply_index, borrow_index) = (1_050_000_000_000_000u128, 1_100_000_000_000_000u128);
    let (total_supply_base, total_borrow_base) = (1_000_000_000_000u128, 700_000_000_000u128);
    env.market
        .set_totals(
            supply_index as u64,
            borrow_index as u64,
            total_supply_base,
            total_borrow_base,
            last_accrual,
        )
        .await
        .unwrap();

    let s = env.snapshot(&borrower_account).await.unwrap();
    let elapsed = u128::from(block_time(&s) - last_accrual);
    assert!(elapsed >= 30 * 86_400);
    // getUtilization at the stored indices: (700_000e6 × 1.1) × 1e18 / (1_000_000e6 × 1.05).
    let utilization = (total_borrow_base * borrow_index / INDEX) * WAD
        / (total_supply_base * supply_index / INDEX);
    assert_eq!(utilization, 733_333_333_333_333_333);
    // Below both kinks: rate = base + slopeLow × utilization, per second (per year / 31_536_000).
    let borrow_rate =
        u128::from(borrow[3]) / YEAR + (u128::from(borrow[1]) / YEAR) * utilization / WAD;
    let supply_rate =
        u128::from(supply[3]) / YEAR + (u128::from(supply[1]) / YEAR) * utilization / WAD;
    // accruedInterestIndices: index += index × rate × elapsed / 1e18.
    let borrow_index_now = borrow_index + borrow_index * (borrow_rate * elapsed) / WAD;
    let supply_index_now = supply_index + supply_index * (supply_rate * elapsed) / WAD;
    assert_eq!(
        s.native_health.figures["reproduced.base_borrow_index"],
        borrow_index_now.to_string()
    );
    assert_eq!(
        s.native_health.figures["reproduced.utilization"],
        utilization.to_string()
    );
    // presentValueBorrow: 10_000e6 × index / 1e15.
    let owed = 10_000_000_000 * borrow_index_now / INDEX;
    let debt = position(&s, "USDC", PositionKind::Debt);
    assert_eq!(
        debt.amount,
        Decimal::from_i128_with_scale(owed as i128, 6).normalize()
    );
    assert!(
        debt.amount > d("11000"),
        "10,000 principal × 1.1 plus a month of interest: {}",
        debt.amount
    );
    assert_eq!(
        s.native_health.figures["reported.borrow_balance"],
        owed.to_string(),
        "Comet's borrowBalanceOf agrees"
    );
    assert_eq!(
        s.native_health.agrees,
        Some(true),
        "{:#?}",
        s.native_health.figures
    );

    let s = env.snapshot(&supplier_account).await.unwrap();
    let elapsed = u128::from(block_time(&s) - last_accrual);
    let supply_index_then = supply_index + supply_index * (supply_rate * elapsed) / WAD;
    let supplied = position(&s, "USDC", PositionKind::Supply);
    assert_eq!(
        supplied.amount,
        Decimal::from_i128_with_scale((8_000_000_000 * supply_index_then / INDEX) as i128, 6)
            .normalize()
    );
    assert!(supply_index_then >= supply_index_now);
    assert_eq!(s.native_health.agrees, Some(true));

    let s = env.snapshot(&edge_account).await.unwrap();
    let nh = &s.native_health;
    let elapsed = u128::from(block_time(&s) - last_accrual);
    let borrow_index_then = borrow_index + borrow_index * (borrow_rate * elapsed) / WAD;
    // Accrued: 2_454_545_454 × index / 1e15 base units, × 1e8 / 1e6 in price units.
    let accrued_debt_value = 2_454_545_454 * borrow_index_then / INDEX * 100_000_000 / 1_000_000;
    assert_eq!(nh.figures["reproduced.view_debt_value"], "269999999900");
    assert_eq!(
        nh.figures["reported.is_liquidatable"], "false",
        "Comet's view uses the stored index"
    );
    assert_eq!(
        nh.agrees,
        Some(true),
        "the view is reproduced exactly: {:#?}",
        nh.figures
    );
    assert_eq!(
        nh.reproduced,
        wad_health(270_000_000_000 * WAD / accrued_debt_value)
    );
    assert!(
        nh.liquidatable,
        "an absorb accrues first: at this block it would succeed"
    );
}

#[tokio::test]
async fn a_market_priced_in_eth_is_converted_to_usd_and_says_so() {
    let env = env_with(demo_weth_market()).await;
    let (owner, account) = env.user(1);
    let now = env.now().await;
    // The ETH/USD feed is ten minutes old, the wstETH/ETH feed fresh: the converted price is as old
    // as the older one.
    env.market
        .set_usd_conversion(3_000 * E8, now - 600)
        .await
        .unwrap();
    env.market
        .set_price("wstETH", 118 * E8 / 100, now)
        .await
        .unwrap();
    env.market
        .set_collateral(owner, "wstETH", units(10, 18))
        .await
        .unwrap();
    env.market
        .set_principal(owner, -8_000_000_000_000_000_000)
        .await
        .unwrap();
    let s = env.snapshot(&account).await.unwrap();

    // In Comet's unit (ETH, 8 decimals): debt 8e18 × 1e8 / 1e18 = 8e8; collateral
    // 10e18 × 1.18e8 / 1e18 = 11.8e8 × 0.93 = 1_097_400_000.
    let ratio = 1_097_400_000u128 * WAD / 800_000_000;
    assert_eq!(ratio, 1_371_750_000_000_000_000);
    assert_eq!(s.native_health.reproduced, wad_health(ratio));
    assert_eq!(s.native_health.agrees, Some(true));
    assert_eq!(s.native_health.figures["price_unit"], "ETH");

    let wsteth = position(&s, "wstETH", PositionKind::Supply);
    // 1.18 ETH × 3000 USD/ETH.
    assert_eq!(
        (wsteth.price.usd, wsteth.value_usd),
        (d("3540"), d("35400"))
    );
    assert!(
        wsteth.price.source.oracle.contains("ETH") && wsteth.price.source.oracle.contains("USD"),
        "{}",
        wsteth.price.source.oracle
    );
    assert!(wsteth.price.age_seconds.unwrap() >= 600);
    assert_eq!(wsteth.native["comet_price"], "118000000");
    let weth = position(&s, "WETH", PositionKind::Debt);
    assert_eq!(
        (weth.amount, weth.price.usd, weth.value_usd),
        (d("8"), d("3000"), d("24000"))
    );
    let usd_feed = format!(
        "eip155:31337:{}",
        env.market.usd_feed.unwrap().to_checksum(None)
    );
    assert!(s.provenance.sources.contains(&usd_feed));
}

/// 18 collaterals: offsets 16 and 17 live in `userBasic._reserved`, not in `assetsIn`.
#[tokio::test]
async fn collateral_past_offset_15_counts_through_the_reserved_bits() {
    const NAMES: [&str; 18] = [
        "C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10", "C11", "C12", "C13",
        "C14", "C15", "C16", "C17",
    ];
    let mut spec = demo_usdc_market();
    spec.collaterals = NAMES
        .iter()
        .map(|n| CollateralSpec::new(n, 18, E8, 8_000, 8_500))
        .collect();
    let env = env_with(spec).await;
    let (owner, account) = env.user(1);
    env.market
        .set_collateral(owner, "C3", units(500, 18))
        .await
        .unwrap();
    env.market
        .set_collateral(owner, "C17", units(1_000, 18))
        .await
        .unwrap();
    env.market
        .set_principal(owner, -1_000_000_000)
        .await
        .unwrap();
    let s = env.snapshot(&account).await.unwrap();

    // Collateral (1 USD each): (500e8 + 1_000e8) × 0.85 = 127_500_000_000.
    // Debt: 1_000e6 × 0.9999e8 / 1e6 = 99_990_000_000. Without offset 17 the collateral would be
    // 42_500_000_000 and the account liquidatable.
    let ratio = 127_500_000_000u128 * WAD / 99_990_000_000;
    assert_eq!(ratio, 1_275_127_512_751_275_127);
    assert_eq!(s.native_health.reproduced, wad_health(ratio));
    assert_eq!(
        s.native_health.agrees,
        Some(true),
        "{:#?}",
        s.native_health.figures
    );
    let c17 = position(&s, "C17", PositionKind::Supply);
    assert!(c17.counts_as_collateral);
    assert_eq!(
        (
            c17.native["asset_offset"].as_str(),
            c17.native["in_assets_in"].as_str()
        ),
        ("17", "true")
    );
}

#[tokio::test]
async fn a_wrong_contract_is_a_clear_error_not_garbage() {
    let env = env().await;
    let (_, account) = env.user(6);
    let reader = env.reader().await;
    // A contract without Comet's functions (the base token) reverts the layout read.
    let token = CompoundV3Factory
        .build(&spec(
            "compound-v3",
            "usdc",
            &env.chain,
            serde_json::json!({ "comet": env.market.base_token.to_checksum(None) }),
        ))
        .unwrap();
    let err = token.snapshot(&reader, &account).await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::CallReverted { function, .. } if function.starts_with("numAssets")),
        "{err:?}"
    );
    // An address without code answers every call with nothing, which must not decode as zeros.
    let eoa = CompoundV3Factory
        .build(&spec(
            "compound-v3",
            "usdc",
            &env.chain,
            serde_json::json!({ "comet": env.chain.accounts()[9].to_checksum(None) }),
        ))
        .unwrap();
    let err = eoa.snapshot(&reader, &account).await.unwrap_err();
    assert!(matches!(err, AdapterError::Malformed { .. }), "{err:?}");
}

#[test]
fn invalid_params_name_the_problem() {
    let build = |params: serde_json::Value| {
        let spec = DeploymentSpec {
            protocol: ProtocolId::new("compound-v3").unwrap(),
            kind: None,
            chain: unimargin_schema::ChainId::evm(1),
            market: MarketId("usdc".into()),
            params,
        };
        CompoundV3Factory
            .build(&spec)
            .err()
            .expect("must fail")
            .to_string()
    };
    let comet = "0xc3d688B66703497DAA19211EEdff47f25384cdc3";
    assert!(
        build(serde_json::json!({ "comet": comet, "pool": comet }))
            .contains("unknown field `pool`")
    );
    assert!(build(serde_json::json!({ "comet": "0x1234" })).contains("compound-v3 params"));
    assert!(
        build(serde_json::json!({ "comet": comet, "price_unit": "ETH" })).contains("no usd_feed")
    );
    assert!(
        build(serde_json::json!({ "comet": comet, "usd_feed": comet }))
            .contains("price_unit is USD")
    );
}

#[tokio::test]
async fn stale_base_feed_reports_its_age() {
    let env = env().await;
    let (owner, account) = env.user(7);
    seed_demo_borrower(&env.market, owner).await.unwrap();
    let now = env.now().await;
    env.market
        .set_price("USDC", 100_000_000, now - 2 * 86_400)
        .await
        .unwrap();
    let s = env.snapshot(&account).await.unwrap();
    let debt = position(&s, "USDC", PositionKind::Debt);
    assert_eq!(debt.price.usd, Decimal::ONE);
    assert!(debt.price.age_seconds.unwrap() >= 2 * 86_400);
}

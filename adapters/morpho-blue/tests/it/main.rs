//! Morpho Blue adapter against a real anvil node running the Solidity fixtures (Morpho Blue v1.0.0
//! ABIs).
//!
//! Expected values are computed here from Morpho's published formulas (`SharesMathLib`,
//! `MathLib.wTaylorCompounded`, `_accrueInterest`, `_isHealthy`) and written as the arithmetic
//! that produces them.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a test reports failure by panicking"
)]

mod abi;
mod config;
mod counting;
mod vectors;

use std::{collections::BTreeMap, str::FromStr, sync::Arc};

use alloy::primitives::{Address, B256, U256};
use unimargin_morpho_blue::{
    Discovery, KIND, MorphoBlueAdapter, MorphoBlueFactory,
    bindings::morpho::IMorpho,
    fixtures::{FixtureMorpho, MarketSpec, TokenSpec},
    math::oracle_price_scale,
    normalize::market_label,
};
use unimargin_schema::{
    AccountId, Decimal, Health, MarketId, Position, PositionKind, ProtocolId, ProtocolSnapshot,
    WarningKind,
};
use unimargin_sdk::{
    AdapterError, AdapterFactory, AdapterRegistry, ChainClient, DeploymentSpec, ProtocolAdapter,
    RegistryError, evm::EvmSettings, testkit::TestChain,
};

const E18: u128 = 1_000_000_000_000_000_000;
/// Shares per asset unit in a market whose totals were seeded at the initial exchange rate.
const SHARES_PER_ASSET: u128 = 1_000_000;
const MARKETS: [&str; 3] = ["WBTC/USDC", "wstETH/WETH", "WETH/USDC"];

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn u(v: u128) -> U256 {
    U256::from(v)
}

fn tokens() -> Vec<TokenSpec> {
    vec![
        // USD answers with 8 decimals: 1.00 and 3_000.00.
        TokenSpec {
            symbol: "USDC",
            decimals: 6,
            usd_e8: Some(100_000_000),
        },
        TokenSpec {
            symbol: "WETH",
            decimals: 18,
            usd_e8: Some(300_000_000_000),
        },
        // Collateral-only tokens: valued through their market's oracle, no USD feed of their own.
        TokenSpec {
            symbol: "WBTC",
            decimals: 8,
            usd_e8: None,
        },
        TokenSpec {
            symbol: "wstETH",
            decimals: 18,
            usd_e8: None,
        },
    ]
}

/// Oracle prices: 1e36 × loan units per collateral unit.
fn wbtc_usdc_price() -> U256 {
    // 60_000 USDC (6 dec) per WBTC (8 dec): 60_000e6 / 1e8 = 600 loan units per collateral unit.
    u(600) * oracle_price_scale()
}
fn wsteth_weth_price() -> U256 {
    // 1.2 WETH per wstETH, both 18 decimals: 1.2 × 1e36.
    u(12) * oracle_price_scale() / u(10)
}
fn weth_usdc_price() -> U256 {
    // 3_000 USDC (6 dec) per WETH (18 dec): 3_000e6 / 1e18 = 3e-9 → 3e-9 × 1e36 = 3e27.
    u(3_000_000_000) * U256::from(10u8).pow(U256::from(18u8))
}

fn market_specs() -> Vec<MarketSpec> {
    vec![
        MarketSpec {
            label: "WBTC/USDC",
            loan: "USDC",
            collateral: "WBTC",
            lltv: u(860_000_000_000_000_000),
            price: wbtc_usdc_price(),
        },
        MarketSpec {
            label: "wstETH/WETH",
            loan: "WETH",
            collateral: "wstETH",
            lltv: u(945_000_000_000_000_000),
            price: wsteth_weth_price(),
        },
        MarketSpec {
            label: "WETH/USDC",
            loan: "USDC",
            collateral: "WETH",
            lltv: u(860_000_000_000_000_000),
            price: weth_usdc_price(),
        },
    ]
}

fn risk_keys() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("WETH".to_owned(), "ETH".to_owned()),
        ("wstETH".to_owned(), "ETH".to_owned()),
        ("WBTC".to_owned(), "BTC".to_owned()),
        ("USDC".to_owned(), "USD".to_owned()),
    ])
}

/// Stored totals at the initial exchange rate (1e6 shares per unit), `lastUpdate`, fee (WAD).
fn stored(
    supply_assets: u128,
    borrow_assets: u128,
    last_update: u64,
    fee: u128,
) -> IMorpho::Market {
    IMorpho::Market {
        totalSupplyAssets: supply_assets,
        totalSupplyShares: supply_assets * SHARES_PER_ASSET,
        totalBorrowAssets: borrow_assets,
        totalBorrowShares: borrow_assets * SHARES_PER_ASSET,
        lastUpdate: u128::from(last_update),
        fee,
    }
}

struct Env {
    chain: TestChain,
    fx: FixtureMorpho,
    /// Per-market adapters, by label.
    adapters: BTreeMap<&'static str, Arc<dyn ProtocolAdapter>>,
}

fn spec(params: serde_json::Value, chain: &TestChain) -> DeploymentSpec {
    DeploymentSpec {
        protocol: ProtocolId::new("morpho-blue").unwrap(),
        kind: Some(KIND.into()),
        chain: chain.chain(),
        market: MarketId("blue".into()),
        params,
    }
}

/// Anvil with Morpho, four tokens and three markets; IRM rates `base` + `slope` × utilization.
async fn env_with_rates(base: U256, slope: U256) -> Env {
    let chain = TestChain::start().await.expect("anvil");
    let mut fx = FixtureMorpho::deploy(&chain, &tokens(), base, slope)
        .await
        .expect("deploy");
    for m in market_specs() {
        fx.create_market(&m).await.expect("create market");
    }
    let params = fx.deployment_params(&MARKETS, &risk_keys(), None).unwrap();
    let built = MorphoBlueFactory
        .build_many(&spec(params, &chain))
        .expect("adapters");
    let mut adapters = BTreeMap::new();
    for adapter in built {
        let label = MARKETS
            .iter()
            .find(|l| market_label(&fx.market(l).unwrap().id) == adapter.descriptor().market)
            .expect("adapter of a configured market");
        adapters.insert(*label, adapter);
    }
    Env {
        chain,
        fx,
        adapters,
    }
}

async fn env() -> Env {
    env_with_rates(U256::ZERO, U256::ZERO).await
}

impl Env {
    fn user(&self, i: usize) -> (Address, AccountId) {
        let a = self.chain.accounts()[i];
        (
            a,
            AccountId::from_str(&format!("eip155:31337:{a}")).unwrap(),
        )
    }

    fn client(&self) -> ChainClient {
        ChainClient::Evm(Arc::new(self.chain.client(EvmSettings::default())))
    }

    async fn now(&self) -> u64 {
        self.chain
            .client(EvmSettings::default())
            .pin_latest()
            .await
            .unwrap()
            .block_timestamp()
    }

    async fn snapshot(
        &self,
        label: &str,
        account: &AccountId,
    ) -> Result<ProtocolSnapshot, AdapterError> {
        let reader = self.client().pin().await?;
        self.adapters[label].snapshot(&reader, account).await
    }
}

fn position<'a>(s: &'a ProtocolSnapshot, symbol: &str, kind: PositionKind) -> &'a Position {
    s.positions
        .iter()
        .find(|p| p.asset.symbol == symbol && p.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} {symbol} position in {:#?}", s.positions))
}

fn wad_health(v: u128) -> Health {
    Health::Finite(Decimal::from_i128_with_scale(v as i128, 18).normalize())
}

#[tokio::test]
async fn positions_in_6_8_and_18_decimal_markets_match_hand_computed_health() {
    let env = env().await;
    let (owner, account) = env.user(1);
    let now = env.now().await;
    // WBTC/USDC: 1_000_000 USDC supplied, 400_000 borrowed; the owner holds 0.5 WBTC and owes
    // 20_000 USDC (20_000e6 × 1e6 shares).
    env.fx
        .set_market(
            "WBTC/USDC",
            stored(1_000_000_000_000, 400_000_000_000, now, 0),
        )
        .await
        .unwrap();
    env.fx
        .set_position(
            "WBTC/USDC",
            owner,
            U256::ZERO,
            20_000_000_000 * SHARES_PER_ASSET,
            50_000_000,
        )
        .await
        .unwrap();
    // wstETH/WETH: 10 wstETH of collateral, 10 WETH owed.
    env.fx
        .set_market("wstETH/WETH", stored(2_000 * E18, 1_000 * E18, now, 0))
        .await
        .unwrap();
    env.fx
        .set_position(
            "wstETH/WETH",
            owner,
            U256::ZERO,
            10 * E18 * SHARES_PER_ASSET,
            10 * E18,
        )
        .await
        .unwrap();
    // WETH/USDC: 5_000 USDC supplied (lent out, collateral of nobody).
    env.fx
        .set_market("WETH/USDC", stored(1_000_000_000_000, 0, now, 0))
        .await
        .unwrap();
    env.fx
        .set_position(
            "WETH/USDC",
            owner,
            u(5_000_000_000 * SHARES_PER_ASSET),
            0,
            0,
        )
        .await
        .unwrap();

    // --- WBTC/USDC (8-decimal collateral, 6-decimal loan) ---
    let s = env.snapshot("WBTC/USDC", &account).await.unwrap();
    assert_eq!(
        s.provenance.market,
        market_label(&env.fx.market("WBTC/USDC").unwrap().id)
    );
    // borrowed = ceil(20_000e12 × (400_000e6 + 1) / (400_000e12 + 1e6)) = 20_000e6 (the ratio is exactly 1e-6).
    let borrowed: u128 = 20_000_000_000;
    // maxBorrow = floor(floor(0.5e8 × 600e36 / 1e36) × 0.86e18 / 1e18) = 30_000e6 × 0.86 = 25_800e6.
    let max_borrow: u128 = 50_000_000 * 600 * 86 / 100;
    assert_eq!(max_borrow, 25_800_000_000);
    // Health factor = maxBorrow × 1e18 / borrowed = 1.29.
    let hf = max_borrow * E18 / borrowed;
    let nh = &s.native_health;
    assert_eq!(nh.metric, "morpho-blue.health_factor");
    assert_eq!(nh.reproduced, wad_health(hf));
    assert_eq!(nh.reproduced, Health::Finite(d("1.29")));
    assert_eq!(
        (nh.reported, nh.agrees, nh.value, nh.liquidatable),
        (None, Some(true), Health::Finite(d("1.29")), false)
    );
    assert_eq!(
        nh.figures["reported.liquidate_probe"],
        "position is healthy"
    );
    assert_eq!(
        nh.figures["reproduced.max_borrow_assets"],
        max_borrow.to_string()
    );
    assert_eq!(
        nh.figures["reproduced.borrowed_assets"],
        borrowed.to_string()
    );
    // LTV = 20_000 / 30_000, rounded up; liquidation price = 20_000e6 × 1e54 / (0.5e8 × 0.86e18), rounded up.
    assert_eq!(
        nh.figures["reproduced.ltv_wad"],
        (borrowed * E18).div_ceil(30_000_000_000).to_string()
    );
    let wbtc = position(&s, "WBTC", PositionKind::Supply);
    assert_eq!(
        (
            wbtc.amount,
            wbtc.asset.decimals,
            wbtc.asset.risk_key.as_str()
        ),
        (d("0.5"), 8, "BTC")
    );
    // 600e36 × 1e8 / 1e(36 + 6) = 60_000 USDC per WBTC, × 1 USD per USDC.
    assert_eq!((wbtc.price.usd, wbtc.value_usd), (d("60000"), d("30000")));
    assert_eq!(
        (wbtc.weights.initial, wbtc.weights.maintenance),
        (d("0.86"), d("0.86"))
    );
    assert!(wbtc.counts_as_collateral);
    assert_eq!(wbtc.price.source.oracle, "morpho-oracle");
    assert_eq!(
        wbtc.price.age_seconds, None,
        "Morpho oracles expose no update time"
    );
    // ceil(20_000e6 × 1e36 × 1e18 / (0.5e8 × 0.86e18)) = 465.116…e36 loan units per collateral unit,
    // i.e. 465.116… × 1e8 / 1e6 = 46_511.627… USDC per WBTC.
    assert!(
        wbtc.native["liquidation_price_usd"].starts_with("46511.6279069767441860465116"),
        "{:?}",
        wbtc.native
    );
    let usdc_debt = position(&s, "USDC", PositionKind::Debt);
    assert_eq!(
        (
            usdc_debt.amount,
            usdc_debt.value_usd,
            usdc_debt.asset.decimals
        ),
        (d("20000"), d("20000"), 6)
    );
    assert_eq!(
        (usdc_debt.weights.initial, usdc_debt.weights.maintenance),
        (Decimal::ONE, Decimal::ONE)
    );
    assert!(
        usdc_debt.price.age_seconds.is_some(),
        "the USD feed exposes updatedAt"
    );
    assert_eq!(s.positions.len(), 2);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);

    // --- wstETH/WETH (18/18) ---
    let s = env.snapshot("wstETH/WETH", &account).await.unwrap();
    // maxBorrow = 10e18 × 1.2e36 / 1e36 × 0.945 = 11.34e18; borrowed = 10e18; health = 1.134.
    assert_eq!(
        s.native_health.reproduced,
        wad_health(11_340_000_000_000_000_000 * E18 / (10 * E18))
    );
    assert_eq!(s.native_health.reproduced, Health::Finite(d("1.134")));
    assert_eq!(s.native_health.agrees, Some(true));
    let wsteth = position(&s, "wstETH", PositionKind::Supply);
    // 1.2 WETH per wstETH × 3_000 USD per WETH.
    assert_eq!(
        (wsteth.amount, wsteth.price.usd, wsteth.value_usd),
        (d("10"), d("3600"), d("36000"))
    );
    assert_eq!(
        (
            wsteth.weights.maintenance,
            wsteth.asset.risk_key.as_str(),
            wsteth.asset.decimals
        ),
        (d("0.945"), "ETH", 18)
    );
    let weth_debt = position(&s, "WETH", PositionKind::Debt);
    assert_eq!(
        (weth_debt.amount, weth_debt.price.usd, weth_debt.value_usd),
        (d("10"), d("3000"), d("30000"))
    );

    // --- WETH/USDC: a supply of the loan token only ---
    let s = env.snapshot("WETH/USDC", &account).await.unwrap();
    // floor(5_000e12 × (1_000_000e6 + 1) / (1_000_000e12 + 1e6)) = 5_000e6.
    let usdc = position(&s, "USDC", PositionKind::Supply);
    assert_eq!((usdc.amount, usdc.value_usd), (d("5000"), d("5000")));
    assert!(
        !usdc.counts_as_collateral,
        "Morpho lends supplied loan tokens out; they back nothing"
    );
    assert_eq!(usdc.native["balance_base_units"], "5000000000");
    assert_eq!(s.positions.len(), 1);
    assert_eq!(s.native_health.reproduced, Health::Infinite);
    assert_eq!(s.native_health.agrees, Some(true));
    assert_eq!(
        serde_json::to_value(&s.native_health).unwrap()["value"],
        "infinity"
    );
}

#[tokio::test]
async fn near_liquidation_on_each_side_of_the_threshold() {
    let env = env().await;
    let (owner, account) = env.user(2);
    let now = env.now().await;
    env.fx
        .set_market(
            "WBTC/USDC",
            stored(1_000_000_000_000, 400_000_000_000, now, 0),
        )
        .await
        .unwrap();
    // 1 WBTC at 60_000 USDC, LLTV 86 %: maxBorrow = 51_600e6. The owner owes exactly that.
    env.fx
        .set_position(
            "WBTC/USDC",
            owner,
            U256::ZERO,
            51_600_000_000 * SHARES_PER_ASSET,
            100_000_000,
        )
        .await
        .unwrap();

    let s = env.snapshot("WBTC/USDC", &account).await.unwrap();
    // Healthy iff maxBorrow ≥ borrowed: 51_600e6 ≥ 51_600e6, health exactly 1, not liquidatable.
    assert_eq!(s.native_health.reproduced, Health::Finite(Decimal::ONE));
    assert!(!s.native_health.liquidatable);
    assert_eq!(
        s.native_health.agrees,
        Some(true),
        "Morpho's liquidate says healthy too"
    );

    // The price drops by 1e28 (1e-8 loan units per collateral unit): the collateral is worth
    // floor(1e8 × (600e36 − 1e28) / 1e36) = 60_000e6 − 1, and maxBorrow = floor((60_000e6 − 1) × 0.86) = 51_599_999_999.
    let lower = wbtc_usdc_price() - U256::from(10u8).pow(U256::from(28u8));
    env.fx.set_price("WBTC/USDC", lower).await.unwrap();
    let s = env.snapshot("WBTC/USDC", &account).await.unwrap();
    let max_borrow: u128 = (60_000_000_000 - 1) * 86 / 100;
    assert_eq!(max_borrow, 51_599_999_999);
    let hf = max_borrow * E18 / 51_600_000_000;
    assert_eq!(s.native_health.reproduced, wad_health(hf));
    assert!(s.native_health.reproduced < Health::Finite(Decimal::ONE));
    assert!(s.native_health.liquidatable);
    // Morpho's own check agrees that the position can be liquidated.
    assert_eq!(s.native_health.agrees, Some(true));
    assert_eq!(s.native_health.figures["reported.healthy"], "false");
    assert_eq!(s.native_health.value, s.native_health.reproduced);
}

#[tokio::test]
async fn owner_without_positions_gets_empty_snapshots_with_infinite_health() {
    let env = env().await;
    let (_, account) = env.user(3);
    for label in MARKETS {
        let s = env.snapshot(label, &account).await.unwrap();
        assert!(s.positions.is_empty(), "{label}");
        assert_eq!(s.native_health.reproduced, Health::Infinite);
        assert_eq!(s.native_health.value, Health::Infinite);
        assert_eq!(s.native_health.agrees, Some(true));
        assert!(s.warnings.is_empty());
    }
}

#[tokio::test]
async fn view_inconsistent_with_morphos_own_accounting_is_reported_and_fails_closed() {
    let env = env().await;
    let (owner, account) = env.user(4);
    let now = env.now().await;
    env.fx
        .set_market(
            "WBTC/USDC",
            stored(1_000_000_000_000, 400_000_000_000, now, 0),
        )
        .await
        .unwrap();
    // 1 WBTC (maxBorrow 51_600e6) against 55_000 USDC of debt: liquidatable.
    env.fx
        .set_position(
            "WBTC/USDC",
            owner,
            U256::ZERO,
            55_000_000_000 * SHARES_PER_ASSET,
            100_000_000,
        )
        .await
        .unwrap();
    // position() now hides 10_000 USDC of those shares; Morpho's accounting keeps them.
    env.fx
        .set_position_view_skew("WBTC/USDC", owner, 10_000_000_000 * SHARES_PER_ASSET)
        .await
        .unwrap();

    let s = env.snapshot("WBTC/USDC", &account).await.unwrap();
    // From the views: 51_600e6 / 45_000e6 = 1.1466…, healthy.
    assert_eq!(
        s.native_health.reproduced,
        wad_health(51_600_000_000 * E18 / 45_000_000_000)
    );
    assert_eq!(s.native_health.figures["reproduced.healthy"], "true");
    // Morpho's liquidate, which uses its own storage, goes past the health check.
    assert_eq!(s.native_health.figures["reported.healthy"], "false");
    assert_eq!(s.native_health.agrees, Some(false));
    // Fail closed: the protocol says liquidatable, so the value relied on is 0.
    assert_eq!(s.native_health.value, Health::Finite(Decimal::ZERO));
    assert!(s.native_health.liquidatable);
    let w: Vec<_> = s
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::NativeHealthMismatch)
        .collect();
    assert_eq!(w.len(), 1, "{:?}", s.warnings);
    assert!(w[0].message.contains("liquidatable"), "{}", w[0].message);

    // An honest view again: both sides agree that the position is liquidatable.
    env.fx
        .set_position_view_skew("WBTC/USDC", owner, 0)
        .await
        .unwrap();
    let s = env.snapshot("WBTC/USDC", &account).await.unwrap();
    assert_eq!(s.native_health.agrees, Some(true));
    assert!(s.native_health.liquidatable);
}

/// Morpho's accrual, as the test's own arithmetic: the expected totals after `elapsed` seconds.
fn expected_accrual(m: &IMorpho::Market, rate: u128, elapsed: u128) -> (u128, u128, u128, u128) {
    let first = rate * elapsed;
    let second = first * first / (2 * E18);
    let third = second * first / (3 * E18);
    let interest = m.totalBorrowAssets * (first + second + third) / E18;
    let supply_assets = m.totalSupplyAssets + interest;
    let fee_amount = interest * m.fee / E18;
    // toSharesDown(fee, supply − fee, shares) = fee × (shares + 1e6) / (supply − fee + 1).
    let fee_shares =
        fee_amount * (m.totalSupplyShares + 1_000_000) / (supply_assets - fee_amount + 1);
    (
        supply_assets,
        m.totalSupplyShares + fee_shares,
        m.totalBorrowAssets + interest,
        fee_shares,
    )
}

#[tokio::test]
async fn interest_accrues_to_the_pinned_block_with_fee_shares() {
    // rate = 1e9 + 2e9 × utilization per second (WAD).
    let env = env_with_rates(u(1_000_000_000), u(2_000_000_000)).await;
    let (owner, account) = env.user(5);
    let (fee_recipient, fee_account) = env.user(6);
    env.fx.set_fee_recipient(fee_recipient).await.unwrap();
    let start = env.now().await - 30 * 86_400;
    // 1_000_000 USDC supplied, 800_000 borrowed, last accrued 30 days ago, fee 10 %.
    let m = stored(1_000_000_000_000, 800_000_000_000, start, E18 / 10);
    env.fx.set_market("WETH/USDC", m.clone()).await.unwrap();
    // The owner supplies 10_000 USDC and borrows 5_000 against 10 WETH.
    env.fx
        .set_position(
            "WETH/USDC",
            owner,
            u(10_000_000_000 * SHARES_PER_ASSET),
            5_000_000_000 * SHARES_PER_ASSET,
            10 * E18,
        )
        .await
        .unwrap();
    env.chain.advance_time(3_600).await.unwrap();

    let reader = env.client().pin().await.unwrap();
    let block_time = reader.evm().unwrap().block_timestamp();
    let s = env.adapters["WETH/USDC"]
        .snapshot(&reader, &account)
        .await
        .unwrap();

    // utilization = 800_000e6 × 1e18 / 1_000_000e6 = 0.8e18; rate = 1e9 + 2e9 × 0.8 = 2.6e9.
    let rate: u128 =
        1_000_000_000 + 2_000_000_000 * (800_000_000_000 * E18 / 1_000_000_000_000) / E18;
    assert_eq!(rate, 2_600_000_000);
    let elapsed = u128::from(block_time - start);
    let (supply_assets, supply_shares, borrow_assets, fee_shares) =
        expected_accrual(&m, rate, elapsed);
    let nh = &s.native_health;
    assert_eq!(nh.figures["accrual.elapsed_seconds"], elapsed.to_string());
    assert_eq!(
        nh.figures["accrual.borrow_rate_wad_per_second"],
        rate.to_string()
    );
    assert_eq!(
        nh.figures["reproduced.total_borrow_assets"],
        borrow_assets.to_string()
    );
    assert_eq!(
        nh.figures["reproduced.total_supply_shares"],
        supply_shares.to_string()
    );
    assert_eq!(nh.figures["accrual.fee_shares"], fee_shares.to_string());
    // Supply: floor(shares × (supply + 1) / (supply shares + 1e6)); debt: the same rounded up.
    let supply =
        10_000_000_000 * SHARES_PER_ASSET * (supply_assets + 1) / (supply_shares + 1_000_000);
    let debt = (5_000_000_000 * SHARES_PER_ASSET * (borrow_assets + 1))
        .div_ceil(800_000_000_000 * SHARES_PER_ASSET + 1_000_000);
    assert!(
        supply > 10_000_000_000 && debt > 5_000_000_000,
        "30 days of interest: {supply} {debt}"
    );
    assert_eq!(
        position(&s, "USDC", PositionKind::Supply).native["balance_base_units"],
        supply.to_string()
    );
    assert_eq!(
        position(&s, "USDC", PositionKind::Debt).native["balance_base_units"],
        debt.to_string()
    );
    assert_eq!(nh.agrees, Some(true));

    // The fixture's own accrual (Solidity, `accrueInterest` then `market` in one aggregate3 at the
    // same block) lands on the same totals as our reproduction.
    let evm = reader.evm().unwrap();
    let mut batch = evm.batch();
    let params = env.fx.market("WETH/USDC").unwrap().params.clone();
    let id = env.fx.market("WETH/USDC").unwrap().id;
    batch.add(
        env.fx.morpho,
        &IMorpho::accrueInterestCall {
            marketParams: params,
        },
    );
    let after = batch.add(env.fx.morpho, &IMorpho::marketCall { id });
    let accrued = batch.execute().await.unwrap().get(after).unwrap();
    assert_eq!(accrued.totalBorrowAssets, borrow_assets);
    assert_eq!(accrued.totalSupplyAssets, supply_assets);
    assert_eq!(accrued.totalSupplyShares, supply_shares);

    // The fee recipient holds no stored shares, but accrual mints it the fee shares.
    let s = env.adapters["WETH/USDC"]
        .snapshot(&reader, &fee_account)
        .await
        .unwrap();
    let fee_supply = fee_shares * (supply_assets + 1) / (supply_shares + 1_000_000);
    assert_eq!(
        position(&s, "USDC", PositionKind::Supply).native["balance_base_units"],
        fee_supply.to_string()
    );
}

#[tokio::test]
async fn a_market_changed_since_its_last_read_gets_the_rate_of_its_new_state() {
    let env = env_with_rates(u(1_000_000_000), u(2_000_000_000)).await;
    let (owner, account) = env.user(5);
    let (lender, _) = env.user(7);
    let start = env.now().await - 86_400;
    let m = stored(1_000_000_000_000, 800_000_000_000, start, 0);
    env.fx.set_market("WETH/USDC", m).await.unwrap();
    env.fx
        .set_position(
            "WETH/USDC",
            owner,
            U256::ZERO,
            5_000_000_000 * SHARES_PER_ASSET,
            10 * E18,
        )
        .await
        .unwrap();
    env.snapshot("WETH/USDC", &account).await.unwrap();

    // A lender supplies 1_000_000 USDC: Morpho accrues, then utilization halves, and so does the
    // slope part of the rate; the adapter's remembered state is now stale.
    env.fx
        .fund("USDC", lender, u(1_000_000_000_000))
        .await
        .unwrap();
    env.fx
        .supply("WETH/USDC", lender, u(1_000_000_000_000), lender)
        .await
        .unwrap();
    env.chain.advance_time(86_400).await.unwrap();

    let reader = env.client().pin().await.unwrap();
    let s = env.adapters["WETH/USDC"]
        .snapshot(&reader, &account)
        .await
        .unwrap();
    // Read the stored market as Morpho holds it now and compute the expected rate and debt.
    let evm = reader.evm().unwrap();
    let id = env.fx.market("WETH/USDC").unwrap().id;
    let now_stored = evm
        .call(env.fx.morpho, &IMorpho::marketCall { id })
        .await
        .unwrap();
    let utilization = now_stored.totalBorrowAssets * E18 / now_stored.totalSupplyAssets;
    let rate = 1_000_000_000 + 2_000_000_000 * utilization / E18;
    assert!(rate < 2_000_000_000, "utilization fell below 50 %: {rate}");
    let elapsed = u128::from(evm.block_timestamp()) - now_stored.lastUpdate;
    let (_, _, borrow_assets, _) = expected_accrual(&now_stored, rate, elapsed);
    assert_eq!(
        s.native_health.figures["accrual.borrow_rate_wad_per_second"],
        rate.to_string()
    );
    let debt = (5_000_000_000 * SHARES_PER_ASSET * (borrow_assets + 1))
        .div_ceil(now_stored.totalBorrowShares + 1_000_000);
    assert_eq!(
        position(&s, "USDC", PositionKind::Debt).native["balance_base_units"],
        debt.to_string()
    );
}

#[tokio::test]
async fn an_oracle_that_stops_answering_is_no_verdict_for_a_lender_and_a_missing_price_for_a_borrower()
 {
    let env = env().await;
    let (lender, lender_account) = env.user(1);
    let (borrower, borrower_account) = env.user(2);
    let now = env.now().await;
    env.fx
        .set_market(
            "WETH/USDC",
            stored(1_000_000_000_000, 100_000_000_000, now, 0),
        )
        .await
        .unwrap();
    env.fx
        .set_position(
            "WETH/USDC",
            lender,
            u(1_000_000_000 * SHARES_PER_ASSET),
            0,
            0,
        )
        .await
        .unwrap();
    env.fx
        .set_position(
            "WETH/USDC",
            borrower,
            U256::ZERO,
            1_000_000_000 * SHARES_PER_ASSET,
            E18,
        )
        .await
        .unwrap();
    env.fx.set_price("WETH/USDC", U256::ZERO).await.unwrap();

    // liquidate asks the oracle before its health check, so Morpho gives no verdict; the lender's
    // supply needs no collateral price and stays healthy.
    let s = env.snapshot("WETH/USDC", &lender_account).await.unwrap();
    assert_eq!(position(&s, "USDC", PositionKind::Supply).amount, d("1000"));
    assert_eq!(
        (s.native_health.agrees, s.native_health.value),
        (None, Health::Infinite)
    );
    assert!(!s.native_health.liquidatable);
    assert_eq!(s.native_health.figures["reported.healthy"], "unknown");
    // A borrower cannot be valued without the price: a missing price, never a zero.
    let err = env
        .snapshot("WETH/USDC", &borrower_account)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AdapterError::MissingPrice { ref detail, .. } if detail.contains("OracleFixture: no price")),
        "{err:?}"
    );
    assert_eq!(
        err.failure_kind(),
        unimargin_schema::FailureKind::MissingPrice
    );
}

#[tokio::test]
async fn stale_usd_feed_reports_its_age() {
    let env = env().await;
    let (owner, account) = env.user(8);
    let now = env.now().await;
    env.fx
        .set_market("WETH/USDC", stored(1_000_000_000_000, 0, now, 0))
        .await
        .unwrap();
    env.fx
        .set_position(
            "WETH/USDC",
            owner,
            u(1_000_000_000 * SHARES_PER_ASSET),
            0,
            0,
        )
        .await
        .unwrap();
    env.fx
        .set_usd_price("USDC", 99_990_000 /* 0.9999 */, now - 2 * 86_400)
        .await
        .unwrap();
    let s = env.snapshot("WETH/USDC", &account).await.unwrap();
    let usdc = position(&s, "USDC", PositionKind::Supply);
    assert_eq!((usdc.price.usd, usdc.value_usd), (d("0.9999"), d("999.9")));
    assert!(usdc.price.age_seconds.unwrap() >= 2 * 86_400);
}

#[tokio::test]
async fn wrong_addresses_are_clear_errors_not_garbage() {
    let env = env().await;
    let (_, account) = env.user(1);
    let reader = env.client().pin().await.unwrap();
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut params = env
            .fx
            .deployment_params(&["WBTC/USDC"], &BTreeMap::new(), None)
            .unwrap();
        f(&mut params);
        MorphoBlueFactory.build(&spec(params, &env.chain)).unwrap()
    };
    // Morpho pointed at the IRM: a contract without Morpho's functions reverts.
    let irm = env.fx.irm.to_checksum(None);
    let err = with(&|p| p["morpho"] = serde_json::json!(irm))
        .snapshot(&reader, &account)
        .await
        .unwrap_err();
    assert!(matches!(err, AdapterError::CallReverted { .. }), "{err:?}");
    // Morpho pointed at an account without code: empty replies do not decode.
    let eoa = env.chain.accounts()[9].to_checksum(None);
    let err = with(&|p| p["morpho"] = serde_json::json!(eoa))
        .snapshot(&reader, &account)
        .await
        .unwrap_err();
    assert!(matches!(err, AdapterError::Malformed { .. }), "{err:?}");
    // A market id that was never created.
    let missing = format!("{:#x}", B256::repeat_byte(0x42));
    let err = with(&|p| p["markets"] = serde_json::json!([missing]))
        .snapshot(&reader, &account)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AdapterError::Config(m) if m.contains("not created")),
        "{err:?}"
    );
}

#[test]
fn invalid_params_name_the_problem() {
    let spec = |params: serde_json::Value| DeploymentSpec {
        protocol: ProtocolId::new("morpho-blue").unwrap(),
        kind: None,
        chain: unimargin_schema::ChainId::evm(1),
        market: MarketId("blue".into()),
        params,
    };
    let morpho = "0xBBBBBbbBBb9cC5e90e3b3Af64bdAF62C37EEFFCb";
    let market = "0xc54d7acf14de29e0e5527cabd7a576506870346a78a11a6762e2cca66322ec41";
    let err = MorphoBlueFactory
        .build(&spec(
            serde_json::json!({"morpho": morpho, "market": [market]}),
        ))
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("morpho-blue params") && err.to_string().contains("market"),
        "{err}"
    );
    let err = MorphoBlueFactory
        .build(&spec(serde_json::json!({"morpho": morpho})))
        .err()
        .unwrap();
    assert!(err.to_string().contains("lists no markets"), "{err}");
    let err = MorphoBlueFactory
        .build(&spec(
            serde_json::json!({"morpho": morpho, "markets": [market, market]}),
        ))
        .err()
        .unwrap();
    assert!(err.to_string().contains("listed twice"), "{err}");
    let ok = MorphoBlueFactory
        .build(&spec(
            serde_json::json!({"morpho": morpho, "markets": [market]}),
        ))
        .unwrap();
    assert_eq!(ok.descriptor().market.0, market);
}

#[test]
fn the_registry_builds_one_adapter_per_market_and_rejects_a_market_configured_twice() {
    let morpho = "0xBBBBBbbBBb9cC5e90e3b3Af64bdAF62C37EEFFCb";
    let a = "0xc54d7acf14de29e0e5527cabd7a576506870346a78a11a6762e2cca66322ec41";
    let b = "0x3a85e619751152991742810df6ec69ce473daef99e28a64ab2340d7b7ccfee49";
    let spec = |label: &str, markets: &[&str]| DeploymentSpec {
        protocol: ProtocolId::new("morpho-blue").unwrap(),
        kind: None,
        chain: unimargin_schema::ChainId::evm(1),
        market: MarketId(label.into()),
        params: serde_json::json!({"morpho": morpho, "markets": markets}),
    };
    let mut registry = AdapterRegistry::new();
    registry.register(MorphoBlueFactory);
    registry.build_all(&[spec("blue", &[a, b])]).unwrap();
    let markets: Vec<_> = registry
        .adapters()
        .iter()
        .map(|x| x.descriptor().market.0.clone())
        .collect();
    assert_eq!(markets, vec![a.to_owned(), b.to_owned()]);

    let mut registry = AdapterRegistry::new();
    registry.register(MorphoBlueFactory);
    let err = registry
        .build_all(&[spec("blue", &[a]), spec("other", &[a])])
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::Duplicate { ref market, .. } if market.0 == a),
        "{err}"
    );
}

#[tokio::test]
async fn discovery_finds_every_market_the_owner_supplied_or_posted_collateral_in() {
    let env = env().await;
    let (owner, account) = env.user(1);
    let (lender, _) = env.user(2);
    let (helper, helper_account) = env.user(3);
    // A lender provides 100_000 USDC to both USDC markets.
    env.fx
        .fund("USDC", lender, u(200_000_000_000))
        .await
        .unwrap();
    env.fx
        .supply("WBTC/USDC", lender, u(100_000_000_000), lender)
        .await
        .unwrap();
    env.fx
        .supply("WETH/USDC", lender, u(100_000_000_000), lender)
        .await
        .unwrap();
    // The owner posts 1 WBTC, posted by someone else on its behalf, and borrows 30_000 USDC.
    env.fx.fund("WBTC", helper, u(100_000_000)).await.unwrap();
    env.fx
        .supply_collateral("WBTC/USDC", helper, u(100_000_000), owner)
        .await
        .unwrap();
    env.fx
        .borrow("WBTC/USDC", owner, u(30_000_000_000))
        .await
        .unwrap();
    // And supplies 1_000 USDC to WETH/USDC itself.
    env.fx.fund("USDC", owner, u(1_000_000_000)).await.unwrap();
    env.fx
        .supply("WETH/USDC", owner, u(1_000_000_000), owner)
        .await
        .unwrap();

    // Only wstETH/WETH is configured; the rest must be found in the logs.
    let params = env
        .fx
        .deployment_params(
            &["wstETH/WETH"],
            &risk_keys(),
            Some(Discovery {
                from_block: 0,
                max_block_range: Some(7),
            }),
        )
        .unwrap();
    let params_with_discovery = params.clone();
    let deployment = MorphoBlueAdapter::from_spec(&spec(params, &env.chain)).unwrap();
    let reader = env.client().pin().await.unwrap();
    let snapshots = deployment.snapshots(&reader, &account).await.unwrap();
    let by_market: BTreeMap<MarketId, &ProtocolSnapshot> = snapshots
        .iter()
        .map(|s| (s.provenance.market.clone(), s))
        .collect();
    let id = |l: &str| market_label(&env.fx.market(l).unwrap().id);
    assert_eq!(by_market.len(), 3, "{:?}", by_market.keys());
    // The configured market is there although empty; the discovered ones with their positions.
    assert!(by_market[&id("wstETH/WETH")].positions.is_empty());
    let wbtc = by_market[&id("WBTC/USDC")];
    assert_eq!(position(wbtc, "WBTC", PositionKind::Supply).amount, d("1"));
    assert_eq!(
        position(wbtc, "USDC", PositionKind::Debt).amount,
        d("30000")
    );
    // 51_600 / 30_000 = 1.72, and each market keeps its own native health.
    assert_eq!(wbtc.native_health.reproduced, Health::Finite(d("1.72")));
    assert_eq!(
        position(by_market[&id("WETH/USDC")], "USDC", PositionKind::Supply).amount,
        d("1000")
    );
    assert_eq!(
        by_market[&id("WETH/USDC")].native_health.reproduced,
        Health::Infinite
    );

    // The helper only ever acted on behalf of the owner: nothing discovered for it.
    let helper_snapshots = deployment
        .snapshots(&reader, &helper_account)
        .await
        .unwrap();
    assert_eq!(helper_snapshots.len(), 1, "only the configured market");
    assert!(helper_snapshots[0].positions.is_empty());

    // A deployment is several markets: asking it for one snapshot is an error, not a guess.
    let err = deployment.snapshot(&reader, &account).await.unwrap_err();
    assert!(matches!(err, AdapterError::Config(_)), "{err:?}");

    // With discovery configured the factory builds this one deployment-wide adapter, which the
    // profiler reads through `snapshots` and does not expect by market.
    let built = MorphoBlueFactory
        .build_many(&spec(params_with_discovery, &env.chain))
        .unwrap();
    assert_eq!(built.len(), 1);
    assert!(built[0].discovers_markets());
    assert_eq!(
        built[0].snapshots(&reader, &account).await.unwrap().len(),
        3
    );
}

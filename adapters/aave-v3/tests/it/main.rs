//! Aave v3 adapter against a real anvil node running the Solidity fixtures (Aave v3.6 ABIs).
//!
//! Expected values are computed here from Aave's published formulas (GenericLogic,
//! WadRayMath) and written as the arithmetic that produces them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::inconsistent_digit_grouping,
    reason = "a test reports failure by panicking; amounts are grouped as whole units _ decimals, \
              the way the expected values are derived"
)]

mod abi;
mod spark;

use std::{collections::BTreeMap, str::FromStr, sync::Arc};

use alloy::primitives::{Address, U256};
use unimargin_aave_v3::{
    AaveV3Factory, KIND,
    fixtures::{FixtureMarket, demo_reserves, demo_risk_keys, seed_demo_owner, units},
};
use unimargin_schema::{
    AccountId, Decimal, Health, MarketId, PositionKind, ProtocolId, ProtocolSnapshot,
};
use unimargin_sdk::{
    AdapterError, AdapterFactory, DeploymentSpec, ProtocolAdapter, evm::EvmSettings,
    testkit::TestChain,
};

const WAD: u128 = 1_000_000_000_000_000_000;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

struct Env {
    chain: TestChain,
    market: FixtureMarket,
    adapter: Arc<dyn ProtocolAdapter>,
}

async fn env() -> Env {
    let chain = TestChain::start().await.expect("anvil");
    let market = FixtureMarket::deploy(&chain, "Fixture Core", &demo_reserves())
        .await
        .expect("deploy fixtures");
    let spec = DeploymentSpec {
        protocol: ProtocolId::new("aave-v3").unwrap(),
        kind: Some(KIND.into()),
        chain: chain.chain(),
        market: MarketId("core".into()),
        params: market.deployment_params(&demo_risk_keys()),
    };
    let adapter = AaveV3Factory.build(&spec).expect("adapter");
    Env {
        chain,
        market,
        adapter,
    }
}

impl Env {
    fn user(&self, i: usize) -> (Address, AccountId) {
        let a = self.chain.accounts()[i];
        (
            a,
            AccountId::from_str(&format!("eip155:31337:{a}")).unwrap(),
        )
    }

    async fn snapshot(&self, account: &AccountId) -> Result<ProtocolSnapshot, AdapterError> {
        let reader =
            unimargin_sdk::ChainClient::Evm(Arc::new(self.chain.client(EvmSettings::default())))
                .pin()
                .await?;
        self.adapter.snapshot(&reader, account).await
    }
}

fn position<'a>(
    s: &'a ProtocolSnapshot,
    symbol: &str,
    kind: PositionKind,
) -> &'a unimargin_schema::Position {
    s.positions
        .iter()
        .find(|p| p.asset.symbol == symbol && p.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} {symbol} position in {:#?}", s.positions))
}

#[tokio::test]
async fn multi_decimal_account_matches_hand_computed_health_factor() {
    let env = env().await;
    let (owner, account) = env.user(1);
    seed_demo_owner(&env.market, owner).await.unwrap();
    let s = env.snapshot(&account).await.unwrap();

    // Collateral in base currency (USD, 8 decimals), Aave: balance × price / 10^decimals.
    //   WETH (18 dec): 10e18 × 3000e8 / 1e18    = 30_000e8
    //   WBTC ( 8 dec): 0.5e8 × 60_000e8 / 1e8   = 30_000e8
    //   USDC ( 6 dec): supplied but not enabled as collateral → not counted.
    // Debt, rounded up: USDC 12_000e6 × 1e8 / 1e6 = 12_000e8; DAI 3_000e18 × 0.9998e8 / 1e18 = 2_999.4e8.
    let total_collateral: u128 = 30_000_0000_0000 + 30_000_0000_0000;
    let total_debt: u128 = 12_000_0000_0000 + 2_999_4000_0000;
    // Σ collateral × liquidation threshold (bps): 30_000e8 × 8300 + 30_000e8 × 7800.
    let lt_sum: u128 = 30_000_0000_0000 * 8300 + 30_000_0000_0000 * 7800;
    // HF = wadDiv(lt_sum, debt) / 1e4, wadDiv rounding half up.
    let hf_wad = (lt_sum * WAD + total_debt / 2) / total_debt / 10_000;
    assert_eq!(hf_wad, 3_220_128_805_152_206_088);
    let expected = Health::Finite(Decimal::from_i128_with_scale(hf_wad as i128, 18).normalize());

    let nh = &s.native_health;
    assert_eq!(nh.reproduced, expected);
    assert_eq!(nh.reported, Some(expected), "getUserAccountData must agree");
    assert_eq!(nh.agrees, Some(true));
    assert_eq!(nh.value, expected);
    assert!(!nh.liquidatable);
    assert_eq!(
        nh.figures["reproduced.total_collateral_base"],
        total_collateral.to_string()
    );
    assert_eq!(
        nh.figures["reported.total_debt_base"],
        total_debt.to_string()
    );
    // Available borrows = collateral × avg LTV − debt; avg LTV = (30_000e8×8050 + 30_000e8×7300) / 60_000e8 = 7675.
    assert_eq!(nh.figures["reported.ltv_bps"], "7675");
    assert_eq!(
        nh.figures["reported.available_borrows_base"],
        (total_collateral * 7675 / 10_000 - total_debt).to_string()
    );
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);

    // Normalized positions.
    assert_eq!(s.positions.len(), 5);
    let weth = position(&s, "WETH", PositionKind::Supply);
    assert_eq!(
        (weth.amount, weth.price.usd, weth.value_usd),
        (d("10"), d("3000"), d("30000"))
    );
    assert_eq!(
        (weth.weights.initial, weth.weights.maintenance),
        (d("0.805"), d("0.83"))
    );
    assert!(weth.counts_as_collateral);
    assert_eq!(weth.asset.decimals, 18);
    assert_eq!(weth.asset.risk_key, "ETH");
    assert!(
        weth.price.age_seconds.is_some(),
        "Chainlink fixture exposes updatedAt"
    );
    assert!(weth.price.source.feed.is_some());
    let wbtc = position(&s, "WBTC", PositionKind::Supply);
    assert_eq!(
        (wbtc.amount, wbtc.value_usd, wbtc.asset.decimals),
        (d("0.5"), d("30000"), 8)
    );
    let usdc = position(&s, "USDC", PositionKind::Supply);
    assert_eq!((usdc.amount, usdc.asset.decimals), (d("5000"), 6));
    assert!(
        !usdc.counts_as_collateral,
        "USDC supply is not enabled as collateral"
    );
    let usdc_debt = position(&s, "USDC", PositionKind::Debt);
    assert_eq!(
        (usdc_debt.amount, usdc_debt.value_usd),
        (d("12000"), d("12000"))
    );
    let dai_debt = position(&s, "DAI", PositionKind::Debt);
    assert_eq!(
        (dai_debt.amount, dai_debt.price.usd, dai_debt.value_usd),
        (d("3000"), d("0.9998"), d("2999.4"))
    );

    // Provenance: pinned block, protocol, account.
    assert_eq!(s.provenance.account, account);
    assert_eq!(s.provenance.protocol.as_str(), "aave-v3");
    assert!(matches!(
        s.provenance.read_point,
        unimargin_schema::ReadPoint::Block { .. }
    ));
}

#[tokio::test]
async fn zero_debt_is_infinite_health_explicitly() {
    let env = env().await;
    let (owner, account) = env.user(2);
    env.market
        .set_user_reserve(owner, "WETH", units(1, 18), true, U256::ZERO)
        .await
        .unwrap();
    let s = env.snapshot(&account).await.unwrap();
    assert_eq!(s.native_health.reproduced, Health::Infinite);
    assert_eq!(s.native_health.reported, Some(Health::Infinite));
    assert_eq!(
        serde_json::to_value(&s.native_health).unwrap()["value"],
        "infinity"
    );
}

#[tokio::test]
async fn account_without_positions_is_empty_and_infinite() {
    let env = env().await;
    let (_, account) = env.user(3);
    let s = env.snapshot(&account).await.unwrap();
    assert!(s.positions.is_empty());
    assert_eq!(s.native_health.value, Health::Infinite);
    assert_eq!(s.native_health.agrees, Some(true));
}

#[tokio::test]
async fn emode_account_uses_the_category_parameters() {
    let env = env().await;
    let (owner, account) = env.user(4);
    // Stablecoin e-mode: USDC and DAI at LTV 93 %, liquidation threshold 95 %.
    env.market
        .set_emode_category(1, 9300, 9500, &["USDC", "DAI"], "Stablecoins")
        .await
        .unwrap();
    env.market
        .set_user_reserve(owner, "USDC", units(10_000, 6), true, U256::ZERO)
        .await
        .unwrap();
    env.market
        .set_user_reserve(owner, "DAI", U256::ZERO, false, units(8_000, 18))
        .await
        .unwrap();
    env.market.set_user_emode(owner, 1).await.unwrap();
    let s = env.snapshot(&account).await.unwrap();

    // Collateral 10_000e8 at the e-mode threshold 9500; debt 8_000e18 × 0.9998e8 / 1e18 = 7_998.4e8.
    let lt_sum: u128 = 10_000_0000_0000 * 9500;
    let debt: u128 = 7_998_4000_0000;
    let hf_wad = (lt_sum * WAD + debt / 2) / debt / 10_000;
    assert_eq!(hf_wad, 1_187_737_547_509_501_900);
    let expected = Health::Finite(Decimal::from_i128_with_scale(hf_wad as i128, 18).normalize());
    assert_eq!(s.native_health.reproduced, expected);
    assert_eq!(s.native_health.reported, Some(expected));
    let usdc = position(&s, "USDC", PositionKind::Supply);
    assert_eq!(
        (usdc.weights.initial, usdc.weights.maintenance),
        (d("0.93"), d("0.95"))
    );
    assert_eq!(usdc.native["emode_category"], "1");
    // Without e-mode the same account would be at 7800 bps: the category must matter.
    assert!(expected > Health::Finite(d("0.975")));
}

#[tokio::test]
async fn interest_accrued_to_the_block_matches_the_pool() {
    let env = env().await;
    let (owner, account) = env.user(5);
    let now = env
        .chain
        .client(EvmSettings::default())
        .pin_latest()
        .await
        .unwrap()
        .block_timestamp();
    let ray: u128 = 10u128.pow(27);
    // 30 days ago: liquidity index 1.02, borrow index 1.05; rates 3 % and 7.5 % per year.
    env.market
        .set_indexes(
            "WETH",
            ray / 100 * 102,
            ray / 100 * 105,
            ray / 100 * 3,
            ray / 1000 * 75,
            now - 30 * 86_400,
        )
        .await
        .unwrap();
    env.market
        .set_indexes(
            "USDC",
            ray / 100 * 101,
            ray / 100 * 108,
            ray / 100 * 4,
            ray / 100 * 9,
            now - 30 * 86_400,
        )
        .await
        .unwrap();
    env.market
        .set_user_reserve(owner, "WETH", units(5, 18), true, units(1, 18))
        .await
        .unwrap();
    env.market
        .set_user_reserve(
            owner,
            "USDC",
            U256::from(3_333_333_333u64),
            false,
            U256::from(4_444_444_444u64),
        )
        .await
        .unwrap();
    env.chain.advance_time(3_600).await.unwrap();
    let s = env.snapshot(&account).await.unwrap();
    // Indexes accrue to the pinned block's timestamp; ours must equal the Pool's to the wei.
    assert_eq!(s.native_health.agrees, Some(true), "{:#?}", s.native_health);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let weth = position(&s, "WETH", PositionKind::Supply);
    assert!(
        weth.amount > d("5.1"),
        "5 scaled × 1.02 plus 30 days of interest: {}",
        weth.amount
    );
    let weth_debt = position(&s, "WETH", PositionKind::Debt);
    assert!(weth_debt.amount > d("1.05"));
}

#[tokio::test]
async fn stale_feed_reports_its_age() {
    let env = env().await;
    let (owner, account) = env.user(6);
    env.market
        .set_user_reserve(owner, "WETH", units(1, 18), true, U256::ZERO)
        .await
        .unwrap();
    let now = env
        .chain
        .client(EvmSettings::default())
        .pin_latest()
        .await
        .unwrap()
        .block_timestamp();
    env.market
        .set_price("WETH", 2_500_00000000, now - 2 * 86_400)
        .await
        .unwrap();
    let s = env.snapshot(&account).await.unwrap();
    let weth = position(&s, "WETH", PositionKind::Supply);
    assert_eq!(weth.price.usd, d("2500"));
    assert!(weth.price.age_seconds.unwrap() >= 2 * 86_400);
}

#[tokio::test]
async fn wrong_contract_is_a_clear_error_not_garbage() {
    let env = env().await;
    let (_, account) = env.user(7);
    let mut params = env.market.deployment_params(&BTreeMap::new());
    // Point the UI data provider at the Pool: same chain, wrong interface.
    params["ui_pool_data_provider"] = serde_json::json!(env.market.pool.to_checksum(None));
    let spec = DeploymentSpec {
        protocol: ProtocolId::new("aave-v3").unwrap(),
        kind: None,
        chain: env.chain.chain(),
        market: MarketId("core".into()),
        params,
    };
    let adapter = AaveV3Factory.build(&spec).unwrap();
    let reader =
        unimargin_sdk::ChainClient::Evm(Arc::new(env.chain.client(EvmSettings::default())))
            .pin()
            .await
            .unwrap();
    let err = adapter.snapshot(&reader, &account).await.unwrap_err();
    assert!(
        matches!(
            err,
            AdapterError::CallReverted { .. } | AdapterError::Malformed { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn invalid_params_name_the_problem() {
    let spec = DeploymentSpec {
        protocol: ProtocolId::new("aave-v3").unwrap(),
        kind: None,
        chain: unimargin_schema::ChainId::evm(1),
        market: MarketId("core".into()),
        params: serde_json::json!({"pool": "0x1234"}),
    };
    let err = AaveV3Factory.build(&spec).err().expect("must fail");
    assert!(err.to_string().contains("aave-v3 params"), "{err}");
}

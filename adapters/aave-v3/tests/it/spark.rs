//! Aave v3.0 markets (the layout and arithmetic SparkLend runs), served by the same adapter
//! through configuration (`ui_layout = "v3.0"`), and the round-trip budget of the read path.

use std::{collections::BTreeMap, str::FromStr, sync::Arc};

use alloy::primitives::U256;
use unimargin_aave_v3::{
    AaveV3Factory,
    fixtures::{
        FixtureMarket, FixtureMarketV30, ReserveSpecV30, asset_address, demo_reserves,
        demo_risk_keys, seed_demo_owner, units,
    },
};
use unimargin_schema::{AccountId, Decimal, Health, MarketId, PositionKind, ProtocolId};
use unimargin_sdk::{
    AdapterFactory, ChainClient, DeploymentSpec, ProtocolAdapter,
    evm::{EvmClient, EvmSettings},
    testkit::TestChain,
};

const WAD: u128 = 1_000_000_000_000_000_000;

fn reserves() -> Vec<ReserveSpecV30> {
    vec![
        ReserveSpecV30 {
            symbol: "WETH",
            decimals: 18,
            ltv_bps: 8000,
            liquidation_threshold_bps: 8250,
            emode_category: 1,
            price_usd_e8: 3_000 * 100_000_000,
        },
        ReserveSpecV30 {
            symbol: "wstETH",
            decimals: 18,
            ltv_bps: 6850,
            liquidation_threshold_bps: 7950,
            emode_category: 1,
            price_usd_e8: 3_400 * 100_000_000,
        },
        ReserveSpecV30 {
            symbol: "WBTC",
            decimals: 8,
            ltv_bps: 7000,
            liquidation_threshold_bps: 7500,
            emode_category: 0,
            price_usd_e8: 60_000 * 100_000_000,
        },
        ReserveSpecV30 {
            symbol: "DAI",
            decimals: 18,
            ltv_bps: 0,
            liquidation_threshold_bps: 0,
            emode_category: 0,
            price_usd_e8: 100_000_000,
        },
        ReserveSpecV30 {
            symbol: "USDC",
            decimals: 6,
            ltv_bps: 0,
            liquidation_threshold_bps: 0,
            emode_category: 0,
            price_usd_e8: 100_000_000,
        },
    ]
}

fn spec(chain: &TestChain, protocol: &str, params: serde_json::Value) -> DeploymentSpec {
    DeploymentSpec {
        protocol: ProtocolId::new(protocol).unwrap(),
        kind: Some("aave-v3".into()),
        chain: chain.chain(),
        market: MarketId("core".into()),
        params,
    }
}

fn account(chain: &TestChain, i: usize) -> (alloy::primitives::Address, AccountId) {
    let a = chain.accounts()[i];
    (
        a,
        AccountId::from_str(&format!("eip155:{}:{a}", chain.chain_id())).unwrap(),
    )
}

async fn snapshot(
    chain: &TestChain,
    adapter: &Arc<dyn ProtocolAdapter>,
    account: &AccountId,
) -> unimargin_schema::ProtocolSnapshot {
    let reader = ChainClient::Evm(Arc::new(chain.client(EvmSettings::default())))
        .pin()
        .await
        .unwrap();
    adapter.snapshot(&reader, account).await.unwrap()
}

#[tokio::test]
async fn v3_0_market_with_stable_debt_matches_hand_computed_health() {
    let chain = TestChain::start().await.unwrap();
    let market = FixtureMarketV30::deploy(&chain, "Spark-like", &reserves())
        .await
        .unwrap();
    let adapter = AaveV3Factory
        .build(&spec(
            &chain,
            "spark",
            market.deployment_params(&BTreeMap::new()),
        ))
        .unwrap();
    let (owner, acct) = account(&chain, 1);
    let now = chain
        .client(EvmSettings::default())
        .pin_latest()
        .await
        .unwrap()
        .block_timestamp();
    market
        .set_user_reserve(
            owner,
            "WETH",
            units(10, 18),
            true,
            U256::ZERO,
            U256::ZERO,
            U256::ZERO,
            now,
        )
        .await
        .unwrap();
    market
        .set_user_reserve(
            owner,
            "WBTC",
            units(1, 8) / U256::from(5u8),
            true,
            U256::ZERO,
            U256::ZERO,
            U256::ZERO,
            now,
        )
        .await
        .unwrap();
    market
        .set_user_reserve(
            owner,
            "DAI",
            U256::ZERO,
            false,
            units(5_000, 18),
            U256::ZERO,
            U256::ZERO,
            now,
        )
        .await
        .unwrap();
    // 2,000 USDC of stable debt at 0 % (so the balance is the principal).
    market
        .set_user_reserve(
            owner,
            "USDC",
            U256::ZERO,
            false,
            U256::ZERO,
            units(2_000, 6),
            U256::ZERO,
            now,
        )
        .await
        .unwrap();
    let s = snapshot(&chain, &adapter, &acct).await;

    // v3.0 GenericLogic: collateral WETH 10e18 × 3000e8 / 1e18 = 30_000e8; WBTC 0.2e8 × 60_000e8 / 1e8 = 12_000e8.
    let total_collateral: u128 = 42_000_0000_0000;
    // Average threshold floored first: (30_000e8 × 8250 + 12_000e8 × 7500) / 42_000e8 = 8035.71… → 8035.
    let avg_lt: u128 = (30_000_0000_0000 * 8250 + 12_000_0000_0000 * 7500) / total_collateral;
    assert_eq!(avg_lt, 8035);
    // percentMul (half up), then wadDiv by the debt 5_000e8 + 2_000e8.
    let weighted = (total_collateral * avg_lt + 5_000) / 10_000;
    let debt: u128 = 7_000_0000_0000;
    let hf = (weighted * WAD + debt / 2) / debt;
    assert_eq!(hf, 4_821_000_000_000_000_000);
    let expected = Health::Finite(Decimal::from_i128_with_scale(hf as i128, 18).normalize());
    assert_eq!(s.native_health.reproduced, expected);
    assert_eq!(s.native_health.reported, Some(expected));
    assert_eq!(
        s.native_health.agrees,
        Some(true),
        "{:#?}",
        s.native_health.figures
    );
    // v3.6 arithmetic would have said wadDiv(Σ value × LT, debt) / 1e4 = 4.8214…: the version matters.
    assert_ne!(
        expected,
        Health::Finite(Decimal::from_str("4.821428571428571428").unwrap())
    );
    let usdc = s
        .positions
        .iter()
        .find(|p| p.asset.symbol == "USDC" && p.kind == PositionKind::Debt)
        .unwrap();
    assert_eq!(usdc.amount, Decimal::from(2_000));
    assert_eq!(usdc.native["principal_stable_debt"], "2000000000");
    assert_eq!(s.provenance.protocol.as_str(), "spark");
}

#[tokio::test]
async fn v3_0_emode_price_source_overrides_member_prices() {
    let chain = TestChain::start().await.unwrap();
    let market = FixtureMarketV30::deploy(&chain, "Spark-like", &reserves())
        .await
        .unwrap();
    // ETH-correlated e-mode priced by WETH's oracle source: wstETH counts at 3,000, not 3,400.
    market
        .set_emode_category(1, 9000, 9300, asset_address("WETH"), "ETH correlated")
        .await
        .unwrap();
    let adapter = AaveV3Factory
        .build(&spec(
            &chain,
            "spark",
            market.deployment_params(&BTreeMap::new()),
        ))
        .unwrap();
    let (owner, acct) = account(&chain, 2);
    let now = chain
        .client(EvmSettings::default())
        .pin_latest()
        .await
        .unwrap()
        .block_timestamp();
    market
        .set_user_reserve(
            owner,
            "wstETH",
            units(10, 18),
            true,
            U256::ZERO,
            U256::ZERO,
            U256::ZERO,
            now,
        )
        .await
        .unwrap();
    market
        .set_user_reserve(
            owner,
            "WETH",
            U256::ZERO,
            false,
            units(8, 18),
            U256::ZERO,
            U256::ZERO,
            now,
        )
        .await
        .unwrap();
    market.set_user_emode(owner, 1).await.unwrap();
    let s = snapshot(&chain, &adapter, &acct).await;
    // Collateral 10 × 3000e8 = 30_000e8 at 9300 → percentMul = 27_900e8; debt 8 × 3000e8 = 24_000e8.
    let hf = (27_900_0000_0000u128 * WAD + 24_000_0000_0000 / 2) / 24_000_0000_0000;
    assert_eq!(hf, 1_162_500_000_000_000_000);
    let expected = Health::Finite(Decimal::from_i128_with_scale(hf as i128, 18).normalize());
    assert_eq!(s.native_health.reproduced, expected);
    assert_eq!(s.native_health.reported, Some(expected));
    let wsteth = s
        .positions
        .iter()
        .find(|p| p.asset.symbol == "wstETH")
        .unwrap();
    assert_eq!(wsteth.price.usd, Decimal::from(3_000));
    assert_eq!(
        (wsteth.weights.initial, wsteth.weights.maintenance),
        (Decimal::new(9, 1), Decimal::new(93, 2))
    );
}

#[tokio::test]
async fn v3_0_accrual_of_variable_and_stable_debt_agrees_with_the_pool() {
    let chain = TestChain::start().await.unwrap();
    let market = FixtureMarketV30::deploy(&chain, "Spark-like", &reserves())
        .await
        .unwrap();
    let adapter = AaveV3Factory
        .build(&spec(
            &chain,
            "spark",
            market.deployment_params(&BTreeMap::new()),
        ))
        .unwrap();
    let (owner, acct) = account(&chain, 3);
    let now = chain
        .client(EvmSettings::default())
        .pin_latest()
        .await
        .unwrap()
        .block_timestamp();
    let ray: u128 = 10u128.pow(27);
    let month = now - 30 * 86_400;
    market
        .set_indexes(
            "WETH",
            ray / 100 * 103,
            ray / 100 * 106,
            ray / 100 * 2,
            ray / 100 * 5,
            month,
        )
        .await
        .unwrap();
    market
        .set_indexes(
            "DAI",
            ray / 100 * 101,
            ray / 100 * 104,
            ray / 100 * 4,
            ray / 1000 * 85,
            month,
        )
        .await
        .unwrap();
    market
        .set_user_reserve(
            owner,
            "WETH",
            U256::from(7_777_777_777_777_777_777u128),
            true,
            U256::ZERO,
            U256::ZERO,
            U256::ZERO,
            now,
        )
        .await
        .unwrap();
    market
        .set_user_reserve(
            owner,
            "DAI",
            U256::ZERO,
            false,
            units(3_333, 18),
            units(1_111, 18),
            U256::from(ray / 100 * 11),
            month,
        )
        .await
        .unwrap();
    chain.advance_time(7_200).await.unwrap();
    let s = snapshot(&chain, &adapter, &acct).await;
    assert_eq!(
        s.native_health.agrees,
        Some(true),
        "{:#?}",
        s.native_health.figures
    );
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[tokio::test]
async fn steady_state_profile_is_one_pin_and_one_batch_even_across_markets() {
    let chain = TestChain::start().await.unwrap();
    let aave = FixtureMarket::deploy(&chain, "Aave-like", &demo_reserves())
        .await
        .unwrap();
    let spark = FixtureMarketV30::deploy(&chain, "Spark-like", &reserves())
        .await
        .unwrap();
    let (owner, acct) = account(&chain, 4);
    seed_demo_owner(&aave, owner).await.unwrap();
    let now = chain
        .client(EvmSettings::default())
        .pin_latest()
        .await
        .unwrap()
        .block_timestamp();
    spark
        .set_user_reserve(
            owner,
            "WETH",
            units(2, 18),
            true,
            U256::ZERO,
            U256::ZERO,
            U256::ZERO,
            now,
        )
        .await
        .unwrap();
    let aave_adapter = AaveV3Factory
        .build(&spec(
            &chain,
            "aave-v3",
            aave.deployment_params(&demo_risk_keys()),
        ))
        .unwrap();
    let spark_adapter = AaveV3Factory
        .build(&spec(
            &chain,
            "spark",
            spark.deployment_params(&BTreeMap::new()),
        ))
        .unwrap();

    // A counting HTTP client, as the service builds it from configuration.
    let client =
        Arc::new(EvmClient::http(chain.chain(), chain.url(), EvmSettings::default()).unwrap());
    let profile = |client: Arc<EvmClient>| {
        let (aave_adapter, spark_adapter, acct) =
            (aave_adapter.clone(), spark_adapter.clone(), acct.clone());
        async move {
            let reader = ChainClient::Evm(client).pin().await.unwrap();
            let (a, b) = tokio::join!(
                aave_adapter.snapshot(&reader, &acct),
                spark_adapter.snapshot(&reader, &acct)
            );
            (a.unwrap(), b.unwrap())
        }
    };
    // First profile: pin, the merged batch, and the merged one-time layout reads.
    let before = client.request_count();
    let (a, b) = profile(client.clone()).await;
    let first = client.request_count() - before;
    assert_eq!(first, 3, "pin + batch + layout");
    // Steady state: the block pin and one aggregate3 carrying both markets' reads.
    let before = client.request_count();
    let (a2, b2) = profile(client.clone()).await;
    assert_eq!(
        client.request_count() - before,
        2,
        "pin + one batch for two markets"
    );
    assert_eq!(a.positions, a2.positions);
    assert_eq!(b.native_health, b2.native_health);
    assert_eq!(a.native_health.agrees, Some(true));
}

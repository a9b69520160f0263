//! The EVM round-trip budget of a whole profile: Aave v3, a Spark-style v3.0 market, Compound
//! III and Morpho Blue on one chain cost the block pin plus one Multicall3 request in the steady
//! state, through the same profiler the API uses.

use std::{collections::BTreeMap, str::FromStr, sync::Arc, time::Duration};

use alloy::primitives::U256;
use unimargin_aave_v3::fixtures::{
    FixtureMarket, FixtureMarketV30, ReserveSpecV30, demo_reserves, demo_risk_keys,
    seed_demo_owner, units,
};
use unimargin_cache::MemoryCache;
use unimargin_compound_v3::fixtures as comet;
use unimargin_engine::EngineSettings;
use unimargin_morpho_blue::fixtures::{FixtureMorpho, MarketSpec, TokenSpec};
use unimargin_schema::{AccountId, ChainAliases, MarketId, ProtocolId};
use unimargin_sdk::{
    AdapterRegistry, ChainClient, ChainClients, DeploymentSpec,
    evm::{EvmClient, EvmSettings},
    testkit::TestChain,
};
use unimargin_server::{Profiler, ProfilerSettings};

fn deployment(
    chain: &TestChain,
    protocol: &str,
    kind: &str,
    params: serde_json::Value,
) -> DeploymentSpec {
    DeploymentSpec {
        protocol: ProtocolId::new(protocol).unwrap(),
        kind: Some(kind.into()),
        chain: chain.chain(),
        market: MarketId("core".into()),
        params,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_protocols_on_one_chain_cost_a_pin_and_one_batch() {
    let chain = TestChain::start().await.unwrap();
    let owner = chain.accounts()[1];
    let account = AccountId::from_str(&format!("eip155:{}:{owner}", chain.chain_id())).unwrap();

    let aave = FixtureMarket::deploy(&chain, "Aave", &demo_reserves())
        .await
        .unwrap();
    seed_demo_owner(&aave, owner).await.unwrap();
    let spark = FixtureMarketV30::deploy(
        &chain,
        "Spark",
        &[ReserveSpecV30 {
            symbol: "WETH",
            decimals: 18,
            ltv_bps: 8000,
            liquidation_threshold_bps: 8250,
            emode_category: 0,
            price_usd_e8: 3_000 * 100_000_000,
        }],
    )
    .await
    .unwrap();
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
    let compound = comet::FixtureMarket::deploy(&chain, &comet::demo_usdc_market())
        .await
        .unwrap();
    comet::seed_demo_borrower(&compound, owner).await.unwrap();
    let mut morpho = FixtureMorpho::deploy(
        &chain,
        &[
            TokenSpec {
                symbol: "USDC",
                decimals: 6,
                usd_e8: Some(100_000_000),
            },
            TokenSpec {
                symbol: "WETH",
                decimals: 18,
                usd_e8: None,
            },
        ],
        U256::ZERO,
        U256::ZERO,
    )
    .await
    .unwrap();
    // 3_000 USDC (6 dec) per WETH (18 dec), in Morpho's 1e36 oracle scale: 3e27.
    let price = U256::from(3_000_000_000u64) * U256::from(10u8).pow(U256::from(18u8));
    morpho
        .create_market(&MarketSpec {
            label: "WETH/USDC",
            loan: "USDC",
            collateral: "WETH",
            lltv: U256::from(860_000_000_000_000_000u128),
            price,
        })
        .await
        .unwrap();
    morpho.fund("WETH", owner, units(1, 18)).await.unwrap();
    morpho
        .supply_collateral("WETH/USDC", owner, units(1, 18), owner)
        .await
        .unwrap();

    let mut registry = AdapterRegistry::new();
    registry.register(unimargin_aave_v3::AaveV3Factory);
    registry.register(unimargin_compound_v3::CompoundV3Factory);
    registry.register(unimargin_morpho_blue::MorphoBlueFactory);
    registry
        .build_all(&[
            deployment(
                &chain,
                "aave-v3",
                "aave-v3",
                aave.deployment_params(&demo_risk_keys()),
            ),
            deployment(
                &chain,
                "spark",
                "aave-v3",
                spark.deployment_params(&BTreeMap::new()),
            ),
            deployment(
                &chain,
                "compound-v3",
                "compound-v3",
                compound.deployment_params(&comet::demo_risk_keys()),
            ),
            deployment(
                &chain,
                "morpho-blue",
                "morpho-blue",
                morpho
                    .deployment_params(&["WETH/USDC"], &BTreeMap::new(), None)
                    .unwrap(),
            ),
        ])
        .unwrap();
    let client =
        Arc::new(EvmClient::http(chain.chain(), chain.url(), EvmSettings::default()).unwrap());
    let mut clients = ChainClients::new();
    clients.insert(ChainClient::Evm(client.clone()));
    let profiler = Profiler::new(
        clients,
        registry,
        Arc::new(MemoryCache::new(100)),
        EngineSettings::default(),
        ChainAliases::new(),
        // No snapshot caching: every profile must really read the chain.
        ProfilerSettings {
            max_accounts: 50,
            snapshot_ttl: Duration::ZERO,
        },
    );

    let first_start = client.request_count();
    let first = profiler.profile(vec![account.clone()]).await.unwrap();
    let first_cost = client.request_count() - first_start;
    assert!(first.coverage.complete, "{:#?}", first.coverage.failures);
    assert_eq!(first.protocols.len(), 4);

    let start = client.request_count();
    let second = profiler.profile(vec![account]).await.unwrap();
    let steady = client.request_count() - start;
    assert!(second.coverage.complete, "{:#?}", second.coverage.failures);
    assert_eq!(
        steady, 2,
        "block pin + one aggregate3 for four protocols (first profile: {first_cost})"
    );
    for p in &second.protocols {
        assert_eq!(
            p.native_health.agrees,
            Some(true),
            "{}: {:#?}",
            p.protocol,
            p.native_health
        );
    }
    eprintln!("requests per profile: first {first_cost}, steady state {steady}");
}

/// Profile cost as the book grows: one Aave market with 1, 10 and 100 positions. The request
/// count must not grow with the book; the latency is printed for the record (debug build, anvil
/// on loopback).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_count_and_latency_for_1_10_and_100_positions() {
    use unimargin_aave_v3::fixtures::ReserveSpec;
    // Anvil caps eth_call gas at its block gas limit; a 100-reserve UI data provider call is
    // heavier than the default 30M, as it is on mainnet nodes with a raised call gas cap.
    let chain = TestChain::start_with(|a| a.args(["--gas-limit", "1000000000"]))
        .await
        .unwrap();
    let owner = chain.accounts()[1];
    let account = AccountId::from_str(&format!("eip155:{}:{owner}", chain.chain_id())).unwrap();
    for n in [1usize, 10, 100] {
        let reserves: Vec<ReserveSpec> = (0..n)
            .map(|i| ReserveSpec {
                symbol: Box::leak(format!("T{n}x{i}").into_boxed_str()),
                decimals: [6u8, 8, 18][i % 3],
                ltv_bps: 7000,
                liquidation_threshold_bps: 7500,
                liquidation_bonus_bps: 10500,
                collateral: true,
                price_usd_e8: 100_000_000 * (i as i64 + 1),
            })
            .collect();
        let market = FixtureMarket::deploy(&chain, &format!("Book {n}"), &reserves)
            .await
            .unwrap();
        for (i, r) in reserves.iter().enumerate() {
            // Even reserves are collateral, odd ones a small debt: 1000 units against 1 unit.
            let (supply, debt) = if i % 2 == 0 || n == 1 {
                (units(1000, r.decimals), U256::ZERO)
            } else {
                (U256::ZERO, units(1, r.decimals))
            };
            market
                .set_user_reserve(owner, r.symbol, supply, true, debt)
                .await
                .unwrap();
        }
        let mut registry = AdapterRegistry::new();
        registry.register(unimargin_aave_v3::AaveV3Factory);
        registry
            .build_all(&[deployment(
                &chain,
                "aave-v3",
                "aave-v3",
                market.deployment_params(&BTreeMap::new()),
            )])
            .unwrap();
        let client =
            Arc::new(EvmClient::http(chain.chain(), chain.url(), EvmSettings::default()).unwrap());
        let mut clients = ChainClients::new();
        clients.insert(ChainClient::Evm(client.clone()));
        let profiler = Profiler::new(
            clients,
            registry,
            Arc::new(MemoryCache::new(100)),
            EngineSettings::default(),
            ChainAliases::new(),
            ProfilerSettings {
                max_accounts: 50,
                snapshot_ttl: Duration::ZERO,
            },
        );
        profiler.profile(vec![account.clone()]).await.unwrap(); // first profile reads the layout
        let mut latencies = Vec::new();
        for _ in 0..5 {
            let start_requests = client.request_count();
            let started = std::time::Instant::now();
            let p = profiler.profile(vec![account.clone()]).await.unwrap();
            latencies.push(started.elapsed());
            assert!(p.coverage.complete, "{:#?}", p.coverage.failures);
            assert_eq!(
                client.request_count() - start_requests,
                2,
                "{n} positions: pin + one batch"
            );
            assert_eq!(p.protocols[0].positions.len(), n);
            assert_eq!(p.protocols[0].native_health.agrees, Some(true));
        }
        latencies.sort();
        eprintln!(
            "{n} positions: requests 2, median latency {:.1} ms",
            latencies[2].as_secs_f64() * 1e3
        );
    }
}

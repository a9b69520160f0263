//! JSON-RPC HTTP requests per profile, counted at the transport of the SDK's HTTP client (the
//! client the service builds from configuration).

use std::sync::Arc;

use unimargin_compound_v3::fixtures::factor_bps;
use unimargin_sdk::evm::EvmClient;

use super::*;

fn counting_client(chain: &TestChain) -> Arc<EvmClient> {
    Arc::new(EvmClient::http(chain.chain(), chain.url(), EvmSettings::default()).expect("client"))
}

/// One profile of one account: the block pin, then the adapter. Returns the snapshot and the
/// number of HTTP requests it cost.
async fn profile(
    client: &Arc<EvmClient>,
    adapter: &dyn ProtocolAdapter,
    account: &AccountId,
) -> (ProtocolSnapshot, u64) {
    let before = client.request_count();
    let reader = ChainClient::Evm(client.clone()).pin().await.unwrap();
    let s = adapter.snapshot(&reader, account).await.unwrap();
    (s, client.request_count() - before)
}

#[tokio::test]
async fn a_steady_state_profile_costs_the_pin_and_one_batch() {
    let mut env = env().await;
    let client = counting_client(&env.chain);
    let (owner, account) = env.user(1);
    let (_, other) = env.user(2);
    seed_demo_borrower(&env.market, owner).await.unwrap();
    let adapter = env.adapter.as_ref();

    // First profile: pin, layout, account batch.
    let (_, n) = profile(&client, adapter, &account).await;
    assert_eq!(n, 3);
    // Steady state: pin and one aggregate3, for this account and any other.
    let (s, n) = profile(&client, adapter, &account).await;
    assert_eq!(n, 2);
    assert_eq!(s.native_health.agrees, Some(true));
    let (_, n) = profile(&client, adapter, &other).await;
    assert_eq!(n, 2);

    // Governance lowers WETH's factors: nothing to re-read, the batch carries fresh factors.
    env.market
        .set_factors(
            "WETH",
            factor_bps(8_000),
            factor_bps(8_800),
            factor_bps(9_500),
        )
        .await
        .unwrap();
    let (s, n) = profile(&client, adapter, &account).await;
    assert_eq!(n, 2);
    let weth = position(&s, "WETH", PositionKind::Supply);
    assert_eq!(
        (weth.weights.initial, weth.weights.maintenance),
        (d("0.8"), d("0.88"))
    );
    assert_eq!(s.native_health.agrees, Some(true));

    // An upgrade moves WETH to another feed: the batch notices, the layout is read again at the
    // same block and the batch retried once.
    let feed = env.market.replace_feed("WETH", 3_100 * E8).await.unwrap();
    let (s, n) = profile(&client, adapter, &account).await;
    assert_eq!(n, 4, "pin, stale batch, layout, retried batch");
    let weth = position(&s, "WETH", PositionKind::Supply);
    assert_eq!(weth.price.usd, d("3100"));
    assert_eq!(
        weth.price.source.feed,
        Some(format!("eip155:31337:{}", feed.to_checksum(None)))
    );
    assert_eq!(
        s.native_health.agrees,
        Some(true),
        "{:#?}",
        s.native_health.figures
    );
    let (_, n) = profile(&client, adapter, &account).await;
    assert_eq!(n, 2);

    // Listing one more collateral changes numAssets: same recovery.
    env.market
        .list(&CollateralSpec::new("LINK", 18, 15 * E8, 7_900, 8_500))
        .await
        .unwrap();
    env.market
        .set_collateral(owner, "LINK", units(100, 18))
        .await
        .unwrap();
    let (s, n) = profile(&client, adapter, &account).await;
    assert_eq!(n, 4);
    let link = position(&s, "LINK", PositionKind::Supply);
    assert_eq!((link.amount, link.value_usd), (d("100"), d("1500")));
    let (_, n) = profile(&client, adapter, &account).await;
    assert_eq!(n, 2);
}

#[tokio::test]
async fn concurrent_profiles_of_two_markets_share_one_batch() {
    let chain = TestChain::start().await.expect("anvil");
    let usdc = FixtureMarket::deploy(&chain, &demo_usdc_market())
        .await
        .unwrap();
    let weth = FixtureMarket::deploy(&chain, &demo_weth_market())
        .await
        .unwrap();
    let build = |market: &FixtureMarket, id: &str| {
        CompoundV3Factory
            .build(&spec(
                "compound-v3",
                id,
                &chain,
                market.deployment_params(&demo_risk_keys()),
            ))
            .unwrap()
    };
    let adapters = [build(&usdc, "usdc"), build(&weth, "weth")];
    let accounts: Vec<AccountId> = chain.accounts()[1..4]
        .iter()
        .map(|a| AccountId::from_str(&format!("eip155:31337:{a}")).unwrap())
        .collect();
    for a in &chain.accounts()[1..4] {
        seed_demo_borrower(&usdc, *a).await.unwrap();
        weth.set_collateral(*a, "wstETH", units(10, 18))
            .await
            .unwrap();
        weth.set_principal(*a, -5_000_000_000_000_000_000)
            .await
            .unwrap();
    }
    let client = counting_client(&chain);

    // Six profiles (two markets × three accounts) on one pinned block, as the server runs them.
    let round = || async {
        let before = client.request_count();
        let reader = ChainClient::Evm(client.clone()).pin().await.unwrap();
        let reads = adapters
            .iter()
            .flat_map(|adapter| accounts.iter().map(|a| adapter.snapshot(&reader, a)));
        let snapshots = futures::future::join_all(reads).await;
        for s in &snapshots {
            assert_eq!(s.as_ref().unwrap().native_health.agrees, Some(true));
        }
        client.request_count() - before
    };
    // Cold: pin, both layouts in one merged batch, every account batch in another.
    assert_eq!(round().await, 3);
    // Warm: pin and one aggregate3 for all six.
    assert_eq!(round().await, 2);
}

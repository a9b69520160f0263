//! JSON-RPC HTTP requests per profile, counted at the transport of the SDK's HTTP client (the
//! client the service builds from configuration).

use std::sync::Arc;

use unimargin_sdk::evm::EvmClient;

use super::*;

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
    let client = Arc::new(
        EvmClient::http(env.chain.chain(), env.chain.url(), EvmSettings::default()).unwrap(),
    );
    let (owner, account) = env.user(1);
    let (other_owner, other) = env.user(2);
    let (_, empty) = env.user(3);
    let g = &env.gmx;
    g.open_position(
        owner,
        "ETH/USD",
        "WETH",
        true,
        usd(30_000),
        units(10, 18),
        units(2, 18),
    )
    .await
    .unwrap();
    g.open_position(
        owner,
        "BTC/USD",
        "USDC",
        false,
        usd(60_000),
        units(1, 8),
        units(3_000, 6),
    )
    .await
    .unwrap();
    g.open_position(
        other_owner,
        "ETH/USD",
        "USDC",
        false,
        usd(3_000),
        units(1, 18),
        units(500, 6),
    )
    .await
    .unwrap();
    g.set_open_interest("ETH/USD", "WETH", true, usd(30_000), units(10, 18))
        .await
        .unwrap();
    g.set_open_interest("ETH/USD", "USDC", false, usd(3_000), units(1, 18))
        .await
        .unwrap();
    g.set_open_interest("BTC/USD", "USDC", false, usd(60_000), units(1, 8))
        .await
        .unwrap();
    let adapter = env.adapter.clone();

    // First profile of the deployment: pin, then positions and markets, token feeds, feed answers,
    // and the batch with everything.
    let (first, n) = profile(&client, adapter.as_ref(), &account).await;
    assert_eq!(n, 5, "pin + 4 batches on a cold start");
    // Steady state: the pin and one aggregate3.
    let (s, n) = profile(&client, adapter.as_ref(), &account).await;
    assert_eq!(n, 2, "pin + one batch");
    assert_eq!(s.positions, first.positions);
    assert_eq!(s.native_health.agrees, Some(true));
    // An account seen for the first time on known markets: its positions first, then the batch.
    let (_, n) = profile(&client, adapter.as_ref(), &other).await;
    assert_eq!(n, 3);
    let (_, n) = profile(&client, adapter.as_ref(), &other).await;
    assert_eq!(n, 2);
    // No positions: one batch says so.
    let (s, n) = profile(&client, adapter.as_ref(), &empty).await;
    assert!(s.positions.is_empty());
    assert_eq!(n, 2);

    // A feed publishes a new round: the batch written with the old price is refused and written
    // again at the same block with the new one.
    let now = env.now().await;
    env.gmx.set_price("WETH", 3_050 * E8, now).await.unwrap();
    let (s, n) = profile(&client, adapter.as_ref(), &account).await;
    assert_eq!(n, 3, "pin, batch at the old price, batch at the new price");
    assert_eq!(perp(&s, "WETH", Side::Long).price.usd, d("3050"));
    assert_eq!(s.native_health.agrees, Some(true));
    let (_, n) = profile(&client, adapter.as_ref(), &account).await;
    assert_eq!(n, 2);

    // Governance moves WETH to another feed: the layout is learned again at the same block.
    let feed = env.gmx.replace_feed("WETH", 3_080 * E8).await.unwrap();
    let (s, n) = profile(&client, adapter.as_ref(), &account).await;
    assert_eq!(n, 4, "pin, stale layout, new feed's answer, batch");
    let p = perp(&s, "WETH", Side::Long);
    assert_eq!(p.price.usd, d("3080"));
    assert_eq!(
        p.price.source.feed,
        Some(format!("eip155:31337:{}", feed.to_checksum(None)))
    );
    let (_, n) = profile(&client, adapter.as_ref(), &account).await;
    assert_eq!(n, 2);

    // A new position on a known market: one more batch to learn it.
    env.gmx
        .open_position(
            owner,
            "ETH/USD",
            "USDC",
            false,
            usd(3_000),
            units(1, 18),
            units(500, 6),
        )
        .await
        .unwrap();
    env.gmx
        .set_open_interest("ETH/USD", "USDC", false, usd(6_000), units(2, 18))
        .await
        .unwrap();
    let (s, n) = profile(&client, adapter.as_ref(), &account).await;
    assert_eq!(n, 3);
    assert_eq!(s.positions.len(), 6);
    let (_, n) = profile(&client, adapter.as_ref(), &account).await;
    assert_eq!(n, 2);
}

//! JSON-RPC HTTP requests of one profile, counted at the transport: the numbers behind "one
//! batch per profile in the steady state".

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
};

use alloy::{
    primitives::U256,
    providers::{Provider, ProviderBuilder},
    rpc::{
        client::ClientBuilder,
        json_rpc::{RequestPacket, ResponsePacket},
    },
    transports::{TransportError, TransportFut},
};
use tower::{Layer, Service};
use unimargin_morpho_blue::{Discovery, MorphoBlueAdapter};
use unimargin_schema::AccountId;
use unimargin_sdk::{
    ChainClient, ProtocolAdapter,
    evm::{EvmClient, EvmSettings},
};

use crate::{E18, Env, SHARES_PER_ASSET, env, env_with_rates, risk_keys, spec, stored, u};

/// HTTP requests sent so far (a JSON-RPC batch would count once: it is one request).
#[derive(Debug, Clone, Default)]
struct Counter(Arc<AtomicU64>);

impl Counter {
    fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

struct CountLayer(Counter);

impl<S> Layer<S> for CountLayer {
    type Service = Counted<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Counted {
            inner,
            counter: self.0.clone(),
        }
    }
}

#[derive(Debug, Clone)]
struct Counted<S> {
    inner: S,
    counter: Counter,
}

impl<S> Service<RequestPacket> for Counted<S>
where
    S: Service<
            RequestPacket,
            Response = ResponsePacket,
            Error = TransportError,
            Future = TransportFut<'static>,
        > + Send
        + 'static,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        self.counter.0.fetch_add(1, Ordering::SeqCst);
        self.inner.call(request)
    }
}

/// A chain client of the test node whose every HTTP request is counted.
fn counted_client(env: &Env) -> (ChainClient, Counter) {
    let counter = Counter::default();
    let url = env.chain.url().parse().expect("url");
    let client = ClientBuilder::default()
        .layer(CountLayer(counter.clone()))
        .http(url);
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_client(client)
        .erased();
    let evm = EvmClient::with_provider(env.chain.chain(), provider, EvmSettings::default());
    (ChainClient::Evm(Arc::new(evm)), counter)
}

/// Requests of one profile: pin, then the adapter's reads.
async fn profile(
    client: &ChainClient,
    counter: &Counter,
    adapter: &dyn ProtocolAdapter,
    account: &AccountId,
) -> u64 {
    let before = counter.get();
    let reader = client.pin().await.expect("pin");
    adapter
        .snapshots(&reader, account)
        .await
        .expect("snapshots");
    counter.get() - before
}

#[tokio::test]
async fn steady_state_profile_is_one_pin_and_one_batch() {
    let env = env().await;
    let (owner, account) = env.user(1);
    let now = env.now().await;
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
    let (client, counter) = counted_client(&env);
    let market = env.adapters["WBTC/USDC"].as_ref();

    // First profile: pin, market params (first read of the market), then the batch.
    assert_eq!(profile(&client, &counter, market, &account).await, 3);
    // Steady state: pin and one batch, every profile.
    for _ in 0..3 {
        env.chain.mine().await.unwrap();
        assert_eq!(profile(&client, &counter, market, &account).await, 2);
    }

    // A whole deployment of three markets: still one batch for all of them.
    let params = env
        .fx
        .deployment_params(&crate::MARKETS, &risk_keys(), None)
        .unwrap();
    let deployment = MorphoBlueAdapter::from_spec(&spec(params, &env.chain)).unwrap();
    assert_eq!(
        profile(&client, &counter, &deployment, &account).await,
        3,
        "first read of three markets"
    );
    assert_eq!(profile(&client, &counter, &deployment, &account).await, 2);

    // Discovery adds one eth_getLogs over the blocks not scanned yet for this owner.
    let params = env
        .fx
        .deployment_params(
            &crate::MARKETS,
            &risk_keys(),
            Some(Discovery {
                from_block: 0,
                max_block_range: None,
            }),
        )
        .unwrap();
    let discovering = MorphoBlueAdapter::from_spec(&spec(params, &env.chain)).unwrap();
    assert_eq!(
        profile(&client, &counter, &discovering, &account).await,
        4,
        "pin, logs, params, batch"
    );
    env.chain.mine().await.unwrap();
    assert_eq!(
        profile(&client, &counter, &discovering, &account).await,
        3,
        "pin, logs, batch"
    );
}

#[tokio::test]
async fn a_market_touched_since_the_last_read_costs_one_more_round_trip_once() {
    let env = env_with_rates(u(1_000_000_000), u(2_000_000_000)).await;
    let (owner, account) = env.user(1);
    let (lender, _) = env.user(2);
    let start = env.now().await - 86_400;
    env.fx
        .set_market(
            "WETH/USDC",
            stored(1_000_000_000_000, 800_000_000_000, start, 0),
        )
        .await
        .unwrap();
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
    let (client, counter) = counted_client(&env);
    let market = env.adapters["WETH/USDC"].as_ref();
    assert_eq!(profile(&client, &counter, market, &account).await, 3);
    env.chain.advance_time(60).await.unwrap();
    assert_eq!(
        profile(&client, &counter, market, &account).await,
        2,
        "interest accrues, state unchanged"
    );

    // Someone supplies: the stored state changes, so the rate asked with the old state is useless.
    env.fx.fund("USDC", lender, u(1_000_000_000)).await.unwrap();
    env.fx
        .supply("WETH/USDC", lender, u(1_000_000_000), lender)
        .await
        .unwrap();
    env.chain.advance_time(60).await.unwrap();
    assert_eq!(
        profile(&client, &counter, market, &account).await,
        3,
        "pin, batch, rate for the new state"
    );
    env.chain.advance_time(60).await.unwrap();
    assert_eq!(
        profile(&client, &counter, market, &account).await,
        2,
        "steady again"
    );
}

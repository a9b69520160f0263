//! `unimargin demo`: everything on one machine, no configuration needed.

use std::{net::SocketAddr, path::Path};

use anyhow::Context;
use unimargin_aave_v3::fixtures::{FixtureMarket, demo_reserves, demo_risk_keys, seed_demo_owner};
use unimargin_sdk::testkit::TestChain;

use crate::config::{ChainConfig, Config, DeploymentConfig};

/// Starts anvil, deploys the Aave v3 fixture market, seeds the demo owner, serves the API.
pub(crate) async fn run(config: Option<&Path>, bind: SocketAddr) -> anyhow::Result<()> {
    let mut config = match config {
        Some(path) => Config::load(Some(path))?.0,
        None if Path::new("config/default.toml").exists() => Config::load(None)?.0,
        None => toml::from_str::<Config>("").context("built-in defaults")?,
    };
    eprintln!("starting anvil (installing it first if needed)…");
    let chain = TestChain::start().await.context("starting anvil")?;
    let market = FixtureMarket::deploy(&chain, "Unimargin Demo Core", &demo_reserves())
        .await
        .context("deploying the Aave v3 fixtures")?;
    let owner = chain.accounts()[1];
    seed_demo_owner(&market, owner)
        .await
        .context("seeding the demo owner")?;

    config.chains.clear();
    config.chains.insert(
        "anvil".into(),
        ChainConfig {
            id: chain.chain().to_string(),
            rpc_url: chain.url().to_owned(),
            request_timeout_ms: 3_000,
            confirmations: 0,
            max_calls_per_batch: 300,
            kind: None,
            base_url: None,
            rate_limit_burst: None,
            rate_limit_per_minute: None,
            max_retries: None,
            retry_base_ms: None,
            retry_max_ms: None,
            clock: None,
            commitment: None,
        },
    );
    config.deployments = vec![DeploymentConfig {
        protocol: "aave-v3".into(),
        kind: None,
        chain: "anvil".into(),
        market: "core".into(),
        params: market.deployment_params(&demo_risk_keys()),
    }];
    config.server.bind = bind;
    config.validate()?;
    let mut state = config.runtime(crate::protocols::registry()).await?;
    // The demo signs profiles with a throwaway key unless one is configured.
    if state.attestor.is_none() {
        let settings = unimargin_server::AttestationSettings {
            ttl: std::time::Duration::from_secs(config.attestation.ttl_secs.max(1)),
        };
        state.attestor = Some(std::sync::Arc::new(unimargin_server::Attestor::random(
            settings,
        )));
    }
    let tenancy = config.tenancy()?;
    // With `[auth] enabled`, the demo makes a key for tenant `demo` and prints it.
    let key = match tenancy.mode {
        unimargin_server::AuthMode::Required => {
            let key = unimargin_server::auth::ApiKey::generate("demo")?;
            tenancy
                .store
                .insert_key(&key.record)
                .await
                .context("storing the demo key")?;
            Some(key.secret)
        }
        unimargin_server::AuthMode::Disabled => None,
    };
    let auth_header = key
        .as_deref()
        .map(|k| format!(" -H 'authorization: Bearer {k}'"))
        .unwrap_or_default();
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    let base = format!("http://{}", listener.local_addr()?);
    let caip10 = format!("eip155:{}:{owner}", chain.chain_id());

    println!(
        "\nUnimargin demo is ready.\n\
         anvil      {url} (pid {pid})\n\
         owner      {caip10}\n\
         seeded     10 WETH + 0.5 WBTC collateral, 5,000 USDC supplied (not collateral),\n\
         \x20          12,000 USDC + 3,000 DAI borrowed on Aave v3 (fixture market)\n\
         expected   Aave health factor 3.220128805152206088\n\n\
         curl -s -X POST {base}/v1/profiles{auth_header} -H 'content-type: application/json' -d '{{\"accounts\":[\"anvil:{owner}\"]}}'\n\
         curl -s{auth_header} {base}/v1/accounts/{caip10}/profile\n\
         curl -s{auth_header} {base}/v1/protocols\n\
         curl -s {base}/openapi.json\n\n\
         Stop anvil (kill {pid}) and the next profile answers 502 with coverage.complete = false.\n\
         Ctrl-C to stop.",
        url = chain.url(),
        pid = chain.pid().unwrap_or(0),
    );
    let app = unimargin_server::router_with(state, tenancy);
    unimargin_server::serve_router(listener, app, crate::shutdown_signal()).await?;
    drop(chain);
    Ok(())
}

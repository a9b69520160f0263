//! The shipped `config/mainnet.toml` deployment of this protocol builds an adapter.

use unimargin_schema::{ChainId, MarketId};
use unimargin_sdk::{AdapterFactory, DeploymentSpec};

#[test]
fn mainnet_configuration_builds() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/mainnet.toml");
    let config: toml::Value =
        toml::from_str(&std::fs::read_to_string(path).expect("config")).expect("toml");
    let deployments = config["deployments"].as_array().expect("deployments");
    let ours: Vec<_> = deployments
        .iter()
        .filter(|d| d["protocol"].as_str() == Some("kamino"))
        .collect();
    assert_eq!(ours.len(), 1);
    let params = serde_json::to_value(&ours[0]["params"]).expect("params");
    let spec = DeploymentSpec {
        protocol: "kamino".parse().expect("protocol"),
        kind: None,
        chain: ChainId::solana("5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp").expect("chain"),
        market: MarketId("main".into()),
        params,
    };
    let adapter = unimargin_kamino::KaminoFactory
        .build(&spec)
        .expect("builds");
    assert_eq!(adapter.descriptor().kind, "kamino");
}

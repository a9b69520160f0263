//! The Morpho Blue deployments of the shipped configuration build: a typo in an address, a market
//! id or a key fails here rather than at start-up.

use std::path::Path;

use unimargin_morpho_blue::{KIND, MorphoBlueFactory};
use unimargin_schema::{ChainId, MarketId, ProtocolId};
use unimargin_sdk::{AdapterFactory, DeploymentSpec};

#[test]
fn mainnet_morpho_deployments_build_one_adapter_per_listed_market() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/mainnet.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let config: toml::Value = toml::from_str(&text).unwrap();
    let mut built = Vec::new();
    for d in config["deployments"].as_array().unwrap() {
        let kind = d
            .get("kind")
            .or(d.get("protocol"))
            .and_then(|k| k.as_str())
            .unwrap();
        if kind != KIND {
            continue;
        }
        let spec = DeploymentSpec {
            protocol: ProtocolId::new(d["protocol"].as_str().unwrap()).unwrap(),
            kind: None,
            // The factory carries the chain; resolving the alias is the binary's job.
            chain: ChainId::evm(1),
            market: MarketId(d["market"].as_str().unwrap().to_owned()),
            params: serde_json::to_value(&d["params"]).unwrap(),
        };
        let adapters = MorphoBlueFactory.build_many(&spec).unwrap();
        built.push((d["chain"].as_str().unwrap().to_owned(), adapters.len()));
        for a in adapters {
            let id = &a.descriptor().market.0;
            assert!(id.len() == 66 && id.starts_with("0x"), "{id}");
        }
    }
    assert_eq!(
        built,
        vec![("ethereum".to_owned(), 5), ("base".to_owned(), 3)]
    );
}

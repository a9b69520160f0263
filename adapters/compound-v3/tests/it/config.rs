//! The mainnet configuration's Comet deployments build with this crate's factory.

use std::{collections::BTreeSet, path::Path};

use super::*;

#[test]
fn mainnet_comet_deployments_build() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/mainnet.toml");
    let config: toml::Value = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut built = BTreeSet::new();
    for d in config["deployments"].as_array().unwrap() {
        if d["protocol"].as_str() != Some(KIND) {
            continue;
        }
        let chain = d["chain"].as_str().unwrap().to_owned();
        let market = d["market"].as_str().unwrap().to_owned();
        let params = serde_json::to_value(&d["params"]).unwrap();
        let spec = DeploymentSpec {
            protocol: ProtocolId::new(KIND).unwrap(),
            kind: None,
            chain: unimargin_schema::ChainId::evm(1),
            market: MarketId(market.clone()),
            params: params.clone(),
        };
        CompoundV3Factory
            .build(&spec)
            .unwrap_or_else(|e| panic!("{chain}/{market}: {e}"));
        if market == "weth" {
            assert_eq!(params["price_unit"], "ETH", "{chain}/weth prices in ETH");
        }
        assert!(built.insert((chain, market)), "duplicate deployment");
    }
    for required in [
        ("ethereum", "usdc"),
        ("ethereum", "weth"),
        ("arbitrum", "usdc"),
        ("base", "usdc"),
    ] {
        assert!(
            built.contains(&(required.0.to_owned(), required.1.to_owned())),
            "{required:?} missing from {built:?}"
        );
    }
}

//! The mainnet configuration's GMX deployment builds with this crate's factory.

use std::path::Path;

use super::*;

#[test]
fn mainnet_gmx_deployment_builds() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/mainnet.toml");
    let config: toml::Value = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut found = 0;
    for d in config["deployments"].as_array().unwrap() {
        if d["protocol"].as_str() != Some(KIND) {
            continue;
        }
        assert_eq!(d["chain"].as_str(), Some("arbitrum"));
        let params = serde_json::to_value(&d["params"]).unwrap();
        let spec = DeploymentSpec {
            protocol: ProtocolId::new(KIND).unwrap(),
            kind: None,
            chain: unimargin_schema::ChainId::evm(42161),
            market: MarketId(d["market"].as_str().unwrap().to_owned()),
            params: params.clone(),
        };
        GmxV2Factory
            .build(&spec)
            .unwrap_or_else(|e| panic!("gmx-v2 deployment: {e}"));
        // The Reader is paired with the ABI these bindings implement.
        assert_eq!(
            params["reader"],
            "0x470fbC46bcC0f16532691Df360A07d8Bf5ee0789"
        );
        assert_eq!(params["reader_abi"], "2025-11");
        found += 1;
    }
    assert_eq!(found, 1, "one gmx-v2 deployment in mainnet.toml");
}

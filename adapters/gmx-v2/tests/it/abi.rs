//! Our interface ABIs (compiled from `fixtures/src/interfaces/`) against GMX's published ABIs:
//! the Arbitrum Reader of 2025-11-17 and the DataStore (gmx-synthetics `deployments/arbitrum/`),
//! and Chainlink's `AggregatorV3Interface`.
//!
//! The reference ABIs are not part of the repository; `.ci/run` points
//! `UNIMARGIN_PROTOCOL_ABIS` at a checkout of them. Without it the comparison cannot run and the
//! test says so.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// `type` with tuple components expanded recursively, with component and struct names: two
/// layouts with the same selector but different fields must differ here.
fn shape(param: &Value) -> String {
    let ty = param["type"].as_str().unwrap_or_default();
    match param["components"].as_array() {
        Some(components) => {
            let inner: Vec<String> =
                components.iter().map(|c| format!("{} {}", shape(c), c["name"].as_str().unwrap_or_default())).collect();
            format!(
                "{}({}){}",
                param["internalType"].as_str().unwrap_or_default(),
                inner.join(","),
                ty.trim_start_matches("tuple")
            )
        }
        None => ty.to_owned(),
    }
}

fn functions(abi: &Value) -> Vec<(String, String, String, String)> {
    abi.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "function")
        .map(|f| {
            let list = |k: &str| f[k].as_array().into_iter().flatten().map(shape).collect::<Vec<_>>().join(",");
            (
                f["name"].as_str().unwrap_or_default().to_owned(),
                list("inputs"),
                list("outputs"),
                f["stateMutability"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn load(path: &Path) -> Value {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap();
    if v.get("abi").is_some() { v["abi"].clone() } else { v }
}

#[test]
fn interfaces_match_gmx_reference_abis() {
    let Some(reference) = std::env::var_os("UNIMARGIN_PROTOCOL_ABIS").map(PathBuf::from) else {
        eprintln!("UNIMARGIN_PROTOCOL_ABIS is not set: the comparison with GMX's published ABIs did not run");
        return;
    };
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/out");
    let pairs = [
        ("IReader.json", "gmx-v2/Reader.json", 5),
        ("ReaderFixture.json", "gmx-v2/Reader.json", 5),
        ("IDataStore.json", "gmx-v2/DataStore.json", 11),
        ("DataStoreFixture.json", "gmx-v2/DataStore.json", 19),
        ("AggregatorV3Interface.json", "common/AggregatorV3Interface.json", 5),
    ];
    for (our_file, reference_file, expected) in pairs {
        let theirs = functions(&load(&reference.join(reference_file)));
        let mut checked = 0;
        for (name, inputs, outputs, mutability) in functions(&load(&ours.join(our_file))) {
            if name.starts_with("fixture") {
                continue;
            }
            let found = theirs.iter().find(|(n, i, _, _)| *n == name && *i == inputs);
            let (_, _, their_outputs, their_mutability) =
                found.unwrap_or_else(|| panic!("{our_file}: {name}({inputs}) is not in {reference_file}"));
            assert_eq!(&outputs, their_outputs, "{our_file}: {name} returns a different layout than {reference_file}");
            assert_eq!(&mutability, their_mutability, "{our_file}: {name} mutability");
            checked += 1;
        }
        assert_eq!(checked, expected, "{our_file}: functions compared");
    }
}

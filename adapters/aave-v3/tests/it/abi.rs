//! Our interface ABIs (compiled from `fixtures/src/interfaces/`) against Aave's published ABIs.
//!
//! The reference ABIs are not part of the repository; `.ci/run` points
//! `UNIMARGIN_PROTOCOL_ABIS` at a checkout of them. Without it the comparison cannot run and the
//! test says so.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// `type` with tuple components expanded, recursively, plus struct names: two layouts with the
/// same selector but different fields must differ here.
fn shape(param: &Value) -> String {
    let ty = param["type"].as_str().unwrap_or_default();
    match param["components"].as_array() {
        Some(components) => {
            let inner: Vec<String> = components
                .iter()
                .map(|c| format!("{} {}", shape(c), c["name"].as_str().unwrap_or_default()))
                .collect();
            format!("({}){}", inner.join(","), ty.trim_start_matches("tuple"))
        }
        None => ty.to_owned(),
    }
}

fn functions(abi: &Value) -> Vec<(String, String, String)> {
    abi.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "function")
        .map(|f| {
            let list = |k: &str| f[k].as_array().into_iter().flatten().map(shape).collect::<Vec<_>>().join(",");
            (f["name"].as_str().unwrap_or_default().to_owned(), list("inputs"), list("outputs"))
        })
        .collect()
}

fn load(path: &Path) -> Value {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap();
    if v.get("abi").is_some() { v["abi"].clone() } else { v }
}

#[test]
fn interfaces_match_aave_v3_6_reference_abis() {
    let Some(reference) = std::env::var_os("UNIMARGIN_PROTOCOL_ABIS").map(PathBuf::from) else {
        eprintln!("UNIMARGIN_PROTOCOL_ABIS is not set: the comparison with Aave's published ABIs did not run");
        return;
    };
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/out");
    let pairs = [
        ("IUiPoolDataProviderV3.json", "aave-v3/IUiPoolDataProviderV3.json"),
        ("IPool.json", "aave-v3/IPool.json"),
        ("IAaveOracle.json", "aave-v3/IAaveOracle.json"),
        ("IPoolAddressesProvider.json", "aave-v3/IPoolAddressesProvider.json"),
        ("AggregatorV3Interface.json", "common/AggregatorV3Interface.json"),
    ];
    let mut checked = 0;
    for (our_file, reference_file) in pairs {
        let ours = functions(&load(&ours.join(our_file)));
        let theirs = functions(&load(&reference.join(reference_file)));
        for (name, inputs, outputs) in &ours {
            let found = theirs.iter().find(|(n, i, _)| n == name && i == inputs);
            let (_, _, their_outputs) = found.unwrap_or_else(|| panic!("{our_file}: {name}({inputs}) is not in {reference_file}"));
            assert_eq!(outputs, their_outputs, "{our_file}: {name} returns a different layout than {reference_file}");
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} functions compared");
}

#[test]
fn v3_0_interfaces_match_the_legacy_and_spark_reference_abis() {
    let Some(reference) = std::env::var_os("UNIMARGIN_PROTOCOL_ABIS").map(PathBuf::from) else {
        eprintln!("UNIMARGIN_PROTOCOL_ABIS is not set: the comparison with the v3.0 / Spark ABIs did not run");
        return;
    };
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/out-v3.0");
    let pairs = [
        ("IUiPoolDataProviderV3.json", "aave-v3/legacy/IUiPoolDataProviderV3.v3.0.json"),
        ("PoolV30Fixture.json", "spark/IPool.json"),
    ];
    let mut checked = 0;
    for (our_file, reference_file) in pairs {
        let theirs = functions(&load(&reference.join(reference_file)));
        for (name, inputs, outputs) in functions(&load(&ours.join(our_file))) {
            // The pool fixture also has `fixture…` seeders, which the reference does not list.
            let Some((_, _, their_outputs)) = theirs.iter().find(|(n, i, _)| *n == name && *i == inputs) else {
                assert!(name.starts_with("fixture") || our_file.starts_with("Pool"), "{our_file}: {name} missing from {reference_file}");
                continue;
            };
            assert_eq!(&outputs, their_outputs, "{our_file}: {name} differs from {reference_file}");
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} functions compared");
}

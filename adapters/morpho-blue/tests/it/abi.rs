//! Our interface ABIs (compiled from `fixtures/src/interfaces/`) against Morpho's and Chainlink's
//! published ABIs: functions (inputs, outputs, struct layouts) and events (topics and data).
//!
//! The reference ABIs are not part of the repository; `.ci/run` points `UNIMARGIN_PROTOCOL_ABIS`
//! at a checkout of them. Without it the comparison cannot run and the test says so.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// `type` with tuple components expanded, recursively, with component names and `indexed`: two
/// layouts with the same selector (or topic) but different fields must differ here.
fn shape(param: &Value) -> String {
    let ty = param["type"].as_str().unwrap_or_default();
    let indexed = if param["indexed"].as_bool() == Some(true) {
        "indexed "
    } else {
        ""
    };
    match param["components"].as_array() {
        Some(components) => {
            let inner: Vec<String> = components
                .iter()
                .map(|c| format!("{} {}", shape(c), c["name"].as_str().unwrap_or_default()))
                .collect();
            format!(
                "{indexed}({}){}",
                inner.join(","),
                ty.trim_start_matches("tuple")
            )
        }
        None => format!("{indexed}{ty}"),
    }
}

/// `(kind, name, inputs, outputs)` of every function and event.
fn entries(abi: &Value) -> Vec<(String, String, String, String)> {
    abi.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "function" || e["type"] == "event")
        .map(|f| {
            let list = |k: &str| {
                f[k].as_array()
                    .into_iter()
                    .flatten()
                    .map(shape)
                    .collect::<Vec<_>>()
                    .join(",")
            };
            (
                f["type"].as_str().unwrap_or_default().to_owned(),
                f["name"].as_str().unwrap_or_default().to_owned(),
                list("inputs"),
                list("outputs"),
            )
        })
        .collect()
}

fn load(path: &Path) -> Value {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap();
    if v.get("abi").is_some() {
        v["abi"].clone()
    } else {
        v
    }
}

#[test]
fn interfaces_match_morpho_blue_v1_reference_abis() {
    let Some(reference) = std::env::var_os("UNIMARGIN_PROTOCOL_ABIS").map(PathBuf::from) else {
        eprintln!(
            "UNIMARGIN_PROTOCOL_ABIS is not set: the comparison with Morpho's published ABIs did not run"
        );
        return;
    };
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/out");
    // Interfaces the adapter binds to, then the fixture contracts that implement them (their
    // `fixture…` seeders are the only additions allowed).
    let pairs = [
        ("IMorpho.json", "morpho-blue/IMorpho.json"),
        ("IIrm.json", "morpho-blue/IIrm.json"),
        ("IOracle.json", "morpho-blue/IOracle.json"),
        (
            "AggregatorV3Interface.json",
            "common/AggregatorV3Interface.json",
        ),
        ("MorphoFixture.json", "morpho-blue/IMorpho.json"),
        ("IrmFixture.json", "morpho-blue/IIrm.json"),
        ("OracleFixture.json", "morpho-blue/IOracle.json"),
        ("UsdFeedFixture.json", "common/AggregatorV3Interface.json"),
    ];
    let mut checked = 0;
    for (our_file, reference_file) in pairs {
        let ours = entries(&load(&ours.join(our_file)));
        let theirs = entries(&load(&reference.join(reference_file)));
        for (kind, name, inputs, outputs) in &ours {
            if name.starts_with("fixture") {
                continue;
            }
            let found = theirs
                .iter()
                .find(|(k, n, i, _)| k == kind && n == name && i == inputs);
            let (_, _, _, their_outputs) = found.unwrap_or_else(|| {
                panic!("{our_file}: {kind} {name}({inputs}) is not in {reference_file}")
            });
            assert_eq!(
                outputs, their_outputs,
                "{our_file}: {name} returns a different layout than {reference_file}"
            );
            checked += 1;
        }
    }
    // 17 functions and 10 events of IMorpho, 2 + 1 + 5 of the others, and the fixtures again.
    assert!(checked >= 70, "only {checked} entries compared");
}

//! Our interface ABIs (compiled from `fixtures/src/interfaces/`) and the fixture contracts
//! against Comet's and Chainlink's published ABIs.
//!
//! The reference ABIs are not part of the repository; `.ci/run` points
//! `UNIMARGIN_PROTOCOL_ABIS` at a checkout of them. Without it the comparison cannot run and the
//! test says so.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Type with tuple components expanded recursively, struct names included: two layouts with
/// the same selector but different fields or names must differ here.
fn shape(param: &Value) -> String {
    let ty = param["type"].as_str().unwrap_or_default();
    match param["components"].as_array() {
        Some(components) => {
            let inner: Vec<String> = components
                .iter()
                .map(|c| format!("{} {}", shape(c), c["name"].as_str().unwrap_or_default()))
                .collect();
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

/// (name, inputs, outputs with their names, mutability) of every function.
fn functions(abi: &Value) -> Vec<(String, String, String, String)> {
    abi.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "function")
        .map(|f| {
            let list = |k: &str, named: bool| {
                f[k].as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        if named {
                            format!("{} {}", shape(p), p["name"].as_str().unwrap_or_default())
                        } else {
                            shape(p)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            };
            (
                f["name"].as_str().unwrap_or_default().to_owned(),
                list("inputs", false),
                list("outputs", true),
                f["stateMutability"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).unwrap();
    if v.get("abi").is_some() {
        v["abi"].clone()
    } else {
        v
    }
}

#[test]
fn interfaces_and_fixtures_match_the_published_abis() {
    let Some(reference) = std::env::var_os("UNIMARGIN_PROTOCOL_ABIS").map(PathBuf::from) else {
        eprintln!(
            "UNIMARGIN_PROTOCOL_ABIS is not set: the comparison with Comet's published ABI did not run"
        );
        return;
    };
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/out");
    // (our artifact, reference, whether our artifact may add `fixture…` seeders)
    let pairs = [
        ("IComet.json", "compound-v3/Comet.json", false),
        ("CometFixture.json", "compound-v3/Comet.json", true),
        (
            "AggregatorV3Interface.json",
            "common/AggregatorV3Interface.json",
            false,
        ),
        (
            "ChainlinkAggregatorFixture.json",
            "common/AggregatorV3Interface.json",
            true,
        ),
    ];
    let mut checked = 0;
    for (our_file, reference_file, seeders) in pairs {
        let theirs = functions(&load(&reference.join(reference_file)));
        for (name, inputs, outputs, mutability) in functions(&load(&ours.join(our_file))) {
            if seeders && name.starts_with("fixture") {
                continue;
            }
            let found = theirs
                .iter()
                .find(|(n, i, _, _)| *n == name && *i == inputs);
            let (_, _, their_outputs, their_mutability) = found.unwrap_or_else(|| {
                panic!("{our_file}: {name}({inputs}) is not in {reference_file}")
            });
            assert_eq!(
                &outputs, their_outputs,
                "{our_file}: {name} returns a different layout than {reference_file}"
            );
            assert_eq!(
                &mutability, their_mutability,
                "{our_file}: {name} mutability"
            );
            checked += 1;
        }
    }
    // 39 Comet functions twice, 5 Chainlink functions twice.
    assert_eq!(checked, 88, "functions compared");
}

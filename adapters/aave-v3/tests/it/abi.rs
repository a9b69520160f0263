//! Our interface ABIs (compiled from `fixtures/src*/`) against Aave's published ABIs.
//!
//! The reference ABIs are not part of the repository; `.ci/run` points
//! `UNIMARGIN_PROTOCOL_ABIS` at a checkout of them. Without it the comparison cannot run and the
//! test says so.

use std::path::{Path, PathBuf};

use unimargin_sdk::testkit::compare_abi;

fn reference() -> Option<PathBuf> {
    let dir = std::env::var_os("UNIMARGIN_PROTOCOL_ABIS").map(PathBuf::from);
    if dir.is_none() {
        eprintln!(
            "UNIMARGIN_PROTOCOL_ABIS is not set: the comparison with Aave's published ABIs did not run"
        );
    }
    dir
}

fn check(pairs: &[(&str, &str)], extra: &[&str]) -> usize {
    let Some(reference) = reference() else {
        return usize::MAX;
    };
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    pairs
        .iter()
        .map(|(our_file, reference_file)| {
            compare_abi(&ours.join(our_file), &reference.join(reference_file), extra)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .sum()
}

#[test]
fn interfaces_match_aave_v3_6_reference_abis() {
    let compared = check(
        &[
            (
                "out/IUiPoolDataProviderV3.json",
                "aave-v3/IUiPoolDataProviderV3.json",
            ),
            ("out/IPool.json", "aave-v3/IPool.json"),
            ("out/IAaveOracle.json", "aave-v3/IAaveOracle.json"),
            (
                "out/IPoolAddressesProvider.json",
                "aave-v3/IPoolAddressesProvider.json",
            ),
            (
                "out/AggregatorV3Interface.json",
                "common/AggregatorV3Interface.json",
            ),
        ],
        &[],
    );
    assert!(compared >= 40, "only {compared} functions compared");
}

#[test]
fn v3_0_interfaces_match_the_legacy_and_spark_reference_abis() {
    // The v3.0 pool fixture's extra views (`getReservesList` aside) are fixture-only reads.
    let compared = check(
        &[
            (
                "out-v3.0/IUiPoolDataProviderV3.json",
                "aave-v3/legacy/IUiPoolDataProviderV3.v3.0.json",
            ),
            ("out-v3.0/PoolV30Fixture.json", "spark/IPool.json"),
        ],
        &["ADDRESSES_PROVIDER"],
    );
    assert!(compared >= 5, "only {compared} functions compared");
}

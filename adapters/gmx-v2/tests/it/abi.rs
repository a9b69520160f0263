//! Our interface ABIs (compiled from `fixtures/src/interfaces/`) and the fixture contracts against
//! GMX's published ABIs: the Arbitrum Reader of 2025-11-17 and the DataStore (gmx-synthetics
//! `deployments/arbitrum/`), and Chainlink's `AggregatorV3Interface`. Struct layouts are compared
//! recursively, so a Reader of another release (same selectors, other structs) would fail here.
//!
//! The reference ABIs are not part of the repository; `.ci/run` points
//! `UNIMARGIN_PROTOCOL_ABIS` at a checkout of them. Without it the comparison cannot run and the
//! test says so.

use std::path::{Path, PathBuf};

use unimargin_sdk::testkit::compare_abi;

#[test]
fn interfaces_match_gmx_reference_abis() {
    let Some(reference) = std::env::var_os("UNIMARGIN_PROTOCOL_ABIS").map(PathBuf::from) else {
        eprintln!(
            "UNIMARGIN_PROTOCOL_ABIS is not set: the comparison with GMX's published ABIs did not run"
        );
        return;
    };
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/out");
    let pairs = [
        ("IReader.json", "gmx-v2/Reader.json", 5),
        ("ReaderFixture.json", "gmx-v2/Reader.json", 5),
        ("IDataStore.json", "gmx-v2/DataStore.json", 11),
        ("DataStoreFixture.json", "gmx-v2/DataStore.json", 19),
        (
            "AggregatorV3Interface.json",
            "common/AggregatorV3Interface.json",
            5,
        ),
        (
            "ChainlinkAggregatorFixture.json",
            "common/AggregatorV3Interface.json",
            5,
        ),
    ];
    for (our_file, reference_file, expected) in pairs {
        let compared = compare_abi(&ours.join(our_file), &reference.join(reference_file), &[])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            compared, expected,
            "{our_file}: functions compared with {reference_file}"
        );
    }
}

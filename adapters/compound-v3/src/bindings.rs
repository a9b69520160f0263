//! Solidity bindings, generated from the interface files in `fixtures/src/interfaces/` (compiled
//! to ABI JSON in `fixtures/out/`). Those interfaces reproduce Comet's deployed ABI exactly (names,
//! selectors, struct layouts; checked against the published ABI by `tests/it/abi.rs`), so these
//! bindings read the fixtures and mainnet alike.
#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

/// The Comet proxy (main interface, extension and public storage getters).
pub mod comet {
    alloy::sol!(
        #[derive(Debug, PartialEq, Eq)]
        IComet,
        "fixtures/out/IComet.json"
    );
}

/// Chainlink `AggregatorV3Interface` (the feeds behind Comet's `getPrice`, and the USD
/// conversion feed of markets that price in another unit).
pub mod aggregator {
    alloy::sol!(
        #[derive(Debug)]
        AggregatorV3Interface,
        "fixtures/out/AggregatorV3Interface.json"
    );
}

/// ERC-20 metadata, for labels.
pub mod erc20 {
    alloy::sol!(
        #[derive(Debug)]
        IERC20Metadata,
        "fixtures/out/IERC20Metadata.json"
    );

    alloy::sol! {
        /// Tokens that predate the `string` convention (MKR, SAI) return `bytes32`.
        #[derive(Debug)]
        interface IERC20SymbolBytes32 {
            function symbol() external view returns (bytes32);
        }
    }
}

//! Solidity bindings, generated from the interface files in `fixtures/src/interfaces/` (compiled to
//! ABI JSON in `fixtures/out/`). The interfaces reproduce the ABI of GMX's Arbitrum Reader of
//! 2025-11-17 and of its DataStore exactly (checked against the published ABIs by
//! `tests/it/abi.rs`), so these bindings read mainnet and the fixtures alike.
//!
//! One module per ABI: each generates its own copies of the structs it mentions.
#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

/// GMX's `Reader` (2025-11 struct layouts).
pub mod reader {
    alloy::sol!(
        #[derive(Debug, PartialEq, Eq)]
        IReader,
        "fixtures/out/IReader.json"
    );
}

/// GMX's `DataStore` getters.
pub mod data_store {
    alloy::sol!(
        #[derive(Debug)]
        IDataStore,
        "fixtures/out/IDataStore.json"
    );
}

/// Chainlink `AggregatorV3Interface` (the reference feeds GMX's DataStore names).
pub mod aggregator {
    alloy::sol!(
        #[derive(Debug)]
        AggregatorV3Interface,
        "fixtures/out/AggregatorV3Interface.json"
    );
}

/// ERC-20 metadata.
pub mod erc20 {
    alloy::sol!(
        #[derive(Debug)]
        IERC20Metadata,
        "fixtures/out/IERC20Metadata.json"
    );
}

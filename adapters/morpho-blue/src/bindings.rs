//! Solidity bindings, generated from the interface files in `fixtures/src/interfaces/` (compiled
//! to ABI JSON in `fixtures/out/`). Those interfaces reproduce Morpho Blue v1.0.0's deployed ABI
//! exactly (functions, struct layouts and event topics, checked against the published ABI by
//! `tests/it/abi.rs`), so these bindings read the fixtures and mainnet alike.
//!
//! One module per ABI: every file that mentions `MarketParams` declares its own copy of it.
#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

/// The Morpho Blue singleton.
pub mod morpho {
    alloy::sol!(
        #[derive(Debug, PartialEq, Eq)]
        IMorpho,
        "fixtures/out/IMorpho.json"
    );
}

/// A market's interest rate model.
pub mod irm {
    alloy::sol!(
        #[derive(Debug, PartialEq, Eq)]
        IIrm,
        "fixtures/out/IIrm.json"
    );
}

/// A market's oracle (collateral priced in loan token, scaled by 1e36).
pub mod oracle {
    alloy::sol!(
        #[derive(Debug)]
        IOracle,
        "fixtures/out/IOracle.json"
    );
}

/// Chainlink `AggregatorV3Interface`: the loan token's USD feed.
pub mod aggregator {
    alloy::sol!(
        #[derive(Debug)]
        AggregatorV3Interface,
        "fixtures/out/AggregatorV3Interface.json"
    );
}

/// ERC-20 metadata of the market's tokens.
pub mod erc20 {
    alloy::sol!(
        #[derive(Debug)]
        IERC20Metadata,
        "fixtures/out/IERC20Metadata.json"
    );
}

//! EVM reads pinned to one block, batched through Multicall3.

mod batch;
mod client;
mod coalesce;
mod counting;

pub use batch::{Batch, BatchResults, CallHandle};
pub use client::{EvmClient, EvmSettings, PinnedEvm};
pub use counting::{CountingLayer, CountingService, RequestCounter};

use alloy::primitives::{Address, address};

/// Multicall3's address, the same on every chain that has it (and placed there on anvil by the
/// test kit).
pub const MULTICALL3: Address = address!("0xcA11bde05977b3631167028862bE2a173976CA11");

alloy::sol! {
    /// The subset of Multicall3 the SDK uses (same ABI as the canonical deployment).
    #[derive(Debug)]
    interface IMulticall3 {
        struct Call3 {
            address target;
            bool allowFailure;
            bytes callData;
        }
        struct Result {
            bool success;
            bytes returnData;
        }
        function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory returnData);
        function getCurrentBlockTimestamp() external view returns (uint256 timestamp);
    }
}

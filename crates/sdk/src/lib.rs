//! The adapter SDK: everything a protocol adapter is written against.
//!
//! * [`ProtocolAdapter`]: the one trait an adapter implements — read one account's state on one
//!   protocol market from a [`ChainReader`] already pinned to one block, and normalize it into a
//!   [`ProtocolSnapshot`](unimargin_schema::ProtocolSnapshot).
//! * [`ChainReader`] / [`evm::PinnedEvm`]: chain clients pinned to one read point, with
//!   Multicall3 batching ([`evm::Batch`]) so a profile costs about one round trip per chain.
//! * [`AdapterError`]: typed errors that map onto the schema's failure kinds.
//! * [`AdapterRegistry`]: builds adapters from configuration; each protocol contributes one
//!   [`AdapterFactory`] and one registration line in the binary.
//! * [`units`]: exact base-unit → decimal scaling.
//! * [`venue`]: HTTP venues (Hyperliquid, Derive): rate budget, retries, a time read point.
//! * [`solana`]: Solana reads pinned to one slot (`getMultipleAccounts` / `getProgramAccounts` with
//!   `minContextSlot`), account decoding checks, fixed-point conversion and oracle guards; its
//!   `testkit` is a loopback JSON-RPC server serving account files.
//! * `testkit` (feature): launches `anvil` on a free port, installs Multicall3 at its canonical
//!   address, tears down.
//!
//! Depends on `unimargin-schema` and the chain client crates (alloy, the Solana RPC client); never on the engine, the
//! server, or any adapter. Test with `cargo test -p unimargin-sdk --features testkit`.

mod adapter;
mod chain;
mod error;
pub mod evm;
mod registry;
pub mod solana;
pub mod units;
pub mod venue;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use adapter::{AdapterDescriptor, ProtocolAdapter};
pub use chain::{ChainClient, ChainClients, ChainReader};
pub use error::{AdapterError, Result};
pub use registry::{AdapterFactory, AdapterRegistry, DeploymentSpec, RegistryError};

/// Re-exported so adapters and the binary use the same alloy.
pub use alloy;

//! Integration tests of the Kamino Lend adapter (one binary): layouts against the IDL, real
//! mainnet accounts, klend's arithmetic worked out independently, and the adapter end to end
//! through the SDK's loopback JSON-RPC server.

#![allow(clippy::panic, reason = "a test reports failure by panicking")]

mod adapter;
mod config;
mod idl;
mod math;
mod support;
mod vectors;

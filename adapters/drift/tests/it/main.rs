//! Integration tests of the Drift v2 adapter (one binary): layouts against the IDL, real mainnet
//! accounts, Drift's margin arithmetic worked out by hand, and the adapter end to end through the
//! SDK's loopback JSON-RPC server.

#![allow(clippy::panic, reason = "a test reports failure by panicking")]

mod adapter;
mod config;
mod idl;
mod margin;
mod support;
mod vectors;

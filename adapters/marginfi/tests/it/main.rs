//! marginfi adapter tests: layouts against the published IDLs, real mainnet accounts (when
//! `UNIMARGIN_TEST_VECTORS` is set), and whole profiles through the loopback JSON-RPC server
//! with hand-computed expectations.

#![allow(clippy::panic)]

mod fixtures;
mod idl;
mod profile;
mod vectors;

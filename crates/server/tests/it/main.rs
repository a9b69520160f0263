//! Integration tests of `unimargin-server`, in one binary: the router driven in process against a
//! real anvil node (sdk `testkit`) and a private redis-server (cache `testkit`).
//!
//! Protocol adapters live in their own crates and the server must not depend on them, so the
//! tests bring a small adapter of their own ([`harness::NativeBalance`]) that reads real chain
//! state through the SDK exactly as a production adapter does.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a test reports failure by panicking"
)]

mod attest;
mod cache;
mod harness;
mod html;
mod openapi;
mod ops;
mod outages;
mod profile;
mod simulate;
mod stream;
mod tenants;

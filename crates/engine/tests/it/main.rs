//! Integration tests of the engine's portfolio margin: one binary (`cargo test -p
//! unimargin-engine --test it`). Expected values are written as the arithmetic that produces them.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a test reports failure by panicking"
)]

mod config;
mod examples;
mod greeks;
mod properties;
mod simulate;
mod support;

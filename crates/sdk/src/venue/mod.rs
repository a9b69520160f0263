//! HTTP venues: exchanges whose account state is served by an HTTP API rather than read from
//! contracts (Hyperliquid's `/info`, Derive's JSON-RPC over `POST`).
//!
//! * [`VenueClient`] / [`PinnedVenue`]: one client per configured venue, with the base URL from
//!   configuration, a per-request timeout, a token-bucket rate budget in the venue's documented
//!   weights ([`RateBudget`]), retries with exponential backoff and full jitter on `429` / `5xx`
//!   that honour `Retry-After` ([`RetryPolicy`]), and decoding that names the JSON path of a field
//!   that does not fit. Errors are [`AdapterError`](crate::AdapterError)s: a timeout is
//!   `RpcTimeout`, a persistent `429` or `5xx` is `RpcError`, an undecodable body `Malformed`.
//! * A venue has no blocks, so its read point is a time ([`ReadPoint::Venue`]): the venue's own
//!   clock when it exposes one ([`VenueClock::Request`]), else the local clock. Every snapshot of
//!   one profile on one venue carries the same pinned time, which is what the server checks.
//! * `replay` (feature `testkit`): a loopback HTTP server that answers recorded bodies per
//!   endpoint, in sequence, so tests exercise the real client (timeouts, retries, rate budget).
//!
//! [`ReadPoint::Venue`]: unimargin_schema::ReadPoint::Venue

mod client;
mod rate;
#[cfg(feature = "testkit")]
pub mod replay;
mod retry;
mod settings;

pub use client::{PinnedVenue, VenueClient, VenueStats, decode};
pub use settings::{RateBudget, RetryPolicy, VenueClock, VenueSettings};

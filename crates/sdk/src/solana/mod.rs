//! Solana reads pinned to one slot, and the decoding helpers every Solana adapter shares.
//!
//! * [`SolanaClient`] / [`PinnedSolana`]: the read path. [`SolanaClient::pin`] asks `getSlot` once
//!   at the configured commitment and reads the `Clock` sysvar at that slot (its
//!   `unix_timestamp` is the time oracle staleness is judged against, the same clock the programs
//!   use). Every later read of the profile — `getMultipleAccounts` in chunks of at most 100 keys
//!   sent concurrently, `getProgramAccounts` with `memcmp` / `dataSize` filters — carries
//!   `minContextSlot` = the pinned slot, and a reply whose context slot is older than that is an
//!   error, never data. Each read returns the slot it was served at ([`Served`]).
//! * [`decode`]: the checks before any byte is interpreted — owner program, exact size, Anchor
//!   discriminator (`sha256("account:<Name>")[..8]`) — each a typed [`DecodeError`], and
//!   zero-copy views of `#[repr(C)]` `bytemuck::Pod` layouts.
//! * [`fixed`]: the programs' fixed-point formats (marginfi `I80F48`, Kamino `Fraction`) converted
//!   to `Decimal` at the boundary, exactly when the value fits and otherwise rounded in the
//!   direction the caller names.
//! * [`oracle`]: Pyth pull `PriceUpdateV2` and Switchboard On-Demand `PullFeedAccountData`
//!   decoders and the staleness / confidence guards ([`oracle::OracleGuard`]).
//! * [`pda`]: program-derived addresses, so adapters derive accounts instead of scanning.
//! * `testkit` (feature): a loopback JSON-RPC server that serves accounts from
//!   solana-test-validator `--account` JSON files, so tests run the real `RpcClient` code path.
//!
//! Solana SDK types (`Pubkey`) stay inside the SDK and the adapters; the schema sees base58
//! strings only.

mod client;
pub mod decode;
pub mod fixed;
pub mod oracle;
pub mod pda;
pub mod pod;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use client::{
    AccountFilter, CLOCK_SYSVAR, KeyedAccount, MAX_KEYS_PER_CALL, PinnedSolana, RawAccount, Served,
    SolanaClient, SolanaSettings,
};
pub use decode::DecodeError;

/// Re-exported so adapters name the same `Pubkey` and commitment the SDK uses.
pub use solana_commitment_config::{CommitmentConfig, CommitmentLevel};
/// Re-exported so adapters name the same `Pubkey` the SDK uses.
pub use solana_pubkey::Pubkey;

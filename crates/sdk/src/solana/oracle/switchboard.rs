//! Switchboard On-Demand: `PullFeedAccountData`, zero-copy as the program stores it.
//!
//! The program is built for SBF, where `i128` is 8-byte aligned; on a host `i128` is 16-byte
//! aligned, so the 128-bit fields are declared here as byte arrays to keep the on-chain layout
//! (3208 bytes with the discriminator; offsets checked against the published IDL in the tests).
//! Values are fixed point with 18 decimals ([`PRECISION`]).

use solana_pubkey::Pubkey;

use super::{OracleKind, PriceQuote};
use crate::solana::{
    RawAccount,
    decode::{AccountSpec, DecodeError},
};

/// The Switchboard On-Demand program on mainnet-beta.
pub const SWITCHBOARD_ON_DEMAND_PROGRAM: Pubkey =
    solana_pubkey::pubkey!("SBondMDrcV3K4kxZR1HNVT7osZxAHVHgYXL5Ze1oMUv");
/// Decimal places of every On-Demand value (`value`, `std_dev`, …).
pub const PRECISION: u32 = 18;
/// Size of a `PullFeedAccountData`, discriminator included.
pub const PULL_FEED_LEN: usize = 8 + size_of::<PullFeedAccountData>();

/// One oracle's signed value.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct OracleSubmission {
    /// The oracle that signed.
    pub oracle: [u8; 32],
    /// Slot the value was signed at.
    pub slot: u64,
    /// Slot the value landed on chain.
    pub landed_at: u64,
    /// The value (`i128`, 18 decimals).
    pub value: [u8; 16],
}

/// The aggregate the program computed from the submissions.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CurrentResult {
    /// Median of the submissions (`i128`, 18 decimals): the price.
    pub value: [u8; 16],
    /// Standard deviation of the submissions (`i128`, 18 decimals).
    pub std_dev: [u8; 16],
    /// Mean (`i128`).
    pub mean: [u8; 16],
    /// Range (`i128`).
    pub range: [u8; 16],
    /// Minimum (`i128`).
    pub min_value: [u8; 16],
    /// Maximum (`i128`).
    pub max_value: [u8; 16],
    /// Samples used.
    pub num_samples: u8,
    /// Index of the submission used.
    pub submission_idx: u8,
    /// Padding.
    pub padding1: [u8; 6],
    /// Slot the value was signed at.
    pub slot: u64,
    /// Slot of the first considered submission.
    pub min_slot: u64,
    /// Slot of the last considered submission.
    pub max_slot: u64,
}

impl CurrentResult {
    /// The median value's raw `i128`.
    pub fn value(&self) -> i128 {
        i128::from_le_bytes(self.value)
    }

    /// The standard deviation's raw `i128`.
    pub fn std_dev(&self) -> i128 {
        i128::from_le_bytes(self.std_dev)
    }
}

/// A compact historical result.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CompactResult {
    /// Standard deviation (an `f32` in the program; kept as raw bits here).
    pub std_dev: [u8; 4],
    /// Mean (`f32` bits).
    pub mean: [u8; 4],
    /// Slot.
    pub slot: u64,
}

/// `PullFeedAccountData` after its discriminator.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct PullFeedAccountData {
    /// The last 32 submissions.
    pub submissions: [OracleSubmission; 32],
    /// Feed authority.
    pub authority: [u8; 32],
    /// Oracle queue.
    pub queue: [u8; 32],
    /// Hash of the feed definition.
    pub feed_hash: [u8; 32],
    /// Creation time.
    pub initialized_at: i64,
    /// Permission bits.
    pub permissions: u64,
    /// Maximum variance allowed.
    pub max_variance: u64,
    /// Minimum responses for a result.
    pub min_responses: u32,
    /// Feed name.
    pub name: [u8; 32],
    /// Padding.
    pub padding1: [u8; 1],
    /// Whether the authority may write.
    pub permit_write_by_authority: u8,
    /// Ring index of `historical_results`.
    pub historical_result_idx: u8,
    /// Minimum samples.
    pub min_sample_size: u8,
    /// Unix time of the last update: what staleness is measured from.
    pub last_update_timestamp: i64,
    /// Lookup-table slot.
    pub lut_slot: u64,
    /// Reserved.
    pub reserved1: [u8; 32],
    /// The current aggregate.
    pub result: CurrentResult,
    /// Staleness limit configured on the feed (slots).
    pub max_staleness: u32,
    /// Padding.
    pub padding2: [u8; 12],
    /// History.
    pub historical_results: [CompactResult; 32],
    /// Reserved.
    pub ebuf4: [u8; 8],
    /// Reserved.
    pub ebuf3: [u8; 24],
    /// Unix times of the submissions.
    pub submission_timestamps: [i64; 32],
}

impl PullFeedAccountData {
    /// The current result as a [`PriceQuote`] of account `feed` (`std_dev` as the confidence).
    pub fn quote(&self, feed: Pubkey) -> PriceQuote {
        PriceQuote {
            feed,
            kind: OracleKind::SwitchboardOnDemand,
            price: self.result.value(),
            conf: self.result.std_dev().unsigned_abs(),
            exponent: -(PRECISION as i32),
            publish_time: self.last_update_timestamp,
            slot: self.result.slot,
        }
    }
}

fn spec(owner: Pubkey) -> AccountSpec {
    AccountSpec::anchor("PullFeedAccountData", owner, PULL_FEED_LEN)
}

/// Checks owner (normally [`SWITCHBOARD_ON_DEMAND_PROGRAM`]), size and discriminator, then decodes.
pub fn decode_pull_feed(
    key: &Pubkey,
    account: &RawAccount,
    owner: &Pubkey,
) -> Result<PullFeedAccountData, DecodeError> {
    spec(*owner).decode_pod(key, account)
}

/// Decodes data whose owner is checked elsewhere (or unknown, as for raw test vectors).
pub fn decode_pull_feed_data(
    key: &Pubkey,
    data: &[u8],
) -> Result<PullFeedAccountData, DecodeError> {
    spec(Pubkey::default()).decode_pod_data(key, data)
}

//! Where and when data was read.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{AccountId, ChainId, MarketId, ProtocolId};

/// The chain state every read of one chain was pinned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReadPoint {
    /// An EVM block: every `eth_call` of the profile on this chain ran at this block.
    Block {
        /// Block number.
        number: u64,
        /// Block hash (0x-prefixed), so a reorg is detectable after the fact.
        hash: String,
        /// Block timestamp (seconds since the epoch).
        timestamp: u64,
    },
    /// A Solana slot: every account was served at or after this slot (`minContextSlot`).
    Slot {
        /// The context slot.
        slot: u64,
        /// The slot's block time, if the cluster reported it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp: Option<u64>,
    },
    /// An off-chain venue's answer, which has only the time it was served.
    Venue {
        /// Server time of the reply (seconds since the epoch).
        timestamp: u64,
    },
}

impl ReadPoint {
    /// Seconds since the epoch of the state, when known.
    pub fn timestamp(&self) -> Option<u64> {
        match self {
            Self::Block { timestamp, .. } | Self::Venue { timestamp } => Some(*timestamp),
            Self::Slot { timestamp, .. } => *timestamp,
        }
    }

    /// A short, stable label for cache keys and logs (`block 123 0xab…`, `slot 42`).
    pub fn cache_label(&self) -> (u64, String) {
        match self {
            Self::Block { number, hash, .. } => (*number, hash.clone()),
            Self::Slot { slot, .. } => (*slot, String::from("slot")),
            Self::Venue { timestamp } => (*timestamp, String::from("venue")),
        }
    }
}

/// The provenance of one protocol snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Provenance {
    /// Chain read.
    pub chain: ChainId,
    /// Block or slot the reads were pinned to.
    pub read_point: ReadPoint,
    /// Protocol id as configured.
    pub protocol: ProtocolId,
    /// Market within the protocol.
    pub market: MarketId,
    /// The account whose positions these are.
    pub account: AccountId,
    /// Contracts or programs that answered (CAIP-10), for audit.
    pub sources: Vec<String>,
    /// Wall-clock time the reads completed.
    pub fetched_at: DateTime<Utc>,
}

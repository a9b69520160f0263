//! What went wrong while building a profile, and what is merely worth knowing.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{AccountId, ChainId, MarketId, ProtocolId};

/// Which part of a profile a failure or warning concerns. Unset fields mean "all of them".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct FailureScope {
    /// Chain concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<ChainId>,
    /// Protocol concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<ProtocolId>,
    /// Market concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market: Option<MarketId>,
    /// Account concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
}

/// Why part of a profile is missing. Any failure makes the profile incomplete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The chain's RPC endpoint refused or dropped the connection.
    RpcUnavailable,
    /// The RPC endpoint did not answer in time.
    RpcTimeout,
    /// The RPC answered with an error (rate limit, pruned state, server error).
    RpcError,
    /// The reply could not be decoded into the protocol's layout.
    MalformedReply,
    /// A contract call reverted.
    CallReverted,
    /// A value did not fit the schema (e.g. an amount beyond the decimal range).
    OutOfRange,
    /// A position has no usable price.
    MissingPrice,
    /// A price is older than the configured maximum age.
    StalePrice,
    /// No adapter is configured for a chain of a requested account.
    NoAdapterForChain,
    /// A chain is configured but has no reachable client.
    ChainNotConfigured,
    /// A bug: an invariant of Unimargin did not hold.
    Internal,
}

impl FailureKind {
    /// Whether retrying the same request later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::RpcUnavailable | Self::RpcTimeout | Self::RpcError | Self::StalePrice
        )
    }

    /// Whether the failure is the upstream's fault (so the API answers 502/504, not 4xx/500).
    pub fn is_upstream(self) -> bool {
        matches!(
            self,
            Self::RpcUnavailable
                | Self::RpcTimeout
                | Self::RpcError
                | Self::MalformedReply
                | Self::CallReverted
                | Self::MissingPrice
                | Self::StalePrice
                | Self::OutOfRange
        )
    }
}

/// A read that failed; the profile lists every one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Failure {
    /// Where.
    pub scope: FailureScope,
    /// What kind.
    pub kind: FailureKind,
    /// Human-readable detail (never secrets such as RPC keys).
    pub message: String,
}

/// Something a reader should know that does not make the profile incomplete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// Our reproduction of the protocol's own health differs from what the protocol reports;
    /// the worse of the two is used.
    NativeHealthMismatch,
    /// The feed behind a price does not expose its update time.
    PriceAgeUnknown,
    /// An amount was rounded to fit the decimal range (towards the conservative side).
    AmountRounded,
    /// The account has no position on a configured protocol.
    NoPositions,
}

/// A note attached to a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Warning {
    /// Where.
    pub scope: FailureScope,
    /// What kind.
    pub kind: WarningKind,
    /// Human-readable detail.
    pub message: String,
}

//! Adapter errors.

use unimargin_schema::FailureKind;

/// Result alias of the SDK.
pub type Result<T, E = AdapterError> = std::result::Result<T, E>;

/// What can go wrong while reading a protocol. Every variant maps to one
/// [`FailureKind`] so the profile says precisely what failed; retryability is decided from the
/// kind, never from message text.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AdapterError {
    /// The RPC endpoint could not be reached or dropped the connection.
    #[error("rpc unavailable on {chain}: {message}")]
    RpcUnavailable {
        /// Chain whose endpoint failed.
        chain: String,
        /// Transport detail (no URL secrets).
        message: String,
    },
    /// The RPC endpoint did not answer within the configured timeout.
    #[error("rpc timeout on {chain} after {timeout_ms} ms")]
    RpcTimeout {
        /// Chain whose endpoint timed out.
        chain: String,
        /// The timeout that elapsed.
        timeout_ms: u64,
    },
    /// The RPC endpoint answered with a JSON-RPC error.
    #[error("rpc error on {chain}: {message}")]
    RpcError {
        /// Chain.
        chain: String,
        /// The error the node returned.
        message: String,
    },
    /// A contract call reverted.
    #[error("call to {target}.{function} reverted{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    CallReverted {
        /// Contract address.
        target: String,
        /// Function name.
        function: &'static str,
        /// Revert reason, if decodable.
        reason: Option<String>,
    },
    /// A reply did not decode into the expected layout.
    #[error("malformed reply from {what}: {detail}")]
    Malformed {
        /// What was being decoded.
        what: String,
        /// Decoder detail.
        detail: String,
    },
    /// A value does not fit the schema's exact decimal range.
    #[error("{what} is out of range: {value}")]
    OutOfRange {
        /// What the value is.
        what: String,
        /// The raw value.
        value: String,
    },
    /// The protocol has no usable price for an asset the account holds.
    #[error("no price for {asset}: {detail}")]
    MissingPrice {
        /// Asset.
        asset: String,
        /// Why.
        detail: String,
    },
    /// A price feed's last update is older than the configured maximum age at the read point.
    #[error("stale price for {asset} from feed {feed}: {age_secs} s old, max {max_age_secs} s")]
    StalePrice {
        /// Asset (or bank / market) the price is for.
        asset: String,
        /// The oracle account (CAIP-10 or address).
        feed: String,
        /// Age of the price at the read point, in seconds.
        age_secs: u64,
        /// The configured maximum age, in seconds.
        max_age_secs: u64,
    },
    /// The adapter was handed a reader of the wrong chain family.
    #[error("adapter for {expected} was given a {actual} reader")]
    WrongChainFamily {
        /// Family the adapter needs.
        expected: &'static str,
        /// Family it got.
        actual: &'static str,
    },
    /// The adapter's configuration is invalid.
    #[error("invalid adapter configuration: {0}")]
    Config(String),
}

impl AdapterError {
    /// The schema failure kind this error is reported as.
    pub fn failure_kind(&self) -> FailureKind {
        match self {
            Self::RpcUnavailable { .. } => FailureKind::RpcUnavailable,
            Self::RpcTimeout { .. } => FailureKind::RpcTimeout,
            Self::RpcError { .. } => FailureKind::RpcError,
            Self::CallReverted { .. } => FailureKind::CallReverted,
            Self::Malformed { .. } => FailureKind::MalformedReply,
            Self::OutOfRange { .. } => FailureKind::OutOfRange,
            Self::MissingPrice { .. } => FailureKind::MissingPrice,
            Self::StalePrice { .. } => FailureKind::StalePrice,
            Self::WrongChainFamily { .. } | Self::Config(_) => FailureKind::Internal,
        }
    }

    /// Shorthand for a decode failure.
    pub fn malformed(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self::Malformed {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

//! The crate's error type.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

/// A boxed error used as the `source` of [`CacheError`] variants, so the error type does not
/// expose which client library a backend uses.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// `Result` with [`CacheError`] as the default error.
pub type Result<T, E = CacheError> = std::result::Result<T, E>;

/// Why a cache operation or a cache construction failed.
///
/// Callers decide what to do from the variant, never from the message: [`CacheError::is_transient`]
/// says whether the same call may succeed later.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The backend could not be reached or refused to serve (connection refused or dropped, server
    /// loading or down, authentication failed).
    #[error("{backend} cache unavailable during {op}")]
    Unavailable {
        /// The backend's short name, as [`crate::Cache::backend`].
        backend: &'static str,
        /// The command that failed (`GET`, `SET`, `PING`).
        op: &'static str,
        /// The client library's error.
        #[source]
        source: BoxError,
    },

    /// The backend did not answer within the configured per-command timeout.
    #[error("{backend} cache did not answer {op} within {after:?}")]
    Timeout {
        /// The backend's short name, as [`crate::Cache::backend`].
        backend: &'static str,
        /// The command that timed out.
        op: &'static str,
        /// The configured timeout that elapsed.
        after: Duration,
        /// The client library's error when the client itself timed out; `None` when this crate's
        /// own deadline fired first.
        #[source]
        source: Option<BoxError>,
    },

    /// The backend answered, but not as expected (an error reply, a value of the wrong type).
    #[error("{backend} cache answered {op} unexpectedly")]
    Protocol {
        /// The backend's short name, as [`crate::Cache::backend`].
        backend: &'static str,
        /// The command whose reply was unexpected.
        op: &'static str,
        /// What was wrong with the reply.
        #[source]
        source: BoxError,
    },

    /// A key part was rejected by a validating constructor such as [`crate::CacheKey::try_snapshot`].
    #[error("invalid cache key: {part} {reason}")]
    InvalidKey {
        /// Which constructor argument was rejected (`chain`, `account`, …).
        part: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// The backend URL could not be parsed. The URL itself is not echoed because it may carry a
    /// password.
    #[error("invalid cache URL")]
    InvalidUrl {
        /// The parser's error.
        #[source]
        source: BoxError,
    },

    /// A backend option is unusable (for instance a zero timeout).
    #[error("invalid cache configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: &'static str,
        /// The client library's error, when it was the one to reject the configuration.
        #[source]
        source: Option<BoxError>,
    },
}

impl CacheError {
    /// Whether the same call may succeed later without a change of configuration or input: the
    /// backend was unavailable or slow, as opposed to being misused.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unavailable { .. } | Self::Timeout { .. } => true,
            Self::Protocol { .. }
            | Self::InvalidKey { .. }
            | Self::InvalidUrl { .. }
            | Self::InvalidConfig { .. } => false,
        }
    }
}

/// Displays an error followed by its chain of sources (`a: b: c`), for one-line log fields.
pub(crate) struct ErrorChain<'a>(pub(crate) &'a (dyn StdError + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(err) = source {
            write!(f, ": {err}")?;
            source = err.source();
        }
        Ok(())
    }
}

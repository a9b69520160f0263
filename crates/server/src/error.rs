//! The API's one error type and its JSON body.
//!
//! Every non-2xx answer of the service, including axum's own rejections (malformed JSON, wrong
//! content type, unknown route, wrong method, oversized body) and the request timeout, is an
//! [`ApiError`] rendered as [`ErrorBody`]: venues parse one shape, never a plain-text body.

use std::time::Duration;

use axum::{
    Json,
    extract::rejection::{JsonRejection, PathRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use unimargin_schema::{AccountIdError, ChainIdError, Failure, FailureKind, MarginProfile};

use crate::profiler::ProfileError;

/// Machine-readable error codes. Clients branch on these, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// An account id could not be parsed (malformed, bad address, bad EIP-55 checksum).
    InvalidAccount,
    /// An account's chain is not served by this deployment (or its alias is unknown).
    UnknownChain,
    /// The request named no account.
    NoAccounts,
    /// The request named more accounts than allowed.
    TooManyAccounts,
    /// The body is not JSON or not of the expected shape.
    InvalidRequest,
    /// The body is not declared as `application/json`.
    UnsupportedMediaType,
    /// The body exceeds the configured limit.
    BodyTooLarge,
    /// No such route.
    NotFound,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// The request did not complete within the configured time.
    RequestTimeout,
    /// Part of the profile could not be read because an upstream (RPC, oracle) failed.
    UpstreamUnavailable,
    /// Part of the profile could not be read because an upstream did not answer in time.
    UpstreamTimeout,
    /// A bug; the details are in the service's logs under the request id.
    Internal,
    /// No API key, or an invalid or revoked one.
    Unauthorized,
    /// The key's rate limit is exhausted; retry after `Retry-After` seconds.
    RateLimited,
    /// No owner set with this id belongs to the caller's tenant (another tenant's set answers
    /// the same, so ids do not leak).
    UnknownOwnerSet,
    /// The key and owner-set store did not answer; nothing is served without it.
    StoreUnavailable,
    /// A what-if change cannot be applied to the profile (unknown market, asset not held, more
    /// than is held, non-positive amount); `change` says which.
    InvalidChange,
    /// A what-if request lists more changes than allowed.
    TooManyChanges,
    /// The key's daily quota is used up; retry after `Retry-After` seconds (the next UTC day).
    QuotaExceeded,
    /// The stream relay (Redis pub/sub between replicas) does not answer, so no stream can be
    /// promised; retry later.
    RelayUnavailable,
}

impl ErrorCode {
    /// The code as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidAccount => "invalid_account",
            Self::UnknownChain => "unknown_chain",
            Self::NoAccounts => "no_accounts",
            Self::TooManyAccounts => "too_many_accounts",
            Self::InvalidRequest => "invalid_request",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::BodyTooLarge => "body_too_large",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RequestTimeout => "request_timeout",
            Self::UpstreamUnavailable => "upstream_unavailable",
            Self::UpstreamTimeout => "upstream_timeout",
            Self::Internal => "internal",
            Self::Unauthorized => "unauthorized",
            Self::RateLimited => "rate_limited",
            Self::UnknownOwnerSet => "unknown_owner_set",
            Self::StoreUnavailable => "store_unavailable",
            Self::InvalidChange => "invalid_change",
            Self::TooManyChanges => "too_many_changes",
            Self::QuotaExceeded => "quota_exceeded",
            Self::RelayUnavailable => "relay_unavailable",
        }
    }
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
    /// On `upstream_unavailable` / `upstream_timeout` only: the partial profile, so an
    /// institution can see what was read. It is incomplete (no health, zero credit capacity)
    /// and must not be used to grant credit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<MarginProfile>,
}

/// The `error` object of an error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDetail {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation. Precise for 4xx; for 5xx it never carries internals.
    pub message: String,
    /// The request's `x-request-id`, to quote when reporting a problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The index of the offending what-if change (`invalid_change`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<u64>,
    /// The offending account as given (`invalid_account`, `unknown_chain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The limit that was exceeded (`too_many_accounts`: accounts; `too_many_changes`: changes;
    /// `body_too_large`: bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// The read failures that made the profile incomplete (`upstream_*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
}

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request itself is invalid (accounts, chains, counts).
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The body is not JSON or not of the expected shape.
    #[error("{0}")]
    InvalidRequest(String),
    /// The body is not declared as JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body exceeds the limit.
    #[error("request body exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// No route matches the path.
    #[error("no route for {method} {path}")]
    NotFound {
        /// Request method.
        method: String,
        /// Request path.
        path: String,
    },
    /// The path exists, the method does not.
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed {
        /// Request method.
        method: String,
        /// Request path.
        path: String,
    },
    /// The request ran out of time.
    #[error("request did not complete within {} ms", .0.as_millis())]
    RequestTimeout(Duration),
    /// The profile is incomplete because upstreams failed; carries the partial profile.
    #[error("{}", upstream_message(.0))]
    Upstream(Box<MarginProfile>),
    /// A bug. The text goes to the log only.
    #[error("internal error: {0}")]
    Internal(String),
    /// Authentication failed; the message never contains the presented key.
    #[error("{0}")]
    Unauthorized(String),
    /// The key's rate limit is exhausted.
    #[error("rate limit of {limit} requests exceeded; retry in {} s", retry_after_secs(*.retry_after))]
    RateLimited {
        /// The burst size.
        limit: u32,
        /// When a request is allowed again.
        retry_after: Duration,
    },
    /// The caller's tenant has no owner set with this id.
    #[error("no owner set `{0}`")]
    UnknownOwnerSet(String),
    /// The key and owner-set store failed. The text goes to the log only.
    #[error("key store unavailable: {0}")]
    StoreUnavailable(String),
    /// The stream relay failed. The text goes to the log only.
    #[error("stream relay unavailable: {0}")]
    RelayUnavailable(String),
    /// A what-if change cannot be applied.
    #[error(transparent)]
    Simulate(#[from] unimargin_engine::SimulateError),
    /// The key's daily quota is used up.
    #[error("daily quota of {limit} requests used up; retry in {} s (the next UTC day)", retry_after_secs(*.retry_after))]
    QuotaExceeded {
        /// Requests per UTC day.
        limit: u64,
        /// Time until the next UTC day.
        retry_after: Duration,
    },
    /// Too many what-if changes in one request.
    #[error("{count} changes given; at most {limit} changes are allowed per simulation")]
    TooManyChanges {
        /// How many were given.
        count: usize,
        /// The maximum.
        limit: usize,
    },
}

/// Whole seconds, rounded up so that a client waiting this long is allowed.
fn retry_after_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl ApiError {
    /// Classifies an incomplete profile: upstream failures only → 502 (504 when any timed
    /// out) with the partial profile; any other failure kind is a deployment or code problem
    /// → 500.
    pub fn incomplete(profile: MarginProfile) -> Self {
        let failures = &profile.coverage.failures;
        if !failures.is_empty() && failures.iter().all(|f| f.kind.is_upstream()) {
            return Self::Upstream(Box::new(profile));
        }
        let detail = failures
            .iter()
            .map(|f| format!("{:?} ({:?}): {}", f.kind, f.scope, f.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self::Internal(format!(
            "incomplete profile with non-upstream failures: {detail}"
        ))
    }

    /// Maps axum's JSON rejection onto the API's codes; `limit` is the configured body limit.
    pub fn from_json_rejection(rejection: JsonRejection, limit: usize) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(r) => Self::UnsupportedMediaType(format!(
                "{}; send `Content-Type: application/json`",
                r.body_text()
            )),
            JsonRejection::BytesRejection(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::BodyTooLarge { limit }
            }
            other => Self::InvalidRequest(other.body_text()),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self.code() {
            ErrorCode::InvalidAccount
            | ErrorCode::UnknownChain
            | ErrorCode::NoAccounts
            | ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
            // Well-formed but over the configured cap, or well-formed but not applicable to the
            // profile: the request is understood and refused.
            ErrorCode::TooManyAccounts | ErrorCode::TooManyChanges | ErrorCode::InvalidChange => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::RateLimited | ErrorCode::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::UnknownOwnerSet => StatusCode::NOT_FOUND,
            ErrorCode::StoreUnavailable | ErrorCode::RelayUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::RequestTimeout | ErrorCode::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorCode::UpstreamUnavailable => StatusCode::BAD_GATEWAY,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Profile(ProfileError::NoAccounts) => ErrorCode::NoAccounts,
            Self::Profile(ProfileError::TooManyAccounts { .. }) => ErrorCode::TooManyAccounts,
            Self::Profile(ProfileError::InvalidAccount {
                reason: AccountIdError::Chain(ChainIdError::UnknownAlias(_)),
                ..
            }) => ErrorCode::UnknownChain,
            Self::Profile(ProfileError::InvalidAccount { .. }) => ErrorCode::InvalidAccount,
            Self::Profile(ProfileError::UnknownChain { .. }) => ErrorCode::UnknownChain,
            Self::InvalidRequest(_) => ErrorCode::InvalidRequest,
            Self::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Self::BodyTooLarge { .. } => ErrorCode::BodyTooLarge,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            Self::RequestTimeout(_) => ErrorCode::RequestTimeout,
            Self::Upstream(p)
                if p.coverage
                    .failures
                    .iter()
                    .any(|f| f.kind == FailureKind::RpcTimeout) =>
            {
                ErrorCode::UpstreamTimeout
            }
            Self::Upstream(_) => ErrorCode::UpstreamUnavailable,
            Self::Internal(_) => ErrorCode::Internal,
            Self::Unauthorized(_) => ErrorCode::Unauthorized,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::UnknownOwnerSet(_) => ErrorCode::UnknownOwnerSet,
            Self::StoreUnavailable(_) => ErrorCode::StoreUnavailable,
            Self::Simulate(_) => ErrorCode::InvalidChange,
            Self::TooManyChanges { .. } => ErrorCode::TooManyChanges,
            Self::QuotaExceeded { .. } => ErrorCode::QuotaExceeded,
            Self::RelayUnavailable(_) => ErrorCode::RelayUnavailable,
        }
    }

    /// The body, with `request_id` filled in when one is known.
    pub fn into_body(self, request_id: Option<String>) -> ErrorBody {
        let code = self.code();
        let message = match &self {
            // Internals stay in the log; the client gets the id to quote.
            Self::StoreUnavailable(_) => "the key store is unavailable; retry later".to_owned(),
            Self::RelayUnavailable(_) => {
                "the stream relay is unavailable, so no stream can be promised; retry later"
                    .to_owned()
            }
            Self::Internal(_) => match &request_id {
                Some(id) => format!("internal error; quote request id {id} when reporting it"),
                None => "internal error".to_owned(),
            },
            other => other.to_string(),
        };
        let mut detail = ErrorDetail {
            code,
            message,
            request_id,
            change: None,
            account: None,
            limit: None,
            failures: Vec::new(),
        };
        let mut profile = None;
        match self {
            Self::Profile(ProfileError::InvalidAccount { input, .. }) => {
                detail.account = Some(input)
            }
            Self::Profile(ProfileError::UnknownChain { account, .. }) => {
                detail.account = Some(account.to_string());
            }
            Self::Profile(ProfileError::TooManyAccounts { limit, .. }) => {
                detail.limit = Some(as_u64(limit))
            }
            Self::BodyTooLarge { limit } => detail.limit = Some(as_u64(limit)),
            Self::TooManyChanges { limit, .. } => detail.limit = Some(as_u64(limit)),
            Self::Simulate(e) => detail.change = Some(as_u64(e.index())),
            Self::RateLimited { limit, .. } => detail.limit = Some(u64::from(limit)),
            Self::QuotaExceeded { limit, .. } => detail.limit = Some(limit),
            Self::Upstream(p) => {
                detail.failures = p.coverage.failures.clone();
                profile = Some(*p);
            }
            _ => {}
        }
        ErrorBody {
            error: detail,
            profile,
        }
    }
}

fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn upstream_message(p: &MarginProfile) -> String {
    let failed = p.coverage.failures.len();
    let first = p
        .coverage
        .failures
        .first()
        .map(|f| format!(": {}", f.message))
        .unwrap_or_default();
    format!(
        "profile is incomplete: {failed} read failure(s) upstream{first}; the partial profile must not be used to grant credit"
    )
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::InvalidRequest(rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // The full error (for internals: the failures) goes to the log, where the request
            // span carries the request id.
            tracing::error!(code = self.code().as_str(), error = %self, "request failed");
        } else {
            tracing::debug!(code = self.code().as_str(), error = %self, "request rejected");
        }
        let mut headers = axum::http::HeaderMap::new();
        match &self {
            Self::RateLimited { retry_after, .. } | Self::QuotaExceeded { retry_after, .. } => {
                headers.insert(
                    axum::http::header::RETRY_AFTER,
                    retry_after_secs(*retry_after).into(),
                );
            }
            Self::Unauthorized(_) => {
                headers.insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer realm=\"unimargin\""),
                );
            }
            _ => {}
        }
        let body = self.into_body(crate::middleware::current_request_id());
        (status, headers, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests;

use std::{collections::BTreeMap, time::Duration};

use axum::http::StatusCode;
use chrono::{TimeZone, Utc};
use unimargin_engine::{EngineSettings, ProfileInput, compute_profile};
use unimargin_schema::{
    AccountIdError, ChainId, ChainIdError, Failure, FailureKind, FailureScope, MarginProfile,
};

use super::{ApiError, ErrorCode};
use crate::profiler::ProfileError;

fn failure(kind: FailureKind) -> Failure {
    Failure {
        scope: FailureScope {
            chain: Some(ChainId::evm(1)),
            ..FailureScope::default()
        },
        kind,
        message: format!("{kind:?}"),
    }
}

/// A profile with these failures, built by the engine itself so the test does not depend on
/// every field of `MarginProfile`.
fn incomplete(kinds: &[FailureKind]) -> MarginProfile {
    let input = ProfileInput {
        accounts: Vec::new(),
        snapshots: Vec::new(),
        failures: kinds.iter().copied().map(failure).collect(),
        expected: BTreeMap::new(),
        read_points: BTreeMap::new(),
        as_of: Utc.timestamp_opt(0, 0).single().unwrap_or_default(),
    };
    compute_profile(input, &EngineSettings::default())
}

#[test]
fn every_error_has_its_status_and_code() {
    use FailureKind::*;
    let bad_checksum = AccountIdError::BadChecksum {
        given: "0xaB".into(),
        expected: "0xAb".into(),
    };
    let unknown_alias = AccountIdError::Chain(ChainIdError::UnknownAlias("mars".into()));
    let cases: Vec<(ApiError, StatusCode, ErrorCode)> = vec![
        (
            ProfileError::NoAccounts.into(),
            StatusCode::BAD_REQUEST,
            ErrorCode::NoAccounts,
        ),
        (
            ProfileError::TooManyAccounts {
                count: 51,
                limit: 50,
            }
            .into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::TooManyAccounts,
        ),
        (
            ProfileError::InvalidAccount {
                input: "x".into(),
                reason: bad_checksum,
            }
            .into(),
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidAccount,
        ),
        // An unknown alias is an unknown chain, not a malformed account.
        (
            ProfileError::InvalidAccount {
                input: "mars:0x".into(),
                reason: unknown_alias,
            }
            .into(),
            StatusCode::BAD_REQUEST,
            ErrorCode::UnknownChain,
        ),
        (
            ApiError::InvalidRequest("x".into()),
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
        ),
        (
            ApiError::UnsupportedMediaType("x".into()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
        ),
        (
            ApiError::BodyTooLarge { limit: 1 },
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
        ),
        (
            ApiError::NotFound {
                method: "GET".into(),
                path: "/x".into(),
            },
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
        ),
        (
            ApiError::MethodNotAllowed {
                method: "PUT".into(),
                path: "/x".into(),
            },
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
        ),
        (
            ApiError::RequestTimeout(Duration::from_secs(1)),
            StatusCode::GATEWAY_TIMEOUT,
            ErrorCode::RequestTimeout,
        ),
        (
            ApiError::Internal("x".into()),
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
        ),
        (
            ApiError::Unauthorized("x".into()),
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
        ),
        (
            ApiError::RateLimited {
                limit: 1,
                retry_after: Duration::from_millis(1500),
            },
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
        ),
        (
            ApiError::UnknownOwnerSet("os_x".into()),
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownOwnerSet,
        ),
        (
            ApiError::StoreUnavailable("x".into()),
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::StoreUnavailable,
        ),
        // Incomplete profiles: upstream only → 502, any timeout among them → 504, anything else → 500.
        (
            ApiError::incomplete(incomplete(&[RpcUnavailable])),
            StatusCode::BAD_GATEWAY,
            ErrorCode::UpstreamUnavailable,
        ),
        (
            ApiError::incomplete(incomplete(&[StalePrice, CallReverted])),
            StatusCode::BAD_GATEWAY,
            ErrorCode::UpstreamUnavailable,
        ),
        (
            ApiError::incomplete(incomplete(&[RpcError, RpcTimeout])),
            StatusCode::GATEWAY_TIMEOUT,
            ErrorCode::UpstreamTimeout,
        ),
        (
            ApiError::incomplete(incomplete(&[RpcTimeout, Internal])),
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
        ),
        (
            ApiError::incomplete(incomplete(&[NoAdapterForChain])),
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
        ),
        (
            ApiError::incomplete(incomplete(&[])),
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
        ),
    ];
    for (error, status, code) in cases {
        let what = format!("{error:?}");
        assert_eq!((error.status(), error.code()), (status, code), "{what}");
        // The serialized code is the one `as_str` names.
        assert_eq!(
            serde_json::to_value(code).ok(),
            Some(serde_json::Value::from(code.as_str())),
            "{what}"
        );
    }
}

#[test]
fn bodies_carry_request_id_details_and_never_internals() {
    let body = ApiError::Internal("secret detail".into()).into_body(Some("req-1".into()));
    assert_eq!(body.error.request_id.as_deref(), Some("req-1"));
    assert!(
        !body.error.message.contains("secret"),
        "{}",
        body.error.message
    );
    assert!(body.error.message.contains("req-1"));

    let body = ApiError::from(ProfileError::TooManyAccounts {
        count: 51,
        limit: 50,
    })
    .into_body(None);
    assert_eq!(body.error.limit, Some(50));
    assert!(
        body.error.message.contains("at most 50"),
        "{}",
        body.error.message
    );
    assert_eq!(body.error.request_id, None);

    let body = ApiError::incomplete(incomplete(&[FailureKind::RpcTimeout])).into_body(None);
    assert_eq!(body.error.failures.len(), 1);
    assert!(body.profile.is_some_and(|p| !p.coverage.complete));
}

//! The layer in front of the `/v1` routes: who is calling, and whether they may call now.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{AuthMode, Caller, PUBLIC_TENANT, Tenancy, keys::key_id, limit::Decision};
use crate::error::ApiError;

/// The alternative to `Authorization: Bearer`.
pub(crate) const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// The key presented in `Authorization: Bearer <key>` or `x-api-key: <key>`.
fn presented(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = v.trim().split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim());
    }
    headers
        .get(&X_API_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Authenticates the request, applies the key's rate limit, and puts the [`Caller`] into the
/// request's extensions. Every refusal is the API's JSON error; the key never reaches a log.
pub(crate) async fn authenticate(
    State(tenancy): State<Arc<Tenancy>>,
    mut req: Request,
    next: Next,
) -> Response {
    // Probes (`/healthz`, `/readyz`, `/metrics`) and the API description stay open. The HTML
    // pages take a key like `/v1`, or a view link, which the page itself verifies.
    let page = crate::html::is_page(req.uri().path());
    if !req.uri().path().starts_with("/v1/")
        && (!page || crate::view_link::presented(req.uri().query()).is_some())
    {
        return next.run(req).await;
    }
    let caller = match tenancy.mode {
        AuthMode::Disabled => Caller {
            tenant: PUBLIC_TENANT.to_owned(),
            key_id: None,
        },
        AuthMode::Required => match check_key(&tenancy, req.headers()).await {
            Ok(caller) => caller,
            Err(error) => return error.into_response(),
        },
    };
    let decision = match &caller.key_id {
        Some(id) => tenancy.limiter.check(id, Instant::now()),
        None => Decision::Unlimited,
    };
    if let Decision::Deny { limit, retry_after } = decision {
        return ApiError::RateLimited { limit, retry_after }.into_response();
    }
    req.extensions_mut().insert(caller);
    let mut response = next.run(req).await;
    if let Decision::Allow {
        limit,
        remaining,
        reset,
    } = decision
    {
        let headers = response.headers_mut();
        let reset = reset.as_secs_f64().ceil().to_string();
        for (name, value) in [
            ("limit", limit.to_string()),
            ("remaining", remaining.to_string()),
            ("reset", reset),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                // The IETF draft's names and the older `X-` names that many clients still read.
                for header_name in [format!("ratelimit-{name}"), format!("x-ratelimit-{name}")] {
                    if let Ok(header_name) = HeaderName::try_from(header_name) {
                        headers.insert(header_name, value.clone());
                    }
                }
            }
        }
    }
    response
}

async fn check_key(tenancy: &Tenancy, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let Some(presented) = presented(headers).filter(|k| !k.is_empty()) else {
        return Err(ApiError::Unauthorized(
            "missing API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`".into(),
        ));
    };
    // One message for every bad key, so a caller cannot tell a revoked key from a made-up one.
    let invalid = || ApiError::Unauthorized("invalid or revoked API key".into());
    let id = key_id(presented).ok_or_else(invalid)?;
    let record = tenancy
        .store
        .key(id)
        .await
        .map_err(|e| ApiError::StoreUnavailable(e.to_string()))?;
    match record {
        Some(record) if record.accepts(presented) => Ok(Caller {
            tenant: record.tenant,
            key_id: Some(record.id),
        }),
        _ => Err(invalid()),
    }
}

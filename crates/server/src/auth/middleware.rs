//! The layer in front of the `/v1` routes: who is calling, and whether they may call now.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{
    AuthMode, Caller, PUBLIC_TENANT, Tenancy,
    keys::key_id,
    limit::{Decision, Quota},
};
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
    let (caller, key_quota) = match tenancy.mode {
        AuthMode::Disabled => (
            Caller {
                tenant: PUBLIC_TENANT.to_owned(),
                key_id: None,
            },
            None,
        ),
        AuthMode::Required => match check_key(&tenancy, req.headers()).await {
            Ok(checked) => checked,
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
    // The quota is spent only by requests the rate limit let through.
    let quota = match &caller.key_id {
        Some(id) => match spend_quota(&tenancy, id, key_quota).await {
            Ok(quota) => quota,
            Err(error) => return error.into_response(),
        },
        None => None,
    };
    req.extensions_mut().insert(caller);
    let mut response = next.run(req).await;
    if let Some(quota) = quota {
        quota.write_headers(response.headers_mut());
    }
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

/// A key's quota after this request.
struct QuotaState {
    limit: u64,
    used: u64,
    reset: Duration,
}

impl QuotaState {
    fn write_headers(&self, headers: &mut HeaderMap) {
        let reset = self.reset.as_secs() + u64::from(self.reset.subsec_nanos() > 0);
        for (name, value) in [
            ("x-quota-limit", self.limit),
            ("x-quota-remaining", self.limit.saturating_sub(self.used)),
            ("x-quota-reset", reset),
        ] {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
    }
}

/// Counts the request against the key's daily quota. Over the quota → 429 until the next UTC
/// day; a store that cannot count → 503 (an uncounted request could exceed any quota).
async fn spend_quota(
    tenancy: &Tenancy,
    key_id: &str,
    key_quota: Option<u64>,
) -> Result<Option<QuotaState>, ApiError> {
    let quota = tenancy.quota.for_key(key_quota);
    if quota.per_day == 0 {
        return Ok(None);
    }
    let (window, reset) = Quota::window(chrono::Utc::now());
    let used = tenancy
        .store
        .count_request(key_id, &window)
        .await
        .map_err(|e| ApiError::StoreUnavailable(e.to_string()))?;
    if used > quota.per_day {
        return Err(ApiError::QuotaExceeded {
            limit: quota.per_day,
            retry_after: reset,
        });
    }
    Ok(Some(QuotaState {
        limit: quota.per_day,
        used,
        reset,
    }))
}

/// The caller and its key's own quota, if the key has one.
async fn check_key(
    tenancy: &Tenancy,
    headers: &HeaderMap,
) -> Result<(Caller, Option<u64>), ApiError> {
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
        Some(record) if record.accepts(presented) => Ok((
            Caller {
                tenant: record.tenant,
                key_id: Some(record.id),
            },
            record.quota_per_day,
        )),
        _ => Err(invalid()),
    }
}

//! Pre-signed view links: `POST /v1/view-links` gives an authenticated caller a short-lived URL
//! of an HTML page (`/owners/{id}` or `/accounts/{account}`) that a browser can open without the
//! API key, as a pre-signed URL does.
//!
//! The token in `?view=` is `<tenant in hex>.<expiry, unix seconds>.<HMAC-SHA256>`, the MAC
//! covering the tenant, the page's path and the expiry. A link therefore opens one page, for one
//! tenant, until it expires: changing any part breaks the MAC. Every refusal is the same 401,
//! so a caller learns nothing about which part was wrong. Tokens are never logged (the request
//! span records the path only, never the query).
//!
//! Replicas verify each other's links only if they share the key ([`ViewLinks::new`] from
//! configuration); [`ViewLinks::random`] suits a single process.

use std::sync::Arc;

use axum::{Extension, Json, extract::State, http::StatusCode};
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{
    auth::{Caller, Tenancy},
    error::ApiError,
    routes::ApiJson,
    state::AppState,
};

/// The query parameter that carries the token.
pub const VIEW_PARAM: &str = "view";
/// Lifetime of a link when the request names none: long enough to open and read a page.
pub const DEFAULT_TTL_SECS: u64 = 15 * 60;
/// Longest lifetime a caller may ask for: a link is a bearer credential, so it stays short.
pub const MAX_TTL_SECS: u64 = 60 * 60;
/// Shortest accepted secret, in bytes (the HMAC-SHA256 key size).
pub const MIN_SECRET_BYTES: usize = 32;

/// What the MAC covers first, so a token of another format or version can never verify.
const DOMAIN: &[u8] = b"unimargin view link v1";

/// Why a view link cannot be issued or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewLinkError {
    /// The configured secret is too short to be a key.
    #[error("the view-link secret must be at least {MIN_SECRET_BYTES} bytes")]
    WeakSecret,
    /// No key: the OS gave no randomness for [`ViewLinks::random`].
    #[error("view links are unavailable: no key")]
    NoKey,
    /// Malformed, tampered with, for another page, or expired (deliberately one variant).
    #[error("invalid or expired view link")]
    Invalid,
}

/// Issues and verifies view links with one HMAC key.
#[derive(Clone)]
pub struct ViewLinks {
    key: Option<Arc<[u8]>>,
}

impl std::fmt::Debug for ViewLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a credential.
        f.debug_struct("ViewLinks")
            .field("enabled", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

type HmacSha256 = Hmac<Sha256>;

impl ViewLinks {
    /// Links keyed by `secret` (at least [`MIN_SECRET_BYTES`] bytes), which every replica that
    /// must open the links shares.
    pub fn new(secret: &[u8]) -> Result<Self, ViewLinkError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ViewLinkError::WeakSecret);
        }
        Ok(Self {
            key: Some(secret.into()),
        })
    }

    /// Links keyed by a fresh random key: valid in this process only. Without OS randomness
    /// no link can be issued or opened (never a guessable key).
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        Self {
            key: getrandom::getrandom(&mut key)
                .ok()
                .map(|()| Arc::from(&key[..])),
        }
    }

    fn mac(&self, tenant: &str, path: &str, expires: i64) -> Result<HmacSha256, ViewLinkError> {
        let key = self.key.as_ref().ok_or(ViewLinkError::NoKey)?;
        let mut mac = HmacSha256::new_from_slice(key).map_err(|_| ViewLinkError::NoKey)?;
        // Length-prefixed parts: no two (tenant, path) pairs encode alike.
        let expires = expires.to_string();
        for part in [
            DOMAIN,
            tenant.as_bytes(),
            path.as_bytes(),
            expires.as_bytes(),
        ] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        Ok(mac)
    }

    /// The token opening `path` for `tenant` until `expires_at` (whole seconds).
    pub fn issue(
        &self,
        tenant: &str,
        path: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<String, ViewLinkError> {
        let expires = expires_at.timestamp();
        let tag = self.mac(tenant, path, expires)?.finalize().into_bytes();
        Ok(format!(
            "{}.{expires}.{}",
            hex::encode(tenant),
            hex::encode(tag)
        ))
    }

    /// The tenant `token` was issued to, if it opens `path` at `now`. The MAC is checked (in
    /// constant time) before the expiry, and every failure is [`ViewLinkError::Invalid`].
    pub fn verify(
        &self,
        token: &str,
        path: &str,
        now: DateTime<Utc>,
    ) -> Result<String, ViewLinkError> {
        let mut parts = token.split('.');
        let (Some(tenant), Some(expires), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ViewLinkError::Invalid);
        };
        let tenant = hex::decode(tenant)
            .ok()
            .and_then(|t| String::from_utf8(t).ok())
            .ok_or(ViewLinkError::Invalid)?;
        let expires: i64 = expires.parse().map_err(|_| ViewLinkError::Invalid)?;
        let tag = hex::decode(tag).map_err(|_| ViewLinkError::Invalid)?;
        self.mac(&tenant, path, expires)?
            .verify_slice(&tag)
            .map_err(|_| ViewLinkError::Invalid)?;
        if now.timestamp() >= expires {
            return Err(ViewLinkError::Invalid);
        }
        Ok(tenant)
    }
}

/// The token in a query string (`view=<token>`), if any.
pub(crate) fn presented(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == VIEW_PARAM)
        .map(|(_, token)| token)
}

/// Body of `POST /v1/view-links`: exactly one of `owner_set` and `account`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewLinkRequest {
    /// An owner set of the caller (its page is `/owners/{id}`).
    #[serde(default)]
    pub owner_set: Option<String>,
    /// An account, as CAIP-10 or `alias:address` (its page is `/accounts/{account}`).
    #[serde(default)]
    pub account: Option<String>,
    /// Seconds the link stays valid: 1 to 3600, 900 when absent.
    #[serde(default)]
    pub ttl_secs: Option<u64>,
}

/// Body of a `201` from `POST /v1/view-links`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ViewLink {
    /// The page with its token (`/owners/os_…?view=…`), relative to this API's base URL. It is a
    /// bearer credential until `expires_at`: share it like a password.
    pub url: String,
    /// When the link stops opening the page.
    pub expires_at: DateTime<Utc>,
}

/// `POST /v1/view-links`.
pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(tenancy): Extension<Arc<Tenancy>>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<ViewLinkRequest>,
) -> Result<(StatusCode, Json<ViewLink>), ApiError> {
    let ttl = match request.ttl_secs {
        None => DEFAULT_TTL_SECS,
        Some(secs) if (1..=MAX_TTL_SECS).contains(&secs) => secs,
        Some(secs) => {
            return Err(ApiError::InvalidRequest(format!(
                "`ttl_secs` must be 1 to {MAX_TTL_SECS}, not {secs}"
            )));
        }
    };
    let path = match (request.owner_set, request.account) {
        (Some(id), None) => {
            let set = crate::html::owner_set_of(&tenancy, &caller.tenant, id).await?;
            format!("/owners/{}", set.id)
        }
        (None, Some(account)) => {
            let accounts = state.profiler.parse_accounts(&[account])?;
            state.profiler.check_served(&accounts)?;
            match accounts.first() {
                Some(account) => format!("/accounts/{account}"),
                None => return Err(ApiError::InvalidRequest("no account given".into())),
            }
        }
        _ => {
            return Err(ApiError::InvalidRequest(
                "give exactly one of `owner_set` and `account`".into(),
            ));
        }
    };
    let ttl = TimeDelta::seconds(i64::try_from(ttl).unwrap_or(i64::MAX));
    let expires_at = Utc::now() + ttl;
    let token = tenancy
        .view_links
        .issue(&caller.tenant, &path, expires_at)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let expires_at = DateTime::from_timestamp(expires_at.timestamp(), 0).unwrap_or(expires_at);
    tracing::info!(tenant = %caller.tenant, page = %path, "view link issued");
    Ok((
        StatusCode::CREATED,
        Json(ViewLink {
            url: format!("{path}?{VIEW_PARAM}={token}"),
            expires_at,
        }),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test reports failure by panicking")]

    use super::*;

    #[test]
    fn a_link_opens_its_page_for_its_tenant_until_it_expires() {
        let links = ViewLinks::new(&[7u8; 32]).unwrap();
        let now = Utc::now();
        let exp = now + TimeDelta::seconds(60);
        let token = links.issue("venue-a", "/owners/os_1", exp).unwrap();
        assert_eq!(
            links.verify(&token, "/owners/os_1", now).unwrap(),
            "venue-a"
        );
        // Another page, an expired link, another key, a changed tenant or expiry: refused.
        assert_eq!(
            links.verify(&token, "/owners/os_2", now),
            Err(ViewLinkError::Invalid)
        );
        assert_eq!(
            links.verify(&token, "/owners/os_1", exp),
            Err(ViewLinkError::Invalid)
        );
        let other = ViewLinks::new(&[8u8; 32]).unwrap();
        assert_eq!(
            other.verify(&token, "/owners/os_1", now),
            Err(ViewLinkError::Invalid)
        );
        let parts: Vec<&str> = token.split('.').collect();
        let forged_tenant = format!("{}.{}.{}", hex::encode("venue-b"), parts[1], parts[2]);
        let later = format!("{}.{}.{}", parts[0], exp.timestamp() + 3600, parts[2]);
        for forged in [forged_tenant, later, format!("{token}.x"), String::new()] {
            assert_eq!(
                links.verify(&forged, "/owners/os_1", now),
                Err(ViewLinkError::Invalid),
                "{forged}"
            );
        }
        assert_eq!(
            ViewLinks::new(&[1u8; 31]).err(),
            Some(ViewLinkError::WeakSecret)
        );
    }

    #[test]
    fn the_token_is_found_among_other_parameters() {
        assert_eq!(presented(Some("a=1&view=abc.1.ff")), Some("abc.1.ff"));
        assert_eq!(presented(Some("viewer=x")), None);
        assert_eq!(presented(None), None);
    }
}

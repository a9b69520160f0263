//! Owner sets: named groups of accounts (and their segments) registered to a tenant, so that a
//! venue asks `GET /v1/owners/{id}/profile` without resending addresses.
//!
//! Every lookup goes through the caller's tenant. Another tenant's set answers exactly like a set
//! that does not exist (404 `unknown_owner_set`), so ids do not leak across tenants (OWASP API1).

use std::sync::Arc;

use axum::{
    Extension, Json,
    extract::{Path, RawQuery, State, rejection::PathRejection},
    http::StatusCode,
    response::Response,
};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use unimargin_schema::{AccountId, Segment};

use crate::{
    auth::{Caller, Tenancy, keys::random_hex},
    error::ApiError,
    routes::{ApiJson, answer, respond_accounts, wants_signature},
    state::AppState,
};

/// Longest owner-set or segment name, in bytes.
const MAX_NAME: usize = 100;

/// A registered owner set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerSet {
    /// Id (`os_` and 16 hex digits), chosen by the service.
    pub id: String,
    /// The tenant that registered it; only that tenant's keys can see it.
    pub tenant: String,
    /// Name chosen by the tenant.
    pub name: String,
    /// The accounts, as canonical CAIP-10 ids (sorted, without duplicates).
    pub accounts: Vec<AccountId>,
    /// Named groups of the accounts margined on their own (each a subset of `accounts`).
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

/// A segment as registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentRequest {
    /// Name.
    pub name: String,
    /// Accounts, each also listed in the owner set's `accounts`.
    pub accounts: Vec<String>,
}

/// Body of `POST /v1/owners`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerSetRequest {
    /// Name.
    pub name: String,
    /// Accounts, as CAIP-10 ids or `alias:address`; at most `server.max_accounts`. The service
    /// reads them from its own configured RPC endpoints only.
    pub accounts: Vec<String>,
    /// Optional segments.
    #[serde(default)]
    pub segments: Vec<SegmentRequest>,
}

/// Body of `GET /v1/owners`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OwnerSetList {
    /// The caller's owner sets, by id.
    pub owner_sets: Vec<OwnerSet>,
}

/// Body of `DELETE /v1/owners/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Deleted {
    /// The id that was deleted.
    pub deleted: String,
}

fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.len() > MAX_NAME {
        return Err(ApiError::InvalidRequest(format!(
            "{what} must be 1 to {MAX_NAME} bytes long"
        )));
    }
    Ok(())
}

fn store_error(e: crate::auth::StoreError) -> ApiError {
    ApiError::StoreUnavailable(e.to_string())
}

pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(tenancy): Extension<Arc<Tenancy>>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<OwnerSetRequest>,
) -> Result<(StatusCode, Json<OwnerSet>), ApiError> {
    check_name("name", &request.name)?;
    let profiler = &state.profiler;
    let mut accounts = profiler.parse_accounts(&request.accounts)?;
    profiler.check_served(&accounts)?;
    accounts.sort();
    accounts.dedup();
    let mut segments = Vec::with_capacity(request.segments.len());
    for segment in request.segments {
        check_name("segment name", &segment.name)?;
        let mut members = profiler.parse_accounts(&segment.accounts)?;
        members.sort();
        members.dedup();
        if let Some(stray) = members.iter().find(|a| accounts.binary_search(a).is_err()) {
            return Err(ApiError::InvalidRequest(format!(
                "segment `{}` names {stray}, which is not among the owner set's accounts",
                segment.name
            )));
        }
        segments.push(Segment {
            name: segment.name,
            accounts: members,
        });
    }
    let id = format!(
        "os_{}",
        random_hex(8).map_err(|e| ApiError::Internal(e.to_string()))?
    );
    let set = OwnerSet {
        id,
        tenant: caller.tenant,
        name: request.name,
        accounts,
        segments,
        created_at: Utc::now(),
    };
    tenancy
        .store
        .put_owner_set(&set)
        .await
        .map_err(store_error)?;
    tracing::info!(tenant = %set.tenant, owner_set = %set.id, accounts = set.accounts.len(), "owner set registered");
    Ok((StatusCode::CREATED, Json(set)))
}

pub(crate) async fn list(
    Extension(tenancy): Extension<Arc<Tenancy>>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<OwnerSetList>, ApiError> {
    let owner_sets = tenancy
        .store
        .owner_sets(&caller.tenant)
        .await
        .map_err(store_error)?;
    Ok(Json(OwnerSetList { owner_sets }))
}

async fn find(
    tenancy: &Tenancy,
    caller: &Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<OwnerSet, ApiError> {
    let Path(id) = id?;
    find_by_id(tenancy, caller, id).await
}

/// The caller's owner set `id`; another tenant's set is the same 404 as no set.
pub(crate) async fn find_by_id(
    tenancy: &Tenancy,
    caller: &Caller,
    id: String,
) -> Result<OwnerSet, ApiError> {
    tenancy
        .store
        .owner_set(&caller.tenant, &id)
        .await
        .map_err(store_error)?
        .ok_or(ApiError::UnknownOwnerSet(id))
}

pub(crate) async fn get_one(
    Extension(tenancy): Extension<Arc<Tenancy>>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<OwnerSet>, ApiError> {
    find(&tenancy, &caller, id).await.map(Json)
}

pub(crate) async fn delete(
    Extension(tenancy): Extension<Arc<Tenancy>>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Deleted>, ApiError> {
    let Path(id) = id?;
    if tenancy
        .store
        .delete_owner_set(&caller.tenant, &id)
        .await
        .map_err(store_error)?
    {
        tracing::info!(tenant = %caller.tenant, owner_set = %id, "owner set deleted");
        Ok(Json(Deleted { deleted: id }))
    } else {
        Err(ApiError::UnknownOwnerSet(id))
    }
}

/// The owner set's profile; with `?signed=true`, attested with `ownerSetHash` = keccak256 of the
/// set's id, so a third party can tell which registered set the figures are for.
pub(crate) async fn profile(
    State(state): State<AppState>,
    Extension(tenancy): Extension<Arc<Tenancy>>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let signed = wants_signature(query.as_deref())?;
    let set = find(&tenancy, &caller, id).await?;
    let Json(profile) = respond_accounts(&state, set.accounts, &set.segments).await?;
    answer(&state, profile, Some(&set.id), signed)
}

//! `POST /v1/profiles/simulate`: what-if on a live profile.
//!
//! The profile of the named accounts (or of one of the caller's owner sets, with its segments) is
//! read exactly as `POST /v1/profiles` reads it, then [`unimargin_engine::simulate`] applies the
//! hypothetical changes in order and answers the profile before, the profile after and the diff.
//! Nothing is executed anywhere; the answer is advice.
//!
//! Fail closed: the simulation of an incomplete profile would be incomplete too, so an incomplete
//! base profile is answered as the profile routes answer it (502/504 with the partial profile),
//! never simulated into a figure a venue could mistake for a real one.

use std::sync::Arc;

use axum::{Extension, Json};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use unimargin_schema::{Simulation, WhatIfChange};

use crate::{
    auth::{Caller, Tenancy},
    error::ApiError,
    owners,
    routes::{ApiJson, respond_accounts},
    state::AppState,
};

/// Most changes one simulation applies: each change is cheap, but the body limit alone would
/// allow thousands, and a what-if of that size is not a question anyone asks.
pub const MAX_CHANGES: usize = 100;

/// Body of `POST /v1/profiles/simulate`: whose profile (`accounts` or `owner_set`, exactly one)
/// and the changes to apply to it, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    /// Accounts, as in `POST /v1/profiles` (CAIP-10 ids or `alias:address`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// Or the id of one of the caller's owner sets (its segments are simulated too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_set: Option<String>,
    /// The hypothetical changes, applied in order (at most 100).
    pub changes: Vec<WhatIfChange>,
}

pub(crate) async fn simulate(
    axum::extract::State(state): axum::extract::State<AppState>,
    Extension(tenancy): Extension<Arc<Tenancy>>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<SimulateRequest>,
) -> Result<Json<Simulation>, ApiError> {
    if request.changes.len() > MAX_CHANGES {
        return Err(ApiError::TooManyChanges {
            count: request.changes.len(),
            limit: MAX_CHANGES,
        });
    }
    if request.changes.is_empty() {
        return Err(ApiError::InvalidRequest(
            "no changes given: name at least one change to simulate".into(),
        ));
    }
    let profiler = &state.profiler;
    let Json(base) = match (request.owner_set, request.accounts.is_empty()) {
        (Some(_), false) => {
            return Err(ApiError::InvalidRequest(
                "give either `accounts` or `owner_set`, not both".into(),
            ));
        }
        (Some(id), true) => {
            let set = owners::find_by_id(&tenancy, &caller, id).await?;
            respond_accounts(&state, set.accounts, &set.segments).await?
        }
        (None, _) => {
            // No accounts is the profile routes' own `no_accounts` error.
            let accounts = profiler.parse_accounts(&request.accounts)?;
            respond_accounts(&state, accounts, &[]).await?
        }
    };
    let simulation = unimargin_engine::simulate(&base, &request.changes, profiler.engine())?;
    tracing::info!(
        changes = request.changes.len(),
        complete = simulation.after.coverage.complete,
        "simulated"
    );
    Ok(Json(simulation))
}

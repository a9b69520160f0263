//! The human view: `GET /accounts/{account}` and `GET /owners/{id}`, server-rendered HTML pages
//! of the profile (an owner set's with its segments).
//!
//! One minijinja template (`templates/account.html`, compiled into the binary; no JavaScript,
//! no build step) fed by a view model built here, so the template only lays out strings.
//! Autoescaping is on (`.html`), so nothing read from a chain can inject markup.
//!
//! A page opens with the API key (as the `/v1` routes, rate limited alike) or with a view link
//! (`?view=…`, see [`crate::view_link`]), which opens that one page for its tenant until it
//! expires (a tenant's links share one rate-limit bucket); anything else is a 401. Another tenant's owner set is a 404, like a made-up id.
//! Pages are sent `Cache-Control: no-store` and `Referrer-Policy: no-referrer`, so neither a
//! shared cache nor a followed link keeps the token.
//!
//! An incomplete profile is still shown, with its failures in red, but answered with the same
//! 502/504 status as the JSON API: a script that only checks the status fails closed.

use std::{sync::Arc, time::Instant};

use axum::{
    Extension,
    extract::{Path, State, rejection::PathRejection},
    http::{StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use rust_decimal::Decimal;
use serde::Serialize;
use unimargin_schema::{FailureKind, Health, MarginProfile};

use crate::{
    auth::{Caller, RateLimiter, Tenancy, limit::Decision},
    error::ApiError,
    owners::OwnerSet,
    state::AppState,
    view_link,
};

const TEMPLATE: &str = include_str!("../templates/account.html");

#[derive(Serialize)]
struct ProtocolRow {
    name: String,
    chain: String,
    metric: String,
    native: String,
    reported: String,
    liquidatable: bool,
    health: String,
}

#[derive(Serialize)]
struct PositionRow {
    protocol: String,
    kind: String,
    side: String,
    symbol: String,
    amount: String,
    price: String,
    value: String,
}

#[derive(Serialize)]
struct FailureRow {
    scope: String,
    kind: String,
    message: String,
}

#[derive(Serialize)]
struct ScenarioRow {
    id: String,
    pnl: String,
    loss: String,
    /// 0 … 0.6: the row's red, proportional to its loss over the worst loss.
    heat: String,
}

#[derive(Serialize)]
struct SurfaceRow {
    underlying: String,
    price: String,
    down: String,
    up: String,
}

#[derive(Serialize)]
struct SegmentRow {
    name: String,
    accounts: usize,
    complete: bool,
    health: String,
    health_class: &'static str,
    equity: String,
    requirement: String,
    grade: String,
}

#[derive(Serialize)]
struct OwnerView {
    id: String,
    name: String,
}

#[derive(Serialize)]
struct View {
    title: String,
    owner: Option<OwnerView>,
    segments: Vec<SegmentRow>,
    accounts: Vec<String>,
    as_of: String,
    methodology: String,
    complete: bool,
    health: String,
    health_class: &'static str,
    gauge_pct: String,
    initial_health: String,
    weakest_native: String,
    credit: String,
    totals: Vec<(&'static str, String)>,
    protocols: Vec<ProtocolRow>,
    positions: Vec<PositionRow>,
    failures: Vec<FailureRow>,
    scenarios: Vec<ScenarioRow>,
    surfaces: Vec<SurfaceRow>,
}

fn health_text(health: Option<Health>) -> String {
    match health {
        None => "unknown".to_owned(),
        Some(Health::Infinite) => "∞".to_owned(),
        Some(Health::Finite(h)) => h
            .round_dp_with_strategy(4, rust_decimal::RoundingStrategy::ToZero)
            .to_string(),
    }
}

/// Dollars with two decimals, rounded toward zero so that the page never shows more than is there.
fn usd(value: Decimal) -> String {
    format!(
        "{:.2}",
        value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero)
    )
}

/// Serde's name of a unit enum variant (`"rpc_timeout"`), for display.
fn label<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// The colour class of a health and where it sits on the 0 → 3 gauge.
fn health_class(health: Option<Health>) -> (&'static str, Decimal) {
    match health {
        None => ("unknown", Decimal::ZERO),
        Some(Health::Infinite) => ("ok", Decimal::from(3)),
        Some(Health::Finite(h)) if h < Decimal::ONE => ("danger", h),
        Some(Health::Finite(h)) if h < Decimal::new(15, 1) => ("warn", h),
        Some(Health::Finite(h)) => ("ok", h.min(Decimal::from(3))),
    }
}

fn view(profile: &MarginProfile, owner: Option<&OwnerSet>) -> View {
    let (health_class_name, gauge) = health_class(profile.health);
    let t = &profile.totals;
    let worst = profile
        .risk
        .scenarios
        .iter()
        .map(|s| s.loss_usd)
        .max()
        .unwrap_or_default();
    View {
        title: match owner {
            Some(set) => set.name.clone(),
            None => profile
                .accounts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        },
        owner: owner.map(|set| OwnerView {
            id: set.id.clone(),
            name: set.name.clone(),
        }),
        segments: profile
            .risk
            .segments
            .iter()
            .map(|s| {
                let (class, _) = health_class(s.margin.health);
                SegmentRow {
                    name: s.name.clone(),
                    accounts: s.accounts.len(),
                    complete: s.complete,
                    health: health_text(s.margin.health),
                    health_class: class,
                    equity: usd(s.margin.equity_usd),
                    requirement: usd(s.margin.maintenance_requirement_usd),
                    grade: s.score.grade.clone(),
                }
            })
            .collect(),
        accounts: profile.accounts.iter().map(ToString::to_string).collect(),
        as_of: profile.as_of.to_rfc3339(),
        methodology: profile.methodology.clone(),
        complete: profile.coverage.complete,
        health: health_text(profile.health),
        health_class: health_class_name,
        // 0 → 3 maps onto the gauge's width.
        gauge_pct: (gauge * Decimal::from(100) / Decimal::from(3))
            .round_dp(1)
            .to_string(),
        initial_health: health_text(profile.initial_health),
        weakest_native: health_text(profile.weakest_native_health),
        credit: usd(profile.credit_capacity_usd),
        totals: vec![
            ("Net value", usd(t.net_value_usd)),
            ("Collateral", usd(t.collateral_usd)),
            (
                "Adjusted collateral (maintenance)",
                usd(t.adjusted_collateral_usd),
            ),
            ("Initial collateral", usd(t.initial_collateral_usd)),
            ("Debt", usd(t.debt_usd)),
            ("Maintenance requirement", usd(t.maintenance_margin_usd)),
            ("Initial requirement", usd(t.initial_margin_usd)),
            ("Free collateral", usd(t.free_collateral_usd)),
            (
                "Cross-margin benefit",
                usd(profile.cross_margin_benefit_usd),
            ),
        ],
        protocols: profile
            .protocols
            .iter()
            .map(|p| ProtocolRow {
                name: format!("{}/{}", p.protocol, p.market.0),
                chain: p.chain.to_string(),
                metric: p.native_health.metric.clone(),
                native: health_text(Some(p.native_health.value)),
                reported: health_text(p.native_health.reported),
                liquidatable: p.native_health.liquidatable,
                health: health_text(Some(p.health)),
            })
            .collect(),
        positions: profile
            .protocols
            .iter()
            .flat_map(|p| {
                p.positions.iter().map(move |pos| PositionRow {
                    protocol: format!("{}/{}", p.protocol, p.market.0),
                    kind: label(&pos.kind),
                    side: label(&pos.side),
                    symbol: pos.asset.symbol.clone(),
                    amount: pos.amount.normalize().to_string(),
                    price: pos.price.usd.normalize().to_string(),
                    value: usd(pos.value_usd),
                })
            })
            .collect(),
        failures: profile
            .coverage
            .failures
            .iter()
            .map(|f| FailureRow {
                scope: serde_json::to_string(&f.scope).unwrap_or_default(),
                kind: label::<FailureKind>(&f.kind),
                message: f.message.clone(),
            })
            .collect(),
        scenarios: profile
            .risk
            .scenarios
            .iter()
            .map(|s| ScenarioRow {
                id: s.id.clone(),
                pnl: usd(s.pnl_usd),
                loss: usd(s.loss_usd),
                heat: if worst > Decimal::ZERO {
                    (s.loss_usd / worst * Decimal::new(6, 1))
                        .round_dp(2)
                        .to_string()
                } else {
                    "0".to_owned()
                },
            })
            .collect(),
        surfaces: profile
            .risk
            .liquidation_surface
            .iter()
            .map(|s| {
                let point = |p: &Option<unimargin_schema::LiquidationPoint>| match p {
                    Some(p) => format!(
                        "{}% ({})",
                        (p.change * Decimal::from(100)).round_dp(1),
                        p.market
                    ),
                    None => "none".to_owned(),
                };
                SurfaceRow {
                    underlying: s.underlying.clone(),
                    price: s.price_usd.map(usd).unwrap_or_else(|| "—".to_owned()),
                    down: point(&s.down),
                    up: point(&s.up),
                }
            })
            .collect(),
    }
}

/// Renders the page of `profile`, titled with its owner set when it is one's.
pub fn render(
    profile: &MarginProfile,
    owner: Option<&OwnerSet>,
) -> Result<String, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.add_template("account.html", TEMPLATE)?;
    env.get_template("account.html")?
        .render(view(profile, owner))
}

/// Whether `path` is an HTML page (which takes a key or a view link).
pub(crate) fn is_page(path: &str) -> bool {
    path.starts_with("/accounts/") || path.starts_with("/owners/")
}

/// The caller's owner set `id`; another tenant's is the same 404 as a made-up id.
pub(crate) async fn owner_set_of(
    tenancy: &Tenancy,
    tenant: &str,
    id: String,
) -> Result<OwnerSet, ApiError> {
    tenancy
        .store
        .owner_set(tenant, &id)
        .await
        .map_err(|e| ApiError::StoreUnavailable(e.to_string()))?
        .ok_or(ApiError::UnknownOwnerSet(id))
}

/// The tenant the page is shown to: a view link's (checked against this very path), else the
/// API key's (the auth layer checked it and put the [`Caller`]). One answer for every bad link.
fn viewer(
    links: &view_link::ViewLinks,
    limiter: &RateLimiter,
    caller: Option<Caller>,
    uri: &Uri,
) -> Result<String, ApiError> {
    if let Some(token) = view_link::presented(uri.query()) {
        let tenant = links
            .verify(token, uri.path(), chrono::Utc::now())
            .map_err(|_| ApiError::Unauthorized("invalid or expired view link".into()))?;
        // Every page load reads the chains: a tenant's links share one bucket of the per-key
        // rate, so a link that leaked cannot be used to hammer the service.
        let bucket = format!("view-link:{tenant}");
        if let Decision::Deny { limit, retry_after } = limiter.check(&bucket, Instant::now()) {
            return Err(ApiError::RateLimited { limit, retry_after });
        }
        return Ok(tenant);
    }
    caller.map(|c| c.tenant).ok_or_else(|| {
        ApiError::Unauthorized(
            "send the API key (`Authorization: Bearer <key>`) or open a view link".into(),
        )
    })
}

/// The page's answer: 200 for a complete profile, else the JSON API's status for it.
fn page(profile: MarginProfile, owner: Option<&OwnerSet>) -> Result<Response, ApiError> {
    let html = render(&profile, owner)
        .map_err(|e| ApiError::Internal(format!("page did not render: {e}")))?;
    let status = if profile.coverage.complete {
        StatusCode::OK
    } else {
        // The JSON API's status for the same profile: 502, or 504 when something timed out.
        ApiError::incomplete(profile).into_response().status()
    };
    Ok((
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html,
    )
        .into_response())
}

/// `GET /accounts/{account}`.
pub(crate) async fn account_page(
    State(state): State<AppState>,
    Extension(tenancy): Extension<Arc<Tenancy>>,
    caller: Option<Extension<Caller>>,
    uri: Uri,
    account: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    viewer(
        &tenancy.view_links,
        &tenancy.limiter,
        caller.map(|c| c.0),
        &uri,
    )?;
    let Path(account) = account?;
    let accounts = state.profiler.parse_accounts(&[account])?;
    let profile = state.profiler.profile(accounts).await?;
    page(profile, None)
}

/// `GET /owners/{id}`.
pub(crate) async fn owner_page(
    State(state): State<AppState>,
    Extension(tenancy): Extension<Arc<Tenancy>>,
    caller: Option<Extension<Caller>>,
    uri: Uri,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let tenant = viewer(
        &tenancy.view_links,
        &tenancy.limiter,
        caller.map(|c| c.0),
        &uri,
    )?;
    let Path(id) = id?;
    let set = owner_set_of(&tenancy, &tenant, id).await?;
    let profile = state
        .profiler
        .profile_segmented(set.accounts.clone(), &set.segments)
        .await?;
    page(profile, Some(&set))
}

//! The portfolio-margin assessment of a set of protocol markets: book → scenarios → stress →
//! margin, liquidation surface, greeks and score. Used for the whole profile and for each segment.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use unimargin_schema::{GroupExposure, ProtocolRisk, ProtocolSnapshot, RiskProfile};

use crate::{
    GridCache,
    book::{self, Book},
    correlation::Correlation,
    margin,
    model::RiskModel,
    options, score, stress, surface,
};

/// What every assessment of one profile shares.
#[derive(Debug, Clone)]
pub(crate) struct Context<'a> {
    pub(crate) model: &'a RiskModel,
    pub(crate) correlation: Correlation,
    pub(crate) max_price_age_secs: u64,
    pub(crate) as_of: DateTime<Utc>,
    pub(crate) notes: Vec<String>,
    /// Where compiled scenario grids are found and kept.
    pub(crate) grids: GridCache,
}

impl<'a> Context<'a> {
    /// Prepares the model (the correlation matrix is validated again: a model built in code may
    /// not have been; an invalid matrix falls back to no correlation, with a note).
    pub(crate) fn new(model: &'a RiskModel, max_price_age_secs: u64, as_of: DateTime<Utc>) -> Self {
        let mut notes = Vec::new();
        let correlation = Correlation::new(&model.correlation).unwrap_or_else(|e| {
            notes.push(format!("{e}; groups are treated as uncorrelated"));
            Correlation::identity()
        });
        Self {
            model,
            correlation,
            max_price_age_secs,
            as_of,
            notes,
            grids: GridCache::default(),
        }
    }

    /// Uses `grids` (the settings' cache) for the scenario grids, instead of a cache of its own.
    pub(crate) fn with_grids(mut self, grids: &GridCache) -> Self {
        self.grids = grids.clone();
        self
    }
}

/// One assessment.
#[derive(Debug, Clone)]
pub(crate) struct Assessment {
    pub(crate) risk: RiskProfile,
    pub(crate) markets: Vec<ProtocolRisk>,
    /// The market that liquidates first in the worst scenario.
    pub(crate) first_liquidation: Option<String>,
}

/// Builds the book of `markets`.
pub(crate) fn build_book(markets: &[&ProtocolSnapshot], ctx: &Context<'_>) -> Book {
    book::build(markets, ctx.model, ctx.as_of)
}

/// Value-weighted price quality in [0, 1] (see [`crate::score`]).
fn oracle_quality(book: &Book, max_age: u64) -> Decimal {
    let mut total = Decimal::ZERO;
    let mut weighted = Decimal::ZERO;
    let max_age = Decimal::from(max_age.max(1));
    for key in &book.keys {
        if key.gross_usd <= Decimal::ZERO {
            continue;
        }
        let q = if key.price.diverged {
            Decimal::ZERO
        } else {
            match key.price.age {
                None => Decimal::new(5, 1),
                Some(age) => (Decimal::ONE - Decimal::from(age) / (Decimal::TWO * max_age))
                    .max(Decimal::new(5, 1)),
            }
        };
        total += key.gross_usd;
        weighted += key.gross_usd * q;
    }
    if total.is_zero() {
        Decimal::ONE
    } else {
        (weighted / total).round_dp(6)
    }
}

/// Assesses `book`; `complete` says whether every market it should contain was read.
pub(crate) fn assess(book: &mut Book, ctx: &Context<'_>, complete: bool) -> Assessment {
    let model = ctx.model;
    let labels: Vec<String> = book.markets.iter().map(|m| m.label.clone()).collect();
    let scenarios = ctx.grids.grid(book, model, &ctx.correlation);
    let horizon_years = f64::from(model.grid.horizon_days) / 365.0;
    let stress = stress::run(book, &scenarios, horizon_years, &labels);
    let (margin, standalone) = margin::portfolio(book, &stress, model, complete);
    let liquidation_surface = surface::surface(book, &labels);
    let (option_valuations, greeks, portfolio_greeks) =
        options::report(&book.options, &labels, &book.groups);
    let score = score::score(
        score::ScoreInputs {
            equity: margin.equity_usd,
            stress_and_add_ons: margin.stress_loss_usd + margin.maintenance_add_ons.total_usd,
            nearest_liquidation: surface::nearest(&liquidation_surface),
            concentration: margin.maintenance_add_ons.concentration_usd,
            oracle_quality: oracle_quality(book, ctx.max_price_age_secs),
            complete,
            below_requirement: margin.margin_excess_usd < Decimal::ZERO,
        },
        &model.score,
    );
    let markets = book
        .markets
        .iter()
        .zip(&stress.markets)
        .zip(&standalone)
        .map(|((m, s), alone)| ProtocolRisk {
            equity_usd: m.equity,
            maintenance_requirement_usd: m.maintenance_requirement,
            initial_requirement_usd: m.initial_requirement,
            stress_loss_usd: alone.stress_loss,
            standalone_requirement_usd: alone.maintenance,
            standalone_initial_requirement_usd: alone.initial,
            liquidation_penalty: m.penalty,
            liquidated_in_scenarios: s.liquidated_in,
            worst_scenario: s.worst.map(|(_, i)| stress.outcomes[i].id.clone()),
            worst_scenario_health: stress::worst_health(s),
        })
        .collect();
    let first_liquidation = stress
        .worst
        .and_then(|i| stress.outcomes[i].liquidated.first().cloned());
    let mut exposures: Vec<GroupExposure> = book
        .groups
        .iter()
        .filter(|g| g.present)
        .map(|g| GroupExposure {
            group: g.name.clone(),
            numeraire: g.numeraire,
            long_usd: g.long_usd.round_dp(8),
            short_usd: g.short_usd.round_dp(8),
            net_usd: (g.long_usd - g.short_usd).round_dp(8),
        })
        .collect();
    exposures.sort_by(|a, b| a.group.cmp(&b.group));
    let mut notes = ctx.notes.clone();
    notes.extend(book.notes.iter().cloned());
    Assessment {
        risk: RiskProfile {
            regime: model.regime,
            horizon_days: model.grid.horizon_days,
            prices: std::mem::take(&mut book.prices),
            exposures,
            margin,
            scenarios: stress.outcomes,
            options: option_valuations,
            greeks,
            portfolio_greeks,
            liquidation_surface,
            score,
            segments: Vec::new(),
            rebalance: None,
            notes,
        },
        markets,
        first_liquidation,
    }
}

//! Portfolio requirements, health, margin excess, cross-margin benefit and credit capacity.
//!
//! * `maintenance requirement = max(W + A_m, max_p R_p)` and
//!   `initial requirement = max(W × initial_multiplier + A_i, max_p R_p,initial)`, where `W` is the
//!   worst weighted scenario loss (≥ 0), `A` the add-ons (short option minimum, concentration,
//!   oracle divergence) and `R_p` each market's own requirement in equity terms.
//! * `health = 1 + (E − MR) ÷ L` when `E ≥ MR` (infinite without liabilities `L`), else `E ÷ MR`:
//!   both branches equal 1 at the requirement, the first is the lending health factor generalized
//!   (`1 + excess ÷ debt`), and together they make more collateral never lower health and more
//!   debt never raise it.
//! * `cross_margin_benefit = Σ_p R_p − MR`.
//! * `credit capacity = max(0, E − W − A_m)`, zero when coverage is incomplete.

use rust_decimal::Decimal;
use unimargin_schema::{AddOns, Health, PortfolioMargin, Side};

use crate::{book::Book, haircut::haircut, model::RiskModel, stress::Stress};

/// Health from equity, requirement and liabilities (see the module doc).
pub(crate) fn health(equity: Decimal, requirement: Decimal, liabilities: Decimal) -> Health {
    if equity >= requirement {
        if liabilities <= Decimal::ZERO {
            Health::Infinite
        } else {
            Health::Finite((Decimal::ONE + (equity - requirement) / liabilities).normalize())
        }
    } else {
        Health::ratio(equity.max(Decimal::ZERO), requirement)
    }
}

/// The largest fall the grid applies to an asset of `group` (for the haircut cap).
fn largest_fall(book: &Book, model: &RiskModel, key: usize) -> Decimal {
    let k = &book.keys[key];
    let g = &book.groups[k.group];
    let peg = k.peg.map_or(Decimal::ZERO, |p| book.pegs[p].depeg);
    let moves = model
        .grid
        .moves
        .iter()
        .copied()
        .max()
        .unwrap_or(Decimal::ZERO)
        .max(model.grid.extreme_move);
    let group = if g.numeraire {
        Decimal::ZERO
    } else {
        (moves * g.scale).min(model.grid.max_down_move)
    };
    // (1 − group)(1 − peg) is the lowest factor; the fall is its complement.
    Decimal::ONE - (Decimal::ONE - group) * (Decimal::ONE - peg)
}

/// Maintenance and initial add-ons.
pub(crate) fn add_ons(book: &Book, model: &RiskModel) -> (AddOns, AddOns) {
    let mut concentration = (Decimal::ZERO, Decimal::ZERO);
    for (k, key) in book.keys.iter().enumerate() {
        let size = key.net_usd.abs();
        if size.is_zero() {
            continue;
        }
        // Capped at ⅔ of what the grid leaves of the asset, so that a holding's stress loss plus
        // its (marginal) concentration charge never exceed its value: the concentration charge
        // grows at most 1.5 times as fast as the haircut (d/dN [N × imf √N] = 1.5 × imf √N).
        let cap = (Decimal::ONE - largest_fall(book, model, k)) * Decimal::TWO / Decimal::from(3);
        let h = haircut(
            model,
            &key.symbol,
            book.groups[key.group].volatility,
            size,
            cap,
        );
        concentration.0 += size * h.maintenance;
        concentration.1 += size * h.initial;
    }
    let som: Decimal = book
        .options
        .iter()
        .filter(|l| l.side == Side::Short)
        .map(|l| l.amount * l.underlying_usd * model.options.short_option_minimum)
        .sum();
    let make = |c: Decimal| {
        let c = crate::book::ceil(c);
        let som = crate::book::ceil(som);
        AddOns {
            short_option_minimum_usd: som,
            concentration_usd: c,
            oracle_divergence_usd: book.oracle_addon,
            total_usd: som + c + book.oracle_addon,
        }
    };
    (make(concentration.0), make(concentration.1))
}

/// The portfolio margin of `book` given its stress results.
pub(crate) fn portfolio(
    book: &Book,
    stress: &Stress,
    model: &RiskModel,
    complete: bool,
) -> PortfolioMargin {
    let stress_loss = stress.worst_loss.max(Decimal::ZERO);
    let (maintenance_add_ons, initial_add_ons) = add_ons(book, model);
    let largest = book
        .markets
        .iter()
        .map(|m| m.maintenance_requirement)
        .max()
        .unwrap_or(Decimal::ZERO);
    let largest_initial = book
        .markets
        .iter()
        .map(|m| m.initial_requirement)
        .max()
        .unwrap_or(Decimal::ZERO);
    let isolated: Decimal = book.markets.iter().map(|m| m.maintenance_requirement).sum();
    let maintenance = (stress_loss + maintenance_add_ons.total_usd).max(largest);
    let initial = (crate::book::ceil(stress_loss * model.grid.initial_multiplier)
        + initial_add_ons.total_usd)
        .max(largest_initial)
        .max(maintenance);
    let equity = book.equity;
    let credit = if complete {
        (equity - stress_loss - maintenance_add_ons.total_usd).max(Decimal::ZERO)
    } else {
        Decimal::ZERO
    };
    PortfolioMargin {
        equity_usd: equity,
        liabilities_usd: book.liabilities,
        stress_loss_usd: stress_loss,
        worst_scenario: stress
            .worst
            .filter(|_| stress_loss > Decimal::ZERO)
            .map(|i| stress.outcomes[i].id.clone()),
        maintenance_add_ons,
        initial_add_ons,
        maintenance_requirement_usd: maintenance,
        initial_requirement_usd: initial,
        largest_protocol_requirement_usd: largest,
        isolated_requirement_usd: isolated,
        cross_margin_benefit_usd: isolated - maintenance,
        margin_excess_usd: equity - maintenance,
        free_margin_usd: equity - initial,
        health: complete.then(|| health(equity, maintenance, book.liabilities)),
        initial_health: complete.then(|| health(equity, initial, book.liabilities)),
        credit_capacity_usd: credit,
    }
}

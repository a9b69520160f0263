//! Portfolio requirements, health, margin excess, cross-margin benefit and credit capacity.
//!
//! * `maintenance requirement = max(W + A_m, Σ_p R_p)` and
//!   `initial requirement = max(W × initial_multiplier + A_i, Σ_p R_p,initial, MR)`, where `W` is
//!   the worst weighted scenario loss (≥ 0), `A` the add-ons (short option minimum,
//!   concentration, oracle divergence) and `R_p` each market's own requirement in equity terms.
//!   The floor is the sum because the venues liquidate independently: with equity below
//!   `Σ R_p`, some market holds less than its own `R_p` and that venue liquidates, whatever the
//!   netting elsewhere.
//! * Each market margined alone by the same method: `standalone_p = max(W_p + A_p, R_p)`, with
//!   `W_p` its own worst weighted loss on the same grid (from the same pass, see
//!   [`crate::stress`]) and `A_p` the add-ons of its positions alone.
//!   `cross_margin_benefit = Σ_p standalone_p − MR`.
//! * `health = 1 + (E − MR) ÷ L` when `E ≥ MR` (infinite without liabilities `L`), else `E ÷ MR`:
//!   both branches equal 1 at the requirement, the first is the lending health factor generalized
//!   (`1 + excess ÷ debt`), and together they make more collateral never lower health and more
//!   debt never raise it.
//! * `credit capacity = max(0, E − W − A_m)`, zero when coverage is incomplete.

use rust_decimal::{Decimal, RoundingStrategy};
use unimargin_schema::{AddOns, Health, PortfolioMargin, Side};

use crate::{
    book::{Book, MarketBook},
    exact::Exact,
    haircut::HaircutBasis,
    model::RiskModel,
    stress::Stress,
};

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

/// The largest fall the grid applies to an asset (for the haircut cap), `moves` being the
/// grid's largest move.
fn largest_fall(book: &Book, model: &RiskModel, key: usize, moves: Decimal) -> Decimal {
    let k = &book.keys[key];
    let g = &book.groups[k.group];
    let peg = k.peg.map_or(Decimal::ZERO, |p| book.pegs[p].depeg);
    let group = if g.numeraire {
        Decimal::ZERO
    } else {
        (moves * g.scale).min(model.grid.max_down_move)
    };
    // (1 − group)(1 − peg) is the lowest factor; the fall is its complement.
    Decimal::ONE - (Decimal::ONE - group) * (Decimal::ONE - peg)
}

/// The haircut basis of every asset of the book, computed once per assessment.
fn haircut_bases(book: &Book, model: &RiskModel) -> Vec<HaircutBasis> {
    let largest_move = model
        .grid
        .moves
        .iter()
        .copied()
        .max()
        .unwrap_or(Decimal::ZERO)
        .max(model.grid.extreme_move);
    (0..book.keys.len())
        .map(|key| {
            let k = &book.keys[key];
            // Capped at ⅔ of what the grid leaves of the asset, so that a holding's stress loss
            // plus its (marginal) concentration charge never exceed its value: the concentration
            // charge grows at most 1.5 times as fast as the haircut
            // (d/dN [N × imf √N] = 1.5 × imf √N).
            let cap = (Decimal::ONE - largest_fall(book, model, key, largest_move)) * Decimal::TWO
                / Decimal::from(3);
            HaircutBasis::new(model, &k.symbol, book.groups[k.group].volatility, cap)
        })
        .collect()
}

/// Concentration charges (maintenance, initial) of a net exposure `net_usd` to an asset.
fn concentration(basis: &HaircutBasis, net_usd: Decimal) -> (Decimal, Decimal) {
    if let Some((m, i)) = Exact::of(net_usd).and_then(|n| concentration_exact(basis, n)) {
        return (m.to_decimal(), i.to_decimal());
    }
    let size = net_usd.abs();
    if size.is_zero() {
        return (Decimal::ZERO, Decimal::ZERO);
    }
    let h = basis.at(size);
    (size * h.maintenance, size * h.initial)
}

/// [`concentration`] in machine integers ([`Exact`]), `None` where they cannot follow `Decimal`.
fn concentration_exact(basis: &HaircutBasis, net_usd: Exact) -> Option<(Exact, Exact)> {
    let size = net_usd.abs();
    if size.is_zero() {
        return Some((Exact::ZERO, Exact::ZERO));
    }
    let (m, i) = basis.at_exact(size)?;
    Some((size.mul(m)?, size.mul(i)?))
}

/// Maintenance and initial add-ons from their parts (each rounded up to 1e-8).
fn make_add_ons(
    som: Decimal,
    concentration: (Decimal, Decimal),
    oracle: Decimal,
) -> (AddOns, AddOns) {
    let som = crate::book::ceil(som);
    let oracle = crate::book::ceil(oracle);
    let make = |c: Decimal| {
        let c = crate::book::ceil(c);
        AddOns {
            short_option_minimum_usd: som,
            concentration_usd: c,
            oracle_divergence_usd: oracle,
            total_usd: som + c + oracle,
        }
    };
    (make(concentration.0), make(concentration.1))
}

/// Short option minimum of one written leg.
fn short_option_minimum(leg: &crate::book::OptionLeg, model: &RiskModel) -> Decimal {
    if leg.side == Side::Short {
        leg.amount * leg.underlying_usd * model.options.short_option_minimum
    } else {
        Decimal::ZERO
    }
}

/// Maintenance and initial add-ons of the whole book.
fn add_ons(book: &Book, model: &RiskModel, bases: &[HaircutBasis]) -> (AddOns, AddOns) {
    let mut concentration = (Decimal::ZERO, Decimal::ZERO);
    for (key, basis) in book.keys.iter().zip(bases) {
        let (m, i) = self::concentration(basis, key.net_usd);
        concentration.0 += m;
        concentration.1 += i;
    }
    let som: Decimal = book
        .options
        .iter()
        .map(|l| short_option_minimum(l, model))
        .sum();
    make_add_ons(som, concentration, book.oracle_addon)
}

/// The add-ons of market `m`'s positions alone: the same three charges on its own net exposures,
/// its own written options and its own share of the oracle divergence. `net` is scratch space,
/// reused across markets.
fn market_add_ons(
    book: &Book,
    model: &RiskModel,
    bases: &[HaircutBasis],
    m: usize,
    net: &mut Vec<(usize, Exact)>,
) -> (AddOns, AddOns) {
    let market = &book.markets[m];
    let mut som = Decimal::ZERO;
    for &i in &market.options {
        som += short_option_minimum(&book.options[i], model);
    }
    let concentration = market_concentration_exact(book, bases, market, net)
        .unwrap_or_else(|| market_concentration(book, bases, market));
    let mut oracle = Decimal::ZERO;
    for b in &market.buckets {
        let price = &book.keys[b.key].price;
        if price.diverged {
            oracle += b.long_units * (price.reference - price.long)
                + b.short_units * (price.short - price.reference);
        }
    }
    make_add_ons(som, concentration, oracle)
}

/// A market's concentration charges (maintenance, initial): those of its net exposure per
/// asset, the buckets' units at reference prices plus its option deltas.
fn market_concentration(
    book: &Book,
    bases: &[HaircutBasis],
    market: &MarketBook,
) -> (Decimal, Decimal) {
    let mut net: Vec<(usize, Decimal)> = market
        .buckets
        .iter()
        .map(|b| {
            let price = book.keys[b.key].price.reference;
            (b.key, (b.long_units - b.short_units) * price)
        })
        .collect();
    for &i in &market.options {
        let leg = &book.options[i];
        match net.iter_mut().find(|(k, _)| *k == leg.key) {
            Some((_, n)) => *n += leg.delta_usd,
            None => net.push((leg.key, leg.delta_usd)),
        }
    }
    let mut concentration = (Decimal::ZERO, Decimal::ZERO);
    for (k, n) in net {
        let (m, i) = self::concentration(&bases[k], n);
        concentration.0 += m;
        concentration.1 += i;
    }
    concentration
}

/// [`market_concentration`] in machine integers ([`Exact`]): the same sums in the same order,
/// hence the same two numbers, value and representation; `None` where the integers cannot
/// follow `Decimal` (then it is computed in `Decimal`). `net` is scratch space.
fn market_concentration_exact(
    book: &Book,
    bases: &[HaircutBasis],
    market: &MarketBook,
    net: &mut Vec<(usize, Exact)>,
) -> Option<(Decimal, Decimal)> {
    net.clear();
    for b in &market.buckets {
        let price = Exact::of(book.keys[b.key].price.reference)?;
        let units = Exact::of(b.long_units)?.sub(Exact::of(b.short_units)?)?;
        net.push((b.key, units.mul(price)?));
    }
    for &i in &market.options {
        let leg = &book.options[i];
        let delta = Exact::of(leg.delta_usd)?;
        match net.iter_mut().find(|(k, _)| *k == leg.key) {
            Some((_, n)) => *n = n.add(delta)?,
            None => net.push((leg.key, delta)),
        }
    }
    let mut concentration = (Exact::ZERO, Exact::ZERO);
    for &(k, n) in net.iter() {
        let (m, i) = concentration_exact(&bases[k], n)?;
        concentration.0 = concentration.0.add(m)?;
        concentration.1 = concentration.1.add(i)?;
    }
    // Rounded up here as `make_add_ons` would (which leaves them as they are then): cheaper
    // in integers.
    let up = RoundingStrategy::ToPositiveInfinity;
    Some((
        concentration.0.round_dp(8, up)?.to_decimal(),
        concentration.1.round_dp(8, up)?.to_decimal(),
    ))
}

/// One market margined alone by the portfolio method.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Standalone {
    /// Its own worst weighted scenario loss `W_p` (≥ 0).
    pub(crate) stress_loss: Decimal,
    /// `max(W_p + A_p,m, R_p)`.
    pub(crate) maintenance: Decimal,
    /// `max(W_p × initial_multiplier + A_p,i, R_p,initial, maintenance)`.
    pub(crate) initial: Decimal,
}

/// The portfolio margin of `book` given its stress results, and each market margined alone.
pub(crate) fn portfolio(
    book: &Book,
    stress: &Stress,
    model: &RiskModel,
    complete: bool,
) -> (PortfolioMargin, Vec<Standalone>) {
    let stress_loss = stress.worst_loss.max(Decimal::ZERO);
    let bases = haircut_bases(book, model);
    let (maintenance_add_ons, initial_add_ons) = add_ons(book, model, &bases);
    let largest = book
        .markets
        .iter()
        .map(|m| m.maintenance_requirement)
        .max()
        .unwrap_or(Decimal::ZERO);
    let protocols: Decimal = book.markets.iter().map(|m| m.maintenance_requirement).sum();
    let protocols_initial: Decimal = book.markets.iter().map(|m| m.initial_requirement).sum();
    let mut net = Vec::new();
    let standalone: Vec<Standalone> = book
        .markets
        .iter()
        .zip(&stress.markets)
        .enumerate()
        .map(|(m, (market, s))| {
            let w = crate::stress::own_stress_loss(s);
            let (a_m, a_i) = market_add_ons(book, model, &bases, m, &mut net);
            let maintenance = (w + a_m.total_usd).max(market.maintenance_requirement);
            let initial = (crate::book::ceil(w * model.grid.initial_multiplier) + a_i.total_usd)
                .max(market.initial_requirement)
                .max(maintenance);
            Standalone {
                stress_loss: w,
                maintenance,
                initial,
            }
        })
        .collect();
    let isolated: Decimal = standalone.iter().map(|s| s.maintenance).sum();
    let isolated_initial: Decimal = standalone.iter().map(|s| s.initial).sum();
    let maintenance = (stress_loss + maintenance_add_ons.total_usd).max(protocols);
    let initial = (crate::book::ceil(stress_loss * model.grid.initial_multiplier)
        + initial_add_ons.total_usd)
        .max(protocols_initial)
        .max(maintenance);
    let equity = book.equity;
    let credit = if complete {
        (equity - stress_loss - maintenance_add_ons.total_usd).max(Decimal::ZERO)
    } else {
        Decimal::ZERO
    };
    let margin = PortfolioMargin {
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
        protocol_requirements_usd: protocols,
        isolated_requirement_usd: isolated,
        isolated_initial_requirement_usd: isolated_initial,
        cross_margin_benefit_usd: isolated - maintenance,
        margin_excess_usd: equity - maintenance,
        free_margin_usd: equity - initial,
        health: complete.then(|| health(equity, maintenance, book.liabilities)),
        initial_health: complete.then(|| health(equity, initial, book.liabilities)),
        credit_capacity_usd: credit,
    };
    (margin, standalone)
}

//! Black-76: European options on a forward, the model Derive quotes its options with.
//!
//! This is the adapter's own small pricing module, kept separate so that it can be unified with
//! the engine's Black-76 once the engine has one. Floats are used inside the model only; callers
//! convert to `Decimal` at the boundary ([`to_decimal`]).
//!
//! With forward `F`, strike `K`, time to expiry `T` in years (365-day), volatility `σ` and zero
//! rates (the forward already carries the carry):
//!
//! * `d1 = (ln(F/K) + σ²T/2) / (σ√T)`, `d2 = d1 − σ√T`;
//! * call `= F·N(d1) − K·N(d2)`, put `= K·N(−d2) − F·N(−d1)`;
//! * delta (w.r.t. `F`): call `N(d1)`, put `N(d1) − 1`;
//! * gamma `= φ(d1) / (F·σ·√T)`;
//! * vega `= F·φ(d1)·√T` per unit of volatility, reported per vol point (÷ 100);
//! * theta `= −F·φ(d1)·σ / (2√T)` per year, reported per day (÷ 365).

use rust_decimal::{Decimal, prelude::FromPrimitive};
use unimargin_schema::OptionKind;

/// Seconds in the 365-day year the model's `T` is measured in.
pub const SECONDS_PER_YEAR: f64 = 365.0 * 86_400.0;

/// Model inputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inputs {
    /// Forward price of the expiry.
    pub forward: f64,
    /// Strike.
    pub strike: f64,
    /// Time to expiry in years.
    pub years: f64,
    /// Implied volatility (a fraction: 0.6 = 60 %).
    pub vol: f64,
}

/// Price and sensitivities of one option.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Output {
    /// Premium.
    pub price: f64,
    /// ∂price/∂F.
    pub delta: f64,
    /// ∂²price/∂F².
    pub gamma: f64,
    /// ∂price/∂σ per vol point (σ + 0.01).
    pub vega: f64,
    /// ∂price/∂t per day.
    pub theta: f64,
}

/// Prices an option, or `None` when the inputs are outside the model (non-positive forward,
/// strike, time or volatility, or not finite).
pub fn price(kind: OptionKind, i: Inputs) -> Option<Output> {
    let ok = |x: f64| x.is_finite() && x > 0.0;
    if !(ok(i.forward) && ok(i.strike) && ok(i.years) && ok(i.vol)) {
        return None;
    }
    let sqrt_t = i.years.sqrt();
    let sd = i.vol * sqrt_t;
    let d1 = ((i.forward / i.strike).ln() + 0.5 * sd * sd) / sd;
    let d2 = d1 - sd;
    let pdf = norm_pdf(d1);
    let (price, delta) = match kind {
        OptionKind::Call => (
            i.forward * norm_cdf(d1) - i.strike * norm_cdf(d2),
            norm_cdf(d1),
        ),
        OptionKind::Put => (
            i.strike * norm_cdf(-d2) - i.forward * norm_cdf(-d1),
            norm_cdf(d1) - 1.0,
        ),
    };
    Some(Output {
        price,
        delta,
        gamma: pdf / (i.forward * sd),
        vega: i.forward * pdf * sqrt_t / 100.0,
        theta: -i.forward * pdf * i.vol / (2.0 * sqrt_t) / 365.0,
    })
}

/// A model float as a decimal with 12 significant digits, or `None` when not finite.
pub fn to_decimal(x: f64) -> Option<Decimal> {
    Decimal::from_f64(x).map(|d| d.round_sf(12).unwrap_or(d).normalize())
}

/// The standard normal density.
pub fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The standard normal distribution function, to about 1e-15 relative precision: its Taylor
/// series near the centre and a continued fraction (Laplace's, evaluated by the modified Lentz
/// method) in the tails, so neither tail loses digits to cancellation.
pub fn norm_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x.abs() < 3.0 {
        // Φ(x) = 1/2 + φ(x) · Σ x^(2n+1) / (1·3·5···(2n+1)); every term has the sign of x.
        let (mut term, mut sum, mut n) = (x, x, 1.0);
        while term.abs() > 1e-17 * sum.abs() {
            n += 2.0;
            term *= x * x / n;
            sum += term;
        }
        return 0.5 + norm_pdf(x) * sum;
    }
    let tail = upper_tail(x.abs());
    if x > 0.0 { 1.0 - tail } else { tail }
}

/// `1 − Φ(z)` for `z ≥ 3`: `φ(z) / (z + 1/(z + 2/(z + 3/(z + …))))`.
fn upper_tail(z: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut f = z;
    let mut c = z;
    let mut d = 0.0;
    for k in 1..500 {
        let a = f64::from(k);
        d = z + a * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = z + a / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 2.0 * f64::EPSILON {
            break;
        }
    }
    norm_pdf(z) / f
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test reports failure by panicking")]
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn normal_cdf_matches_reference_values() {
        // Reference values of Φ (erfc-based, double precision).
        for (x, want) in [
            (0.0, 0.5),
            (1.0, 0.841_344_746_068_542_9),
            (-1.96, 0.024_997_895_148_220_435),
            (2.5, 0.993_790_334_674_223_8),
            (-3.5, 2.326_290_790_355_250_4e-4),
            (-8.0, 6.220_960_574_271_819e-16),
            (5.0, 0.999_999_713_348_428_1),
        ] {
            assert!(
                close(norm_cdf(x), want, 1e-13),
                "Φ({x}) = {} ≠ {want}",
                norm_cdf(x)
            );
        }
    }

    #[test]
    fn put_call_parity_holds() {
        // C − P = F − K with zero rates.
        let i = Inputs {
            forward: 3000.0,
            strike: 2800.0,
            years: 0.25,
            vol: 0.7,
        };
        let c = price(OptionKind::Call, i).unwrap();
        let p = price(OptionKind::Put, i).unwrap();
        assert!((c.price - p.price - 200.0).abs() < 1e-9);
        assert!((c.delta - p.delta - 1.0).abs() < 1e-15);
        assert_eq!(c.gamma, p.gamma);
        assert!(price(OptionKind::Call, Inputs { years: 0.0, ..i }).is_none());
    }
}

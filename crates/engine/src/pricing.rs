//! Option pricing models: Black-76 (options on a forward or future) and Black-Scholes-Merton
//! (options on spot with a continuous yield), with their closed-form greeks.
//!
//! `f64` is used here and only here for money-like quantities, because the models need `ln`,
//! `exp`, `√` and the normal distribution; callers convert the results to `Decimal` at the boundary
//! (the engine's `options` module). Greeks are in the model's natural units: per unit of
//! underlying, per 1.00 of volatility, per year.

/// Call or put (the schema's `OptionKind`, repeated to keep this module free of the schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    /// Call.
    Call,
    /// Put.
    Put,
}

/// Inputs of one valuation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelInput {
    /// Call or put.
    pub right: Right,
    /// Underlying price: the forward (Black-76) or the spot (Black-Scholes).
    pub underlying: f64,
    /// Strike.
    pub strike: f64,
    /// Years to expiry.
    pub years: f64,
    /// Volatility (annual, 0.2 = 20 %).
    pub vol: f64,
    /// Continuous risk-free rate.
    pub rate: f64,
    /// Continuous yield of the underlying (Black-Scholes only; 0 for Black-76).
    pub carry_yield: f64,
}

/// Price and greeks of one unit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Valuation {
    /// Price.
    pub price: f64,
    /// ∂price/∂underlying.
    pub delta: f64,
    /// ∂²price/∂underlying².
    pub gamma: f64,
    /// ∂price/∂vol (per 1.00 of volatility).
    pub vega: f64,
    /// −∂price/∂years (per year: the change as a year passes).
    pub theta: f64,
}

/// The standard normal cumulative distribution, `N(x) = erfc(−x/√2) ÷ 2` (accurate to a few
/// ulps in both tails, unlike `1 − N(−x)`).
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The standard normal density.
pub fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// What both the price and the greeks of Black-Scholes are built from: the discount factors
/// and `d1`, `d2` — or, at or after expiry (or with zero volatility), the discounted intrinsic
/// value and its step delta.
enum Terms {
    Live {
        dq: f64,
        dr: f64,
        sqrt_t: f64,
        d1: f64,
        d2: f64,
    },
    Intrinsic {
        price: f64,
        delta: f64,
    },
}

fn terms(i: ModelInput) -> Terms {
    let ModelInput {
        right,
        underlying: s,
        strike: k,
        years: t,
        vol,
        rate: r,
        carry_yield: q,
    } = i;
    let dq = exp_or_one(-q * t.max(0.0));
    let dr = exp_or_one(-r * t.max(0.0));
    if t <= 0.0 || vol <= 0.0 || s <= 0.0 || k <= 0.0 {
        let fwd = s * dq;
        let strike = k * dr;
        let (price, delta) = match right {
            Right::Call if fwd > strike => (fwd - strike, dq),
            Right::Put if strike > fwd => (strike - fwd, -dq),
            _ => (0.0, 0.0),
        };
        return Terms::Intrinsic { price, delta };
    }
    let sqrt_t = t.sqrt();
    let d1 = ((s / k).ln() + (r - q + 0.5 * vol * vol) * t) / (vol * sqrt_t);
    Terms::Live {
        dq,
        dr,
        sqrt_t,
        d1,
        d2: d1 - vol * sqrt_t,
    }
}

/// `e^x`, exactly 1 for `x = 0` without evaluating it (a zero rate or yield is the usual case).
fn exp_or_one(x: f64) -> f64 {
    if x == 0.0 { 1.0 } else { x.exp() }
}

/// Black-Scholes-Merton on spot `S` with rate `r` and yield `q`:
/// `d1 = (ln(S/K) + (r − q + σ²/2)T) ÷ σ√T`, `d2 = d1 − σ√T`,
/// `call = S e^{−qT} N(d1) − K e^{−rT} N(d2)`, `put = K e^{−rT} N(−d2) − S e^{−qT} N(−d1)`.
/// At or after expiry (or with zero volatility) the option is worth its discounted intrinsic
/// value and its delta is a step.
pub fn black_scholes(i: ModelInput) -> Valuation {
    let (dq, dr, sqrt_t, d1, d2) = match terms(i) {
        Terms::Live {
            dq,
            dr,
            sqrt_t,
            d1,
            d2,
        } => (dq, dr, sqrt_t, d1, d2),
        Terms::Intrinsic { price, delta } => {
            return Valuation {
                price,
                delta,
                ..Valuation::default()
            };
        }
    };
    let ModelInput {
        right,
        underlying: s,
        strike: k,
        vol,
        rate: r,
        carry_yield: q,
        ..
    } = i;
    let pdf = norm_pdf(d1);
    let gamma = dq * pdf / (s * vol * sqrt_t);
    let vega = s * dq * pdf * sqrt_t;
    let decay = -s * dq * pdf * vol / (2.0 * sqrt_t);
    match right {
        Right::Call => Valuation {
            price: s * dq * norm_cdf(d1) - k * dr * norm_cdf(d2),
            delta: dq * norm_cdf(d1),
            gamma,
            vega,
            theta: decay - r * k * dr * norm_cdf(d2) + q * s * dq * norm_cdf(d1),
        },
        Right::Put => Valuation {
            price: k * dr * norm_cdf(-d2) - s * dq * norm_cdf(-d1),
            delta: -dq * norm_cdf(-d1),
            gamma,
            vega,
            theta: decay + r * k * dr * norm_cdf(-d2) - q * s * dq * norm_cdf(-d1),
        },
    }
}

/// The price alone of [`black_scholes`], bit for bit the same number, without the greeks: the
/// stress grid and the liquidation surface revalue options many times and read only the price.
pub fn black_scholes_price(i: ModelInput) -> f64 {
    match terms(i) {
        Terms::Live { dq, dr, d1, d2, .. } => match i.right {
            Right::Call => i.underlying * dq * norm_cdf(d1) - i.strike * dr * norm_cdf(d2),
            Right::Put => i.strike * dr * norm_cdf(-d2) - i.underlying * dq * norm_cdf(-d1),
        },
        Terms::Intrinsic { price, .. } => price,
    }
}

/// The price alone of [`black76`].
pub fn black76_price(i: ModelInput) -> f64 {
    black_scholes_price(ModelInput {
        carry_yield: i.rate,
        ..i
    })
}

/// Black-76 on a forward `F`: Black-Scholes with the yield equal to the rate (`q = r`), so that
/// `call = e^{−rT}(F N(d1) − K N(d2))` with `d1 = (ln(F/K) + σ²T/2) ÷ σ√T`.
pub fn black76(i: ModelInput) -> Valuation {
    black_scholes(ModelInput {
        carry_yield: i.rate,
        ..i
    })
}

//! Option models against published values and against independent computations.
//!
//! Hull's examples are printed to 2–4 significant digits, so they are checked to the printed
//! precision. The 1e-6 checks compare the closed-form greeks with independent routes to the same
//! quantities: central finite differences of the model price, put–call parity, and a normal CDF
//! integrated numerically (composite Simpson) instead of through `erfc`.

use unimargin_engine::pricing::{
    ModelInput, Right, black_scholes, black_scholes_price, black76, black76_price, norm_cdf,
    norm_pdf,
};

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want} ± {tol}"
    );
}

fn bs(right: Right, s: f64, k: f64, t: f64, vol: f64, r: f64) -> ModelInput {
    ModelInput {
        right,
        underlying: s,
        strike: k,
        years: t,
        vol,
        rate: r,
        carry_yield: 0.0,
    }
}

/// Hull, *Options, Futures, and Other Derivatives*, the Black-Scholes-Merton example:
/// S₀ = 42, K = 40, r = 10 %, σ = 20 %, T = 0.5 → c = 4.76, p = 0.81.
#[test]
fn hull_black_scholes_example() {
    let call = black_scholes(bs(Right::Call, 42.0, 40.0, 0.5, 0.2, 0.1));
    let put = black_scholes(bs(Right::Put, 42.0, 40.0, 0.5, 0.2, 0.1));
    close(call.price, 4.76, 0.005, "call");
    close(put.price, 0.81, 0.005, "put");
    // d1 = 0.7693, so N(d1) = 0.7791 is the call delta.
    close(call.delta, 0.7791, 0.00005, "call delta");
}

/// Hull, the Greek letters chapter: S₀ = 49, K = 50, r = 5 %, σ = 20 %, T = 20 weeks
/// (0.3846 years): price 2.40, Δ = 0.522, Γ = 0.066, vega = 12.1, Θ = −4.31 per year.
#[test]
fn hull_greek_letters_example() {
    let v = black_scholes(bs(Right::Call, 49.0, 50.0, 0.3846, 0.2, 0.05));
    close(v.price, 2.40, 0.005, "price");
    close(v.delta, 0.522, 0.0005, "delta");
    close(v.gamma, 0.066, 0.0005, "gamma");
    close(v.vega, 12.1, 0.05, "vega");
    close(v.theta, -4.31, 0.005, "theta");
}

/// Hull, Black's model for futures options: a put, F₀ = K = 20, r = 9 %, T = 4 months,
/// σ = 25 % → p = 1.12 (d1 = 0.07216, N(−d1) = 0.4712, N(−d2) = 0.5288).
#[test]
fn hull_black_76_futures_put() {
    let v = black76(ModelInput {
        right: Right::Put,
        underlying: 20.0,
        strike: 20.0,
        years: 4.0 / 12.0,
        vol: 0.25,
        rate: 0.09,
        carry_yield: 0.0,
    });
    close(v.price, 1.12, 0.005, "put");
    // d1 = σ√T ÷ 2.
    let d1 = 0.25 * (4.0f64 / 12.0).sqrt() / 2.0;
    close(d1, 0.07216, 0.00001, "d1"); // printed truncated: 0.0721688
    close(norm_cdf(-d1), 0.4712, 0.00005, "N(-d1)");
}

/// The normal CDF against Simpson's rule on the density (2·10⁴ intervals from −10).
#[test]
fn normal_cdf_matches_numerical_integration() {
    for x in [-3.0, -1.2, -0.07216, 0.0, 0.0542, 0.7693, 1.5, 2.9] {
        let (a, n) = (-10.0f64, 20_000);
        let h = (x - a) / f64::from(n);
        let mut sum = norm_pdf(a) + norm_pdf(x);
        for i in 1..n {
            sum += norm_pdf(a + h * f64::from(i)) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        close(norm_cdf(x), sum * h / 3.0, 1e-10, &format!("N({x})"));
    }
}

/// Closed-form greeks equal finite differences of the price within 1e-6, for Black-Scholes and
/// Black-76, calls and puts, on Hull's inputs and on a crypto-like option.
#[test]
fn greeks_equal_finite_differences_of_the_price() {
    let cases = [
        bs(Right::Call, 49.0, 50.0, 0.3846, 0.2, 0.05),
        bs(Right::Put, 49.0, 50.0, 0.3846, 0.2, 0.05),
        bs(Right::Call, 42.0, 40.0, 0.5, 0.2, 0.1),
        bs(Right::Put, 2000.0, 1800.0, 30.0 / 365.0, 0.75, 0.0),
    ];
    for input in cases {
        for model in [black_scholes as fn(ModelInput) -> _, black76] {
            let v = model(input);
            let price = |f: &dyn Fn(&mut ModelInput)| {
                let mut i = input;
                f(&mut i);
                model(i).price
            };
            let (hs, hv, ht) = (1e-3 * input.underlying / 50.0, 1e-5, 1e-6);
            let delta =
                (price(&|i| i.underlying += hs) - price(&|i| i.underlying -= hs)) / (2.0 * hs);
            let gamma = (price(&|i| i.underlying += hs) - 2.0 * v.price
                + price(&|i| i.underlying -= hs))
                / (hs * hs);
            let vega = (price(&|i| i.vol += hv) - price(&|i| i.vol -= hv)) / (2.0 * hv);
            let theta = -(price(&|i| i.years += ht) - price(&|i| i.years -= ht)) / (2.0 * ht);
            let what = format!("{input:?}");
            close(v.delta, delta, 1e-6, &format!("delta {what}"));
            close(v.gamma, gamma, 1e-6, &format!("gamma {what}"));
            close(
                v.vega,
                vega,
                1e-6 * v.vega.abs().max(1.0),
                &format!("vega {what}"),
            );
            close(
                v.theta,
                theta,
                1e-6 * v.theta.abs().max(1.0),
                &format!("theta {what}"),
            );
        }
    }
}

/// Put–call parity holds to 1e-9: `c − p = S e^{−qT} − K e^{−rT}`, and Black-76 `c − p = e^{−rT}(F − K)`.
#[test]
fn put_call_parity() {
    let (s, k, t, vol, r) = (49.0, 50.0, 0.3846, 0.2, 0.05);
    let c = black_scholes(bs(Right::Call, s, k, t, vol, r)).price;
    let p = black_scholes(bs(Right::Put, s, k, t, vol, r)).price;
    close(c - p, s - k * (-r * t).exp(), 1e-9, "bs parity");
    let c = black76(bs(Right::Call, s, k, t, vol, r)).price;
    let p = black76(bs(Right::Put, s, k, t, vol, r)).price;
    close(c - p, (-r * t).exp() * (s - k), 1e-9, "black-76 parity");
}

#[test]
fn expired_options_are_worth_their_intrinsic_value() {
    let v = black76(bs(Right::Call, 2100.0, 2000.0, 0.0, 0.8, 0.0));
    assert_eq!((v.price, v.delta, v.gamma), (100.0, 1.0, 0.0));
    let v = black76(bs(Right::Put, 2100.0, 2000.0, -1.0, 0.8, 0.0));
    assert_eq!(v.price, 0.0);
}

/// The price-only path the grid uses is the same number as the full valuation, bit for bit, over
/// both rights, moneyness, expiry (expired included), volatility, rates and yields.
#[test]
fn the_price_only_path_is_bit_identical() {
    for right in [Right::Call, Right::Put] {
        for s in [0.0, 1.0, 1500.0, 2000.0, 2600.0, 1e6] {
            for t in [-0.1, 0.0, 1.0 / 365.0, 0.25, 3.0] {
                for vol in [0.0, 0.05, 0.7, 2.5] {
                    for (r, q) in [(0.0, 0.0), (0.05, 0.0), (0.03, 0.01), (-0.01, 0.02)] {
                        let i = ModelInput {
                            carry_yield: q,
                            ..bs(right, s, 2000.0, t, vol, r)
                        };
                        let what = format!("{i:?}");
                        assert_eq!(
                            black_scholes_price(i).to_bits(),
                            black_scholes(i).price.to_bits(),
                            "{what}"
                        );
                        assert_eq!(
                            black76_price(i).to_bits(),
                            black76(i).price.to_bits(),
                            "{what}"
                        );
                    }
                }
            }
        }
    }
}

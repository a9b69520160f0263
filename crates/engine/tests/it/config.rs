//! The shipped `config/risk.toml` parses and validates; invalid models are rejected with the key.

use unimargin_engine::{ModelError, RiskModel};

use crate::support::d;

fn shipped() -> RiskModel {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/risk.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_shipped_risk_model_is_valid() {
    let model = shipped();
    model.validate().unwrap();
    assert_eq!(
        model.grid.moves,
        [
            d("0.03"),
            d("0.06"),
            d("0.10"),
            d("0.15"),
            d("0.25"),
            d("0.35")
        ]
    );
    assert_eq!(model.correlation.groups, ["BTC", "ETH", "SOL"]);
    assert!(model.groups["USD"].numeraire);
    assert_eq!(model.pegs["stETH"].group, "ETH");
    assert_eq!(model.liquidation.penalty("aave-v3"), d("0.075"));
    assert_eq!(model.liquidation.penalty("unheard-of"), d("0.10"));
}

#[test]
fn the_default_model_is_valid() {
    RiskModel::default().validate().unwrap();
}

#[test]
fn a_correlation_matrix_that_is_not_positive_definite_is_rejected() {
    let mut model = shipped();
    // ρ(BTC,ETH) = ρ(ETH,SOL) = 0.9 but ρ(BTC,SOL) = −0.9 is impossible.
    model.correlation.matrix = vec![
        vec![d("1"), d("0.9"), d("-0.9")],
        vec![d("0.9"), d("1"), d("0.9")],
        vec![d("-0.9"), d("0.9"), d("1")],
    ];
    assert_eq!(
        model.validate(),
        Err(ModelError::Correlation(
            "matrix is not positive definite".into()
        ))
    );
    model.correlation.matrix[0][1] = d("0.5");
    assert!(matches!(model.validate(), Err(ModelError::Correlation(m)) if m.contains("≠")));
}

#[test]
fn out_of_range_values_name_their_key() {
    let mut model = shipped();
    model.grid.extreme_weight = d("1.5");
    let err = model.validate().unwrap_err().to_string();
    assert!(err.starts_with("grid.extreme_weight: 1.5"), "{err}");
    let mut model = shipped();
    model.score.weights.stress = d("0.5");
    assert!(
        model
            .validate()
            .unwrap_err()
            .to_string()
            .contains("score.weights (sum)")
    );
    let mut model = shipped();
    model.pegs.get_mut("stETH").unwrap().group = "EHT".into();
    assert_eq!(
        model.validate(),
        Err(ModelError::UnknownGroup {
            peg: "stETH".into(),
            group: "EHT".into()
        })
    );
}

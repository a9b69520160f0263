//! Correlation of risk groups' moves and its Cholesky factor.
//!
//! Moves are handled in standardized units `z = move ÷ s` where `s` is the group's largest grid
//! move, so that the configured correlation matrix `ρ` is the covariance of `z` and the set of
//! "equally severe" joint moves is the ellipsoid `zᵀ ρ⁻¹ z = 1`. Given the moves of some groups,
//! the others move by their conditional expectation `ρ_hG ρ_GG⁻¹ z_G`, which keeps every joint
//! scenario on (or inside) that ellipsoid: correlated groups move along, uncorrelated ones stay.
//!
//! This is the only place besides the option models that uses `f64`: the results are relative
//! moves, converted to `Decimal` (rounded to 1e-9) before anything is valued with them.

use rust_decimal::{Decimal, prelude::ToPrimitive};

use crate::model::{CorrelationConfig, ModelError};

/// A validated correlation matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    groups: Vec<String>,
    rho: Vec<f64>,
}

/// Lower-triangular Cholesky factor `L` of a symmetric matrix (`n × n`, row-major) with
/// `L Lᵀ = a`, or `None` when `a` is not positive definite.
pub fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    if a.len() != n * n {
        return None;
    }
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = a[i * n + j];
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                // A pivot this small means a (numerically) singular matrix.
                if sum <= 1e-12 {
                    return None;
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solves `L Lᵀ x = b` given the Cholesky factor `L`.
pub fn cholesky_solve(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; n];
    for i in 0..n {
        let mut sum = b[i];
        for k in 0..i {
            sum -= l[i * n + k] * y[k];
        }
        y[i] = sum / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut sum = y[i];
        for k in i + 1..n {
            sum -= l[k * n + i] * x[k];
        }
        x[i] = sum / l[i * n + i];
    }
    x
}

impl Correlation {
    /// Validates the configured matrix: square, symmetric, unit diagonal, entries in [−1, 1],
    /// distinct groups, and positive definite (its Cholesky factor exists).
    pub fn new(config: &CorrelationConfig) -> Result<Self, ModelError> {
        let n = config.groups.len();
        if config.matrix.len() != n || config.matrix.iter().any(|row| row.len() != n) {
            return Err(ModelError::Correlation(format!(
                "matrix must be {n} × {n}, one row per group"
            )));
        }
        for (i, g) in config.groups.iter().enumerate() {
            if config.groups[..i].contains(g) {
                return Err(ModelError::Correlation(format!(
                    "group `{g}` is listed twice"
                )));
            }
        }
        let mut rho = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let v = config.matrix[i][j];
                if v < Decimal::NEGATIVE_ONE || v > Decimal::ONE {
                    return Err(ModelError::Correlation(format!(
                        "matrix[{i}][{j}] = {v} is outside [-1, 1]"
                    )));
                }
                if v != config.matrix[j][i] {
                    return Err(ModelError::Correlation(format!(
                        "matrix[{i}][{j}] ≠ matrix[{j}][{i}]"
                    )));
                }
                if i == j && v != Decimal::ONE {
                    return Err(ModelError::Correlation(format!(
                        "matrix[{i}][{i}] must be 1"
                    )));
                }
                rho[i * n + j] = v.to_f64().unwrap_or(f64::NAN);
            }
        }
        if cholesky(&rho, n).is_none() {
            return Err(ModelError::Correlation(
                "matrix is not positive definite".into(),
            ));
        }
        Ok(Self {
            groups: config.groups.clone(),
            rho,
        })
    }

    /// No correlation at all.
    pub fn identity() -> Self {
        Self {
            groups: Vec::new(),
            rho: Vec::new(),
        }
    }

    /// `ρ(a, b)`: 1 on the diagonal, the configured value, or 0 for groups not both listed.
    pub fn rho(&self, a: &str, b: &str) -> f64 {
        if a == b {
            return 1.0;
        }
        let n = self.groups.len();
        match (
            self.groups.iter().position(|g| g == a),
            self.groups.iter().position(|g| g == b),
        ) {
            (Some(i), Some(j)) => self.rho[i * n + j],
            _ => 0.0,
        }
    }

    /// The correlation matrix of `groups` (row-major).
    pub fn submatrix(&self, groups: &[&str]) -> Vec<f64> {
        let n = groups.len();
        let mut m = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                m[i * n + j] = self.rho(groups[i], groups[j]);
            }
        }
        m
    }
}

/// Standardized moves of every group in `all` given the standardized moves `given` of some of
/// them (indices into `all`): the conditional expectation `ρ_hG ρ_GG⁻¹ z_G`. `rho` is the
/// correlation matrix of `all`. Returns `None` when `ρ_GG` is singular.
pub fn conditional(rho: &[f64], n: usize, given: &[(usize, f64)]) -> Option<Vec<f64>> {
    let idx: Vec<usize> = given.iter().map(|(g, _)| *g).collect();
    let l = given_factor(rho, n, &idx)?;
    Some(conditional_with(&l, rho, n, given))
}

/// The Cholesky factor of `ρ_GG` for the groups `idx` (in that order), which [`conditional`] and
/// [`ellipsoid_scale`] both need: the joint scenarios of one pair factor it once for their four
/// sign combinations.
pub fn given_factor(rho: &[f64], n: usize, idx: &[usize]) -> Option<Vec<f64>> {
    let m = idx.len();
    let mut gg = vec![0.0; m * m];
    for a in 0..m {
        for b in 0..m {
            gg[a * m + b] = rho[idx[a] * n + idx[b]];
        }
    }
    cholesky(&gg, m)
}

/// [`conditional`] with the factor `l` of `ρ_GG` already computed ([`given_factor`]).
pub fn conditional_with(l: &[f64], rho: &[f64], n: usize, given: &[(usize, f64)]) -> Vec<f64> {
    let m = given.len();
    let z: Vec<f64> = given.iter().map(|(_, z)| *z).collect();
    let x = cholesky_solve(l, m, &z);
    let mut out = vec![0.0; n];
    for (h, slot) in out.iter_mut().enumerate() {
        *slot = given
            .iter()
            .zip(&x)
            .map(|((g, _), xg)| rho[h * n + g] * xg)
            .sum();
    }
    // Exactly the given moves for the given groups (no round-off).
    for (g, z) in given {
        out[*g] = *z;
    }
    out
}

/// The scale `c` that puts the direction `u` (standardized) on the ellipsoid `zᵀ ρ⁻¹ z = 1` of the
/// groups `idx`: `c = 1 ÷ √(uᵀ ρ⁻¹ u)`.
pub fn ellipsoid_scale(rho: &[f64], n: usize, idx: &[usize], u: &[f64]) -> Option<f64> {
    let l = given_factor(rho, n, idx)?;
    ellipsoid_scale_with(&l, u)
}

/// [`ellipsoid_scale`] with the factor `l` of `ρ` over the groups already computed
/// ([`given_factor`]).
pub fn ellipsoid_scale_with(l: &[f64], u: &[f64]) -> Option<f64> {
    let m = u.len();
    let x = cholesky_solve(l, m, u);
    let q: f64 = u.iter().zip(&x).map(|(a, b)| a * b).sum();
    (q > 0.0).then(|| 1.0 / q.sqrt())
}

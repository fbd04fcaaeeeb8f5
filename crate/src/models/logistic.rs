//! Multinomial logistic regression (L-BFGS on the crate's matrix products, `lbfgs.rs`), the
//! linear baseline of report 001; linfa's `Fit` / `Predict` are implemented in `linfa_traits.rs`.

use std::time::Instant;

use ndarray::{Array1, Array2};

use super::lbfgs::{minimise, Objective};
use super::Classifier;
use crate::base::first_max_index;
use crate::error::{Error, Result};
use crate::prep::LabelledSet;
use linfa::ParamGuard;

/// Settings of [`LogisticClassifier`]; defaults as scikit-learn's `LogisticRegression()`:
/// L2 penalty with C = 1 (`alpha` = 1/C on the summed loss), an intercept, 100 L-BFGS iterations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogisticParams {
    max_iterations: u64,
    alpha: f32,
    gradient_tolerance: f32,
}

impl Default for LogisticParams {
    fn default() -> Self {
        Self {
            max_iterations: 100,
            alpha: 1.0,
            gradient_tolerance: 1e-4,
        }
    }
}

impl LogisticParams {
    /// At most this many L-BFGS iterations.
    pub fn max_iterations(mut self, n: u64) -> Self {
        self.max_iterations = n;
        self
    }

    /// L2 penalty weight on the summed loss: α/2·‖W‖² (scikit-learn's C = 1/α).
    pub fn alpha(mut self, alpha: f32) -> Self {
        self.alpha = alpha;
        self
    }

    /// Stop when the gradient's norm falls below this.
    pub fn gradient_tolerance(mut self, tolerance: f32) -> Self {
        self.gradient_tolerance = tolerance;
        self
    }

    fn rules(&self) -> Result<()> {
        if self.max_iterations == 0 {
            return Err(Error::param(
                "max_iterations",
                "at least 1 iteration is needed",
            ));
        }
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(Error::param(
                "alpha",
                format!("alpha must be finite and ≥ 0, got {}", self.alpha),
            ));
        }
        if !(self.gradient_tolerance.is_finite() && self.gradient_tolerance > 0.0) {
            return Err(Error::param(
                "gradient_tolerance",
                format!(
                    "the tolerance must be a positive number, got {}",
                    self.gradient_tolerance
                ),
            ));
        }
        Ok(())
    }

    /// Fits on a labelled set (features e.g. pixels/255, labels 0..=9).
    pub fn fit(&self, set: &LabelledSet) -> Result<LogisticClassifier> {
        self.check_ref()?;
        super::check_training(set, "logistic regression")?;
        let (x, labels) = (set.features(), set.labels());
        let classes: Vec<u8> = labels
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if classes.len() < 2 {
            return Err(Error::invalid(
                "logistic regression needs at least two classes in the training labels",
            ));
        }
        let started = Instant::now();
        let targets: Vec<usize> = labels
            .iter()
            .map(|l| classes.binary_search(l).unwrap_or(0))
            .collect();
        let objective = Objective::new(x.view(), &targets, classes.len(), f64::from(self.alpha));
        let (coefficients, iterations) = minimise(
            &objective,
            self.max_iterations,
            f64::from(self.gradient_tolerance),
        );
        if coefficients.iter().any(|w| !w.is_finite()) {
            return Err(Error::Library {
                model: "logistic regression".into(),
                reason:
                    "L-BFGS diverged (weights not finite); scale the features, e.g. pixels / 255"
                        .into(),
            });
        }
        Ok(LogisticClassifier {
            n_features: x.ncols(),
            coefficients,
            classes,
            iterations,
            params: *self,
            fit_seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// A fitted multinomial logistic regression.
#[derive(Clone, Debug, PartialEq)]
pub struct LogisticClassifier {
    n_features: usize,
    /// (features + 1) × classes: the weights, then the intercepts.
    coefficients: Array2<f32>,
    classes: Vec<u8>,
    /// L-BFGS iterations run (fewer than the maximum when the gradient became small).
    pub iterations: u64,
    /// The settings it was fitted with.
    pub params: LogisticParams,
    /// Wall-clock seconds of the fit.
    pub fit_seconds: f64,
}

crate::param_guard!(LogisticParams);

impl Classifier for LogisticClassifier {
    fn name(&self) -> String {
        "logistic regression".into()
    }

    fn n_features(&self) -> usize {
        self.n_features
    }

    fn predict_rows(&self, x: &Array2<f32>) -> Result<Array1<u8>> {
        let proba = self.probabilities(x);
        let classes = &self.classes;
        Ok(proba
            .rows()
            .into_iter()
            .map(|row| classes[first_max_index(row.iter().copied())])
            .collect())
    }

    /// One column per class seen in training, in label order ([`LogisticClassifier::classes`]).
    fn proba_rows(&self, x: &Array2<f32>) -> Option<Result<Array2<f32>>> {
        Some(Ok(self.probabilities(x)))
    }
}

impl LogisticClassifier {
    fn probabilities(&self, x: &Array2<f32>) -> Array2<f32> {
        Objective::probabilities(&x.view(), &self.coefficients)
    }

    /// Settings with scikit-learn's defaults; `.fit(&x, &labels)` trains.
    pub fn params() -> LogisticParams {
        LogisticParams::default()
    }

    /// The classes in column order of [`LogisticClassifier::predict_proba`].
    pub fn classes(&self) -> &[u8] {
        &self.classes
    }

    /// Weights: one row per feature, one column per class.
    pub fn weights(&self) -> Array2<f32> {
        self.coefficients
            .slice(ndarray::s![..self.n_features, ..])
            .to_owned()
    }

    /// The intercept of each class.
    pub fn intercepts(&self) -> Array1<f32> {
        self.coefficients.row(self.n_features).to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_three_blobs_and_checks_inputs() {
        let centres = [(0.0f32, 0.0f32), (4.0, 0.0), (0.0, 4.0)];
        let n = 60;
        let x = Array2::from_shape_fn((n, 2), |(i, j)| {
            let c = centres[i % 3];
            let jitter = ((i * 7 + j * 13) % 11) as f32 / 11.0 - 0.5;
            if j == 0 {
                c.0 + jitter
            } else {
                c.1 + jitter
            }
        });
        let labels = Array1::from_shape_fn(n, |i| (i % 3) as u8);
        let set = LabelledSet::new(x.clone(), labels.clone()).expect("set");
        let model = LogisticClassifier::params()
            .max_iterations(50)
            .fit(&set)
            .expect("fit");
        assert_eq!(model.predict(&x).expect("predict"), labels);
        let proba = model.predict_proba(&x).expect("proba");
        assert_eq!(proba.dim(), (n, 3));
        assert!((proba.row(0).sum() - 1.0).abs() < 1e-4);
        assert_eq!(model.classes(), &[0, 1, 2]);

        assert!(matches!(
            model.predict(&Array2::zeros((1, 3))),
            Err(Error::ShapeMismatch {
                expected: 2,
                found: 3,
                ..
            })
        ));
        let one_class = LabelledSet::new(x, Array1::zeros(n)).expect("set");
        assert!(matches!(
            LogisticClassifier::params().fit(&one_class),
            Err(Error::InvalidInput(_))
        ));
    }
}

//! Multinomial logistic regression (linfa-logistic, L-BFGS), the linear baseline of report 001.

use std::time::Instant;

use linfa::prelude::*;
use linfa_logistic::{MultiFittedLogisticRegression, MultiLogisticRegression};
use ndarray::{Array1, Array2};

use crate::error::{Error, Result};

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

    /// Fits on rows of features (e.g. pixels/255) and their labels 0..=9.
    pub fn fit(&self, x: &Array2<f32>, labels: &Array1<u8>) -> Result<LogisticClassifier> {
        if x.nrows() != labels.len() || x.nrows() == 0 {
            return Err(Error::Mismatch(format!(
                "{} training rows and {} labels",
                x.nrows(),
                labels.len()
            )));
        }
        if self.max_iterations == 0 {
            return Err(Error::invalid("max_iterations must be at least 1"));
        }
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(Error::invalid(format!(
                "alpha must be finite and ≥ 0, got {}",
                self.alpha
            )));
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid(
                "the features contain NaN or infinity; scale the pixels first (e.g. scale_255)",
            ));
        }
        let n_classes = labels
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        if n_classes < 2 {
            return Err(Error::invalid(
                "logistic regression needs at least two classes in the training labels",
            ));
        }
        let started = Instant::now();
        // In f64: the loss is summed over all rows, and in f32 the L-BFGS line search loses its
        // way on the full 60k set (it returned the starting point: accuracy 0.10).
        let dataset = DatasetBase::new(x.mapv(f64::from), labels.view());
        let fitted = MultiLogisticRegression::default()
            .max_iterations(self.max_iterations)
            .alpha(f64::from(self.alpha))
            .gradient_tolerance(f64::from(self.gradient_tolerance))
            .fit(&dataset)
            .map_err(|e| Error::Model(format!("logistic regression failed: {e}")))?;
        Ok(LogisticClassifier {
            n_features: x.ncols(),
            fitted,
            params: *self,
            fit_seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// A fitted multinomial logistic regression.
#[derive(Clone, Debug, PartialEq)]
pub struct LogisticClassifier {
    n_features: usize,
    fitted: MultiFittedLogisticRegression<f64, u8>,
    /// The settings it was fitted with.
    pub params: LogisticParams,
    /// Wall-clock seconds of the fit.
    pub fit_seconds: f64,
}

impl LogisticClassifier {
    /// Settings with scikit-learn's defaults; `.fit(&x, &labels)` trains.
    pub fn params() -> LogisticParams {
        LogisticParams::default()
    }

    fn check(&self, x: &Array2<f32>) -> Result<()> {
        if x.ncols() != self.n_features {
            return Err(Error::Mismatch(format!(
                "the model was fitted on {} features, these rows have {}",
                self.n_features,
                x.ncols()
            )));
        }
        Ok(())
    }

    /// The most probable class of each row.
    pub fn predict(&self, x: &Array2<f32>) -> Result<Array1<u8>> {
        let proba = self.predict_proba(x)?;
        let classes = self.fitted.classes();
        Ok(proba
            .rows()
            .into_iter()
            .map(|row| classes[crate::base::first_max_index(row.iter().copied())])
            .collect())
    }

    /// Class probabilities, one column per class seen in training (in label order).
    pub fn predict_proba(&self, x: &Array2<f32>) -> Result<Array2<f32>> {
        self.check(x)?;
        Ok(self
            .fitted
            .predict_probabilities(&x.mapv(f64::from))
            .mapv(|p| p as f32))
    }

    /// The classes in column order of [`LogisticClassifier::predict_proba`].
    pub fn classes(&self) -> &[u8] {
        self.fitted.classes()
    }

    /// Weights: one row per feature, one column per class.
    pub fn weights(&self) -> Array2<f32> {
        self.fitted.params().mapv(|w| w as f32)
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
        let model = LogisticClassifier::params()
            .max_iterations(50)
            .fit(&x, &labels)
            .expect("fit");
        assert_eq!(model.predict(&x).expect("predict"), labels);
        let proba = model.predict_proba(&x).expect("proba");
        assert_eq!(proba.dim(), (n, 3));
        assert!((proba.row(0).sum() - 1.0).abs() < 1e-4);
        assert_eq!(model.classes(), &[0, 1, 2]);

        assert!(model.predict(&Array2::zeros((1, 3))).is_err());
        assert!(LogisticClassifier::params()
            .fit(&x, &Array1::zeros(n - 1))
            .is_err());
        assert!(LogisticClassifier::params()
            .fit(&x, &Array1::zeros(n))
            .is_err());
    }
}

//! Classifiers, all behind one trait: [`Classifier`] (predict, probabilities where the model has
//! them, score). Params types follow linfa (`check()`, then `fit` on a [`LabelledSet`]) and the
//! k-NN, logistic regression and smartcore models also implement linfa's `Fit` / `PredictInplace`
//! on `linfa::Dataset` (labels as `usize`), so linfa's cross-validation runs on them.

pub mod centroid;
pub mod classical;
pub mod knn;
mod lbfgs;
mod linfa_traits;
pub mod logistic;
mod network;

pub use centroid::NearestCentroid;
pub use classical::{ClassicalModel, ClassicalRun, FittedClassical};
pub use knn::{KnnClassifier, KnnParams, KnnWeights, LinfaIndex, NeighbourSearch, Neighbours};
pub use logistic::{LogisticClassifier, LogisticParams};

use ndarray::{Array1, Array2};

use crate::error::{Error, Result};
use crate::prep::LabelledSet;

/// A fitted classifier of feature rows into classes 0..=9.
///
/// Implementors provide the two `*_rows` methods on rows already checked (the fitted width, no
/// NaN); callers use [`predict`](Classifier::predict), [`predict_proba`](Classifier::predict_proba)
/// and [`score`](Classifier::score), which check first — one check for every model.
pub trait Classifier {
    /// A short name for tables ("k-NN k = 5", "logistic regression").
    fn name(&self) -> String;

    /// Features per row the model was fitted on.
    fn n_features(&self) -> usize;

    /// The class of each (checked) row.
    fn predict_rows(&self, x: &Array2<f32>) -> Result<Array1<u8>>;

    /// Class probabilities of each (checked) row, one column per class; `None` for a model
    /// without them.
    fn proba_rows(&self, _x: &Array2<f32>) -> Option<Result<Array2<f32>>> {
        None
    }

    /// Checks rows for this model: its width, finite values.
    fn check_rows(&self, x: &Array2<f32>) -> Result<()> {
        if x.ncols() != self.n_features() {
            return Err(Error::shape(
                format!("features per row given to {}", self.name()),
                self.n_features(),
                x.ncols(),
                "Scale the rows as the training set was (the same scaler, the same features)",
            ));
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "the rows given to {} contain NaN or infinite values",
                self.name()
            )));
        }
        Ok(())
    }

    /// The predicted class of each row.
    fn predict(&self, x: &Array2<f32>) -> Result<Array1<u8>> {
        self.check_rows(x)?;
        self.predict_rows(x)
    }

    /// Class probabilities of each row (an error for a model without them).
    fn predict_proba(&self, x: &Array2<f32>) -> Result<Array2<f32>> {
        self.check_rows(x)?;
        self.proba_rows(x)
            .unwrap_or_else(|| Err(Error::NoProbabilities { model: self.name() }))
    }

    /// Accuracy on a labelled set.
    fn score(&self, set: &LabelledSet) -> Result<f64> {
        crate::base::accuracy(&self.predict(set.features())?, set.labels())
    }
}

/// The checks every fit makes of its training set: at least one row (finite values and one
/// label per row hold already: a [`LabelledSet`] is checked when made).
pub(crate) fn check_training(set: &LabelledSet, model: &str) -> Result<()> {
    if set.is_empty() {
        return Err(Error::invalid(format!(
            "{model} needs at least one training row; the set is empty"
        )));
    }
    Ok(())
}

//! Classical classifiers from smartcore, behind one call, for the "which classifier?" comparisons.

use std::time::Instant;

use ndarray::{Array1, Array2};
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};
use smartcore::metrics::distance::euclidian::Euclidian;
use smartcore::naive_bayes::gaussian::{GaussianNB, GaussianNBParameters};
use smartcore::neighbors::knn_classifier::{KNNClassifier, KNNClassifierParameters};
use smartcore::tree::decision_tree_classifier::{
    DecisionTreeClassifier, DecisionTreeClassifierParameters,
};

use crate::error::{Error, Result};

/// A smartcore model and its main setting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClassicalModel {
    /// Multinomial logistic regression (smartcore's L-BFGS), no penalty.
    LogisticRegression,
    /// CART with Gini impurity; `None` grows the tree fully.
    DecisionTree {
        max_depth: Option<u16>,
    },
    RandomForest {
        n_trees: u16,
        seed: u64,
    },
    GaussianNaiveBayes,
    /// smartcore's own k-NN (cover tree), Euclidean.
    Knn {
        k: usize,
    },
}

/// Predictions and timings of one model.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassicalRun {
    pub name: String,
    pub predictions: Array1<u8>,
    pub fit_seconds: f64,
    pub predict_seconds: f64,
}

fn dense(x: &Array2<f32>) -> Result<DenseMatrix<f32>> {
    let (rows, cols) = x.dim();
    DenseMatrix::new(rows, cols, x.iter().copied().collect(), false)
        .map_err(|e| Error::Model(e.to_string()))
}

fn timed<T>(
    f: impl FnOnce() -> std::result::Result<T, smartcore::error::Failed>,
) -> Result<(T, f64)> {
    let started = Instant::now();
    let out = f().map_err(|e| Error::Model(e.to_string()))?;
    Ok((out, started.elapsed().as_secs_f64()))
}

impl ClassicalModel {
    pub fn name(&self) -> String {
        match self {
            ClassicalModel::LogisticRegression => "logistic regression (smartcore)".into(),
            ClassicalModel::DecisionTree { max_depth: None } => "decision tree (smartcore)".into(),
            ClassicalModel::DecisionTree { max_depth: Some(d) } => {
                format!("decision tree, depth ≤ {d} (smartcore)")
            }
            ClassicalModel::RandomForest { n_trees, .. } => {
                format!("random forest, {n_trees} trees (smartcore)")
            }
            ClassicalModel::GaussianNaiveBayes => "Gaussian naive Bayes (smartcore)".into(),
            ClassicalModel::Knn { k } => format!("k-NN k = {k} (smartcore)"),
        }
    }

    /// Fits on (x_train, y_train), predicts x_test, and times both.
    pub fn fit_predict(
        &self,
        x_train: &Array2<f32>,
        y_train: &Array1<u8>,
        x_test: &Array2<f32>,
    ) -> Result<ClassicalRun> {
        if x_train.nrows() != y_train.len() || x_train.nrows() == 0 {
            return Err(Error::Mismatch(format!(
                "{} training rows and {} labels",
                x_train.nrows(),
                y_train.len()
            )));
        }
        if x_train.ncols() != x_test.ncols() {
            return Err(Error::Mismatch(format!(
                "training data has {} features, test data {}",
                x_train.ncols(),
                x_test.ncols()
            )));
        }
        let (xt, xq) = (dense(x_train)?, dense(x_test)?);
        let y: Vec<u32> = y_train.iter().map(|&l| u32::from(l)).collect();
        let (predicted, fit_seconds, predict_seconds): (Vec<u32>, f64, f64) = match *self {
            ClassicalModel::LogisticRegression => {
                let (m, f) = timed(|| {
                    LogisticRegression::fit(&xt, &y, LogisticRegressionParameters::default())
                })?;
                let (p, s) = timed(|| m.predict(&xq))?;
                (p, f, s)
            }
            ClassicalModel::DecisionTree { max_depth } => {
                let mut params = DecisionTreeClassifierParameters::default();
                if let Some(d) = max_depth {
                    params = params.with_max_depth(d);
                }
                let (m, f) = timed(|| DecisionTreeClassifier::fit(&xt, &y, params))?;
                let (p, s) = timed(|| m.predict(&xq))?;
                (p, f, s)
            }
            ClassicalModel::RandomForest { n_trees, seed } => {
                if n_trees == 0 {
                    return Err(Error::invalid("a random forest needs at least one tree"));
                }
                let params = RandomForestClassifierParameters::default()
                    .with_n_trees(n_trees)
                    .with_seed(seed);
                let (m, f) = timed(|| RandomForestClassifier::fit(&xt, &y, params))?;
                let (p, s) = timed(|| m.predict(&xq))?;
                (p, f, s)
            }
            ClassicalModel::GaussianNaiveBayes => {
                // smartcore has no `var_smoothing`: a pixel that is constant within a class (border
                // pixels are 0 in every sandal) gives zero variance and NaN probabilities. Seeded
                // noise of ±1e-3 on the training features plays the part of scikit-learn's smoothing.
                let mut r = crate::base::rng(0);
                let jittered = x_train.mapv(|v| v + rand::Rng::gen_range(&mut r, -1e-3f32..1e-3));
                let xj = dense(&jittered)?;
                let (m, f) = timed(|| GaussianNB::fit(&xj, &y, GaussianNBParameters::default()))?;
                let (p, s) = timed(|| m.predict(&xq))?;
                (p, f, s)
            }
            ClassicalModel::Knn { k } => {
                if k == 0 || k > x_train.nrows() {
                    return Err(Error::invalid(format!(
                        "k must be in 1..={}, got {k}",
                        x_train.nrows()
                    )));
                }
                let params = KNNClassifierParameters::default()
                    .with_k(k)
                    .with_distance(Euclidian::new());
                let (m, f) = timed(|| KNNClassifier::fit(&xt, &y, params))?;
                let (p, s) = timed(|| m.predict(&xq))?;
                (p, f, s)
            }
        };
        Ok(ClassicalRun {
            name: self.name(),
            predictions: predicted.into_iter().map(|l| l.min(255) as u8).collect(),
            fit_seconds,
            predict_seconds,
        })
    }
}

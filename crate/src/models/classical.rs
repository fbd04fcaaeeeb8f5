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

use super::Classifier;
use crate::error::{Error, Result};
use crate::prep::LabelledSet;
use linfa::ParamGuard;

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
    DenseMatrix::new(rows, cols, x.iter().copied().collect(), false).map_err(|e| Error::Library {
        model: "smartcore".into(),
        reason: e.to_string(),
    })
}

fn failed(model: &ClassicalModel) -> impl Fn(smartcore::error::Failed) -> Error + '_ {
    move |e| Error::Library {
        model: model.name(),
        reason: e.to_string(),
    }
}

type Labels = Vec<u32>;

/// A fitted smartcore model.
enum Fitted {
    LogisticRegression(LogisticRegression<f32, u32, DenseMatrix<f32>, Labels>),
    DecisionTree(DecisionTreeClassifier<f32, u32, DenseMatrix<f32>, Labels>),
    RandomForest(RandomForestClassifier<f32, u32, DenseMatrix<f32>, Labels>),
    GaussianNaiveBayes(GaussianNB<f32, u32, DenseMatrix<f32>, Labels>),
    Knn(KNNClassifier<f32, u32, DenseMatrix<f32>, Labels, Euclidian<f32>>),
}

/// A smartcore model fitted once, then predicting as often as asked.
pub struct FittedClassical {
    model: ClassicalModel,
    n_features: usize,
    fitted: Fitted,
    /// Wall-clock seconds of the fit.
    pub fit_seconds: f64,
}

impl std::fmt::Debug for FittedClassical {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FittedClassical")
            .field("model", &self.model)
            .field("n_features", &self.n_features)
            .finish_non_exhaustive()
    }
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

    fn rules(&self) -> Result<()> {
        match *self {
            ClassicalModel::RandomForest { n_trees: 0, .. } => Err(Error::param(
                "n_trees",
                "a random forest needs at least one tree",
            )),
            ClassicalModel::DecisionTree { max_depth: Some(0) } => Err(Error::param(
                "max_depth",
                "a tree needs a depth of at least 1",
            )),
            ClassicalModel::Knn { k: 0 } => Err(Error::param("k", "k must be at least 1")),
            _ => Ok(()),
        }
    }

    /// Fits on a labelled set, timed.
    pub fn fit(&self, set: &LabelledSet) -> Result<FittedClassical> {
        self.check_ref()?;
        super::check_training(set, &self.name())?;
        let x_train = set.features();
        if let ClassicalModel::Knn { k } = *self {
            if k > x_train.nrows() {
                return Err(Error::param(
                    "k",
                    format!(
                        "k = {k} is more than the {} training samples",
                        x_train.nrows()
                    ),
                ));
            }
        }
        let xt = dense(x_train)?;
        let y: Labels = set.labels().iter().map(|&l| u32::from(l)).collect();
        let started = Instant::now();
        let err = failed(self);
        let fitted = match *self {
            ClassicalModel::LogisticRegression => Fitted::LogisticRegression(
                LogisticRegression::fit(&xt, &y, LogisticRegressionParameters::default())
                    .map_err(err)?,
            ),
            ClassicalModel::DecisionTree { max_depth } => {
                let mut params = DecisionTreeClassifierParameters::default();
                if let Some(d) = max_depth {
                    params = params.with_max_depth(d);
                }
                Fitted::DecisionTree(DecisionTreeClassifier::fit(&xt, &y, params).map_err(err)?)
            }
            ClassicalModel::RandomForest { n_trees, seed } => {
                let params = RandomForestClassifierParameters::default()
                    .with_n_trees(n_trees)
                    .with_seed(seed);
                Fitted::RandomForest(RandomForestClassifier::fit(&xt, &y, params).map_err(err)?)
            }
            ClassicalModel::GaussianNaiveBayes => {
                // smartcore has no `var_smoothing`: a pixel that is constant within a class (border
                // pixels are 0 in every sandal) gives zero variance and NaN probabilities. Seeded
                // noise of ±1e-3 on the training features plays the part of scikit-learn's smoothing.
                let mut r = crate::base::rng(0);
                let jittered = x_train.mapv(|v| v + rand::Rng::gen_range(&mut r, -1e-3f32..1e-3));
                let xj = dense(&jittered)?;
                Fitted::GaussianNaiveBayes(
                    GaussianNB::fit(&xj, &y, GaussianNBParameters::default()).map_err(err)?,
                )
            }
            ClassicalModel::Knn { k } => {
                let params = KNNClassifierParameters::default()
                    .with_k(k)
                    .with_distance(Euclidian::new());
                Fitted::Knn(KNNClassifier::fit(&xt, &y, params).map_err(err)?)
            }
        };
        Ok(FittedClassical {
            model: *self,
            n_features: x_train.ncols(),
            fitted,
            fit_seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Fits on `train`, predicts `x_test`, and times both (one row of a "which classifier?" table).
    pub fn fit_predict(&self, train: &LabelledSet, x_test: &Array2<f32>) -> Result<ClassicalRun> {
        let fitted = self.fit(train)?;
        let started = Instant::now();
        let predictions = fitted.predict(x_test)?;
        Ok(ClassicalRun {
            name: self.name(),
            predictions,
            fit_seconds: fitted.fit_seconds,
            predict_seconds: started.elapsed().as_secs_f64(),
        })
    }
}

crate::param_guard!(ClassicalModel);

impl Classifier for FittedClassical {
    fn name(&self) -> String {
        self.model.name()
    }

    fn n_features(&self) -> usize {
        self.n_features
    }

    fn predict_rows(&self, x: &Array2<f32>) -> Result<Array1<u8>> {
        let xq = dense(x)?;
        let err = failed(&self.model);
        let predicted: Labels = match &self.fitted {
            Fitted::LogisticRegression(m) => m.predict(&xq).map_err(err)?,
            Fitted::DecisionTree(m) => m.predict(&xq).map_err(err)?,
            Fitted::RandomForest(m) => m.predict(&xq).map_err(err)?,
            Fitted::GaussianNaiveBayes(m) => m.predict(&xq).map_err(err)?,
            Fitted::Knn(m) => m.predict(&xq).map_err(err)?,
        };
        Ok(predicted.into_iter().map(|l| l.min(255) as u8).collect())
    }
}

//! fashion-lab: five Fashion-MNIST coursework reports reproduced in Rust.
//!
//! The modules follow the pipeline: [`data`] → [`prep`] → [`nn`] → [`models`] / [`train`] →
//! [`eval`] → [`viz`], with [`base`] (argmax, seeded streams, accuracy, the params guard) at the
//! bottom; a module imports only modules before it (`tests/layering.rs` checks). Every fit takes
//! a [`LabelledSet`]; every fitted model is a [`Classifier`]; every params type has linfa's
//! `check()` ([`ParamGuard`]).
//! Everything random takes a seed; every fallible call returns [`error::Result`] with an [`Error`] that
//! says what to do next, so a mistake in a notebook cell never kills the kernel.

pub mod base;
pub mod data;
pub mod error;
pub mod eval;
pub mod models;
pub mod nn;
pub mod prep;
pub mod protocol;
pub mod reports;
/// The deployment page and its HTTP API (`fashion-lab serve`); only with the `serve` feature.
#[cfg(feature = "serve")]
pub mod serve;
pub mod train;
pub mod viz;

pub use data::{class_names, FashionMnist, ImageSet, CLASS_NAMES};
pub use protocol::{build_info, model_file, pick, quick_mode, report_file, Protocol};
// The one-argument `Result` stays at `fashion_lab::error::Result`: re-exported here, a notebook's
// `use fashion_lab::*` would shadow std's two-argument `Result`.
pub use error::{Error, PictureProblem};
pub use eval::{accuracy, Comparison, ConfusionMatrix};
pub use models::{ClassicalModel, Classifier, KnnClassifier, LogisticClassifier, NearestCentroid};
pub use nn::{Activation, Initializer, Model, Padding, Sequential};
pub use prep::{
    one_hot, scale_255, Augmentation, LabelledSet, MinMaxScaler, Preprocessing, Scale255, Scaler,
    StandardScaler,
};
pub use train::{
    fit, fit_in, side_by_side, EarlyStopping, History, Optimizer, ReduceLrOnPlateau, RunStore,
    TrainConfig,
};
pub use viz::{Figure, Series, Table};

/// linfa's guard: `params.check()` on every params type of the crate.
pub use linfa::ParamGuard;

/// Re-exported so notebooks can name the types they keep across cells.
pub use ndarray::{self, Array1, Array2};
pub use polars;
pub use polars::prelude::{Column, DataFrame};
/// Re-exported so a from-scratch cell draws its weights and dropout masks with the crate's
/// seeded generator ([`data::split::rng`]) without a `:dep` of its own.
pub use rand;

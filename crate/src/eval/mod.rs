//! Evaluation: metrics, confusion matrix, per-class reports, report-vs-ours comparisons.

pub mod metrics;
pub mod results;

pub use metrics::{accuracy, categorical_accuracy, ConfusionMatrix};
pub use results::Comparison;

//! Evaluation: metrics, confusion matrix, per-class reports, run records and their statistics,
//! report-vs-ours comparisons.

pub mod metrics;
mod network_runs;
pub mod results;
pub mod runs;

pub use metrics::{accuracy, categorical_accuracy, ConfusionMatrix};
pub use results::Comparison;
pub use runs::{ReportNumbers, Run, Runs, Tolerance};

//! Evaluation: metrics, confusion matrix, per-class reports.

pub mod metrics;

pub use metrics::{accuracy, ConfusionMatrix};

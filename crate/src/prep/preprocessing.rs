//! How pixels became a model's inputs, recorded so a saved model scales a new picture exactly as
//! its training data was scaled.

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::{FittedMinMaxScaler, FittedStandardScaler, MinMaxScaler, Scaler};
use crate::error::Result;

/// A fitted scaling of raw pixel values (0..=255, as f32).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Preprocessing {
    /// Pixels / 255, into [0, 1].
    Divide255,
    /// Min-max to [low, high] with the training set's per-feature minima and maxima.
    MinMax {
        low: f32,
        high: f32,
        min: Vec<f32>,
        max: Vec<f32>,
    },
    /// Standardised with the training set's per-feature mean and standard deviation.
    Standard { mean: Vec<f32>, std: Vec<f32> },
}

impl Preprocessing {
    /// Scales rows of raw pixels as the training set was.
    pub fn apply(&self, pixels: &Array2<f32>) -> Result<Array2<f32>> {
        match self {
            Preprocessing::Divide255 => super::Scale255.transform(pixels),
            Preprocessing::MinMax {
                low,
                high,
                min,
                max,
            } => FittedMinMaxScaler {
                params: MinMaxScaler::new(*low, *high),
                min: Array1::from(min.clone()),
                max: Array1::from(max.clone()),
            }
            .transform(pixels),
            Preprocessing::Standard { mean, std } => FittedStandardScaler {
                mean: Array1::from(mean.clone()),
                std: Array1::from(std.clone()),
            }
            .transform(pixels),
        }
    }

    /// One line for a model's summary or the deployment page.
    pub fn describe(&self) -> String {
        match self {
            Preprocessing::Divide255 => "pixels / 255".into(),
            Preprocessing::MinMax { low, high, .. } => {
                format!("min-max to [{low}, {high}] (fitted per pixel on the training set)")
            }
            Preprocessing::Standard { .. } => {
                "standardised (mean and sd fitted per pixel on the training set)".into()
            }
        }
    }
}

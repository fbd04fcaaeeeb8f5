//! The network engine's model as a [`Classifier`].

use ndarray::{Array1, Array2};

use super::Classifier;
use crate::base::argmax_rows;
use crate::error::Result;
use crate::nn::{softmax, Model};

impl Classifier for Model {
    fn name(&self) -> String {
        format!("network of {} layers", self.layers.len())
    }

    fn n_features(&self) -> usize {
        self.input_size()
    }

    fn predict_rows(&self, x: &Array2<f32>) -> Result<Array1<u8>> {
        Ok(argmax_rows(&self.logits(x)?))
    }

    fn proba_rows(&self, x: &Array2<f32>) -> Option<Result<Array2<f32>>> {
        Some(self.logits(x).map(|l| softmax(&l)))
    }
}

//! Accuracy: the one score every classifier and the training loop share.

use ndarray::Array1;

use crate::error::{Error, Result};

pub(crate) fn check_same_len(predicted: usize, truth: usize) -> Result<()> {
    if predicted != truth {
        return Err(Error::shape(
            "predictions for the true labels",
            truth,
            predicted,
            "Predict on the same set you score",
        ));
    }
    if truth == 0 {
        return Err(Error::invalid("cannot score an empty set"));
    }
    Ok(())
}

/// Fraction of predictions equal to the true labels.
pub fn accuracy(predicted: &Array1<u8>, truth: &Array1<u8>) -> Result<f64> {
    check_same_len(predicted.len(), truth.len())?;
    let hits = predicted.iter().zip(truth).filter(|(p, t)| p == t).count();
    Ok(hits as f64 / truth.len() as f64)
}

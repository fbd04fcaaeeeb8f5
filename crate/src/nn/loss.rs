//! Softmax and the softmax cross-entropy loss with its gradient.

use ndarray::{Array1, Array2};

/// Row-wise softmax (stable: the row maximum is subtracted first).
pub fn softmax(logits: &Array2<f32>) -> Array2<f32> {
    let mut out = logits.clone();
    for mut row in out.rows_mut() {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row /= sum;
    }
    out
}

/// Probabilities are clipped to [ε, 1 − ε] before the log (as Keras and report 003), so one
/// confident mistake cannot make the loss infinite.
pub const LOSS_EPSILON: f32 = 1e-7;

/// Mean softmax cross-entropy of logits against class labels, and its gradient p − y (÷ n).
pub fn softmax_cross_entropy(logits: &Array2<f32>, labels: &Array1<u8>) -> (f32, Array2<f32>) {
    let n = logits.nrows().max(1) as f32;
    let mut probs = softmax(logits);
    let mut loss = 0.0f64;
    for (mut row, &label) in probs.rows_mut().into_iter().zip(labels) {
        let p = row[label as usize].clamp(LOSS_EPSILON, 1.0 - LOSS_EPSILON);
        loss -= f64::from(p.ln());
        row[label as usize] -= 1.0;
    }
    probs /= n;
    ((loss / f64::from(n)) as f32, probs)
}

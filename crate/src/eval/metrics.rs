//! Accuracy, the confusion matrix and scikit-learn's `classification_report`.
//!
//! Our own 10×10 matrix rather than linfa's `ConfusionMatrix`: linfa's keeps only the classes
//! that occur and orders them by first appearance, while the reports' tables and heatmaps want
//! all ten classes in label order with their names, and raw counts.

use ndarray::{Array1, Array2};

use crate::error::{Error, Result};

pub use crate::base::accuracy;
use crate::base::accuracy::check_same_len;

/// Keras' `categorical_accuracy`: the fraction of rows whose largest output (probability or
/// logit) sits where the one-hot target has its largest value (the first maximum on ties, as
/// `argmax`). For single-label one-hot targets this is [`accuracy`] of the argmax predictions.
pub fn categorical_accuracy(one_hot_truth: &Array2<f32>, outputs: &Array2<f32>) -> Result<f64> {
    if one_hot_truth.dim() != outputs.dim() {
        return Err(Error::shape(
            "values of the outputs (rows × classes) for the one-hot targets",
            one_hot_truth.len(),
            outputs.len(),
            "Pass one row of class scores per target row",
        ));
    }
    check_same_len(outputs.nrows(), one_hot_truth.nrows())?;
    let hits = one_hot_truth
        .rows()
        .into_iter()
        .zip(outputs.rows())
        .filter(|(t, o)| {
            crate::base::first_max_index(t.iter().copied())
                == crate::base::first_max_index(o.iter().copied())
        })
        .count();
    Ok(hits as f64 / outputs.nrows() as f64)
}

/// Counts of (true class, predicted class) pairs: rows are true labels, columns predictions.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfusionMatrix {
    pub counts: Array2<usize>,
    pub class_names: Vec<String>,
}

impl ConfusionMatrix {
    /// Builds the matrix for classes `0..class_names.len()`.
    pub fn new(predicted: &Array1<u8>, truth: &Array1<u8>, class_names: &[String]) -> Result<Self> {
        check_same_len(predicted.len(), truth.len())?;
        let k = class_names.len();
        let mut counts = Array2::<usize>::zeros((k, k));
        for (&p, &t) in predicted.iter().zip(truth) {
            if p as usize >= k || t as usize >= k {
                return Err(Error::invalid(format!(
                    "label {} does not fit the {k} class names given",
                    p.max(t)
                )));
            }
            counts[[t as usize, p as usize]] += 1;
        }
        Ok(Self {
            counts,
            class_names: class_names.to_vec(),
        })
    }

    /// For Fashion-MNIST's ten classes.
    pub fn fashion(predicted: &Array1<u8>, truth: &Array1<u8>) -> Result<Self> {
        Self::new(predicted, truth, &crate::data::class_names())
    }

    pub fn n_classes(&self) -> usize {
        self.class_names.len()
    }

    pub fn total(&self) -> usize {
        self.counts.sum()
    }

    pub fn accuracy(&self) -> f64 {
        self.correct() as f64 / self.total().max(1) as f64
    }

    /// Right predictions in all (the diagonal).
    fn correct(&self) -> usize {
        (0..self.n_classes()).map(|i| self.counts[[i, i]]).sum()
    }

    /// How often true class `truth` was predicted as `predicted`.
    pub fn count(&self, truth: usize, predicted: usize) -> usize {
        self.counts.get([truth, predicted]).copied().unwrap_or(0)
    }

    /// Per class: (precision, recall, f1, support); 0 where undefined, as scikit-learn's
    /// `zero_division=0`.
    pub fn per_class(&self) -> Vec<(f64, f64, f64, usize)> {
        (0..self.n_classes())
            .map(|c| {
                let tp = self.counts[[c, c]] as f64;
                let predicted: usize = self.counts.column(c).sum();
                let support: usize = self.counts.row(c).sum();
                let precision = if predicted > 0 {
                    tp / predicted as f64
                } else {
                    0.0
                };
                let recall = if support > 0 {
                    tp / support as f64
                } else {
                    0.0
                };
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                (precision, recall, f1, support)
            })
            .collect()
    }

    /// How many images were predicted as each class (the matrix's column sums).
    pub fn predicted_counts(&self) -> Vec<usize> {
        (0..self.n_classes())
            .map(|c| self.counts.column(c).sum())
            .collect()
    }

    /// The largest share of the predictions that went to one class, and that class: near 1.0
    /// when a model has collapsed to predicting one class (report 001's "single-class bias").
    pub fn largest_predicted_share(&self) -> (f64, usize) {
        let counts = self.predicted_counts();
        let (class, most) = counts
            .iter()
            .enumerate()
            .max_by_key(|(_, &n)| n)
            .map_or((0, 0), |(c, &n)| (c, n));
        (most as f64 / self.total().max(1) as f64, class)
    }

    /// Wrong predictions in all.
    pub fn errors(&self) -> usize {
        self.total() - self.correct()
    }

    /// Wrong predictions within a group of classes: a true class of the group predicted as
    /// another class of the group (both directions of every pair).
    pub fn errors_within(&self, classes: &[usize]) -> usize {
        classes
            .iter()
            .flat_map(|&t| classes.iter().map(move |&p| (t, p)))
            .filter(|(t, p)| t != p)
            .map(|(t, p)| self.count(t, p))
            .sum()
    }

    /// The most frequent confusions (true, predicted, count), largest first.
    pub fn top_confusions(&self, n: usize) -> Vec<(String, String, usize)> {
        let mut pairs: Vec<(usize, usize, usize)> = self
            .counts
            .indexed_iter()
            .filter(|((t, p), &c)| t != p && c > 0)
            .map(|((t, p), &c)| (t, p, c))
            .collect();
        pairs.sort_by(|a, b| b.2.cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
        pairs
            .into_iter()
            .take(n)
            .map(|(t, p, c)| (self.class_names[t].clone(), self.class_names[p].clone(), c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn matrix_and_report_match_hand_counts() {
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let truth = array![0u8, 0, 1, 1, 2, 2];
        let pred = array![0u8, 1, 1, 1, 2, 0];
        let cm = ConfusionMatrix::new(&pred, &truth, &names).expect("valid labels");
        assert_eq!(cm.counts, array![[1, 1, 0], [0, 2, 0], [1, 0, 1]]);
        assert!((cm.accuracy() - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(accuracy(&pred, &truth).expect("same length"), cm.accuracy());
        let pc = cm.per_class();
        // class b: precision 2/3, recall 1, f1 0.8
        assert!(
            (pc[1].0 - 2.0 / 3.0).abs() < 1e-12 && pc[1].1 == 1.0 && (pc[1].2 - 0.8).abs() < 1e-12
        );
        let report = cm.classification_report().expect("table");
        assert_eq!(report.frame.height(), 6);
        assert_eq!(cm.top_confusions(1)[0].2, 1);
        assert!(accuracy(&array![0u8], &truth).is_err());
        // predicted: a twice, b three times, c once
        assert_eq!(cm.predicted_counts(), vec![2, 3, 1]);
        assert_eq!(cm.largest_predicted_share(), (0.5, 1));
        assert_eq!(cm.errors(), 2);
        assert_eq!(cm.errors_within(&[0, 1]), 1);
        assert_eq!(cm.errors_within(&[0, 2]), 1);
    }

    #[test]
    fn categorical_accuracy_equals_accuracy_on_one_hot_targets() {
        let truth = array![0u8, 2, 1, 1];
        let outputs = array![
            [0.7f32, 0.2, 0.1],
            [0.1, 0.3, 0.6],
            [0.5, 0.4, 0.1],
            [0.2, 0.5, 0.3]
        ];
        let one_hot = crate::prep::one_hot(&truth, 3).expect("labels fit");
        let predicted = crate::base::argmax_rows(&outputs);
        let cat = categorical_accuracy(&one_hot, &outputs).expect("same shape");
        assert_eq!(cat, 0.75);
        assert_eq!(cat, accuracy(&predicted, &truth).expect("same length"));
        assert!(
            categorical_accuracy(&one_hot, &outputs.slice(ndarray::s![.., ..2]).to_owned())
                .is_err()
        );
    }
}

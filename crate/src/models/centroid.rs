//! Nearest class mean: each image goes to the class whose average training image is closest.
//! The simplest baseline worth reporting (about 68% on Fashion-MNIST pixels/255).

use ndarray::{Array1, Array2, Axis};

use crate::error::{Error, Result};

/// A fitted nearest-centroid classifier: one mean row per class.
#[derive(Clone, Debug, PartialEq)]
pub struct NearestCentroid {
    pub centroids: Array2<f32>,
}

impl NearestCentroid {
    /// Averages the rows of `x` per label (labels must be 0..n_classes, each present).
    pub fn fit(x: &Array2<f32>, labels: &Array1<u8>, n_classes: usize) -> Result<Self> {
        if x.nrows() != labels.len() {
            return Err(Error::Mismatch(format!(
                "{} rows but {} labels",
                x.nrows(),
                labels.len()
            )));
        }
        let mut sums = Array2::<f64>::zeros((n_classes, x.ncols()));
        let mut counts = vec![0usize; n_classes];
        for (row, &l) in x.rows().into_iter().zip(labels) {
            let l = l as usize;
            if l >= n_classes {
                return Err(Error::invalid(format!(
                    "label {l} does not fit {n_classes} classes"
                )));
            }
            counts[l] += 1;
            sums.row_mut(l)
                .zip_mut_with(&row, |s, &v| *s += f64::from(v));
        }
        if let Some(missing) = counts.iter().position(|&c| c == 0) {
            return Err(Error::invalid(format!(
                "class {missing} has no training rows; use a stratified split"
            )));
        }
        for (mut row, &c) in sums.rows_mut().into_iter().zip(&counts) {
            row /= c as f64;
        }
        Ok(Self {
            centroids: sums.mapv(|v| v as f32),
        })
    }

    /// The class of the nearest centroid for each row (ties go to the lower class).
    pub fn predict(&self, x: &Array2<f32>) -> Result<Array1<u8>> {
        if x.ncols() != self.centroids.ncols() {
            return Err(Error::Mismatch(format!(
                "fitted on {} features, got {}",
                self.centroids.ncols(),
                x.ncols()
            )));
        }
        // ‖x − c‖² = ‖x‖² − 2x·c + ‖c‖²; ‖x‖² is the same for every class, so drop it.
        let c_norms = self.centroids.map_axis(Axis(1), |c| c.dot(&c));
        let scores = x.dot(&self.centroids.t());
        Ok(scores
            .rows()
            .into_iter()
            .map(|s| {
                let mut best = (0usize, f32::INFINITY);
                for (k, (&dot, &norm)) in s.iter().zip(&c_norms).enumerate() {
                    let d = norm - 2.0 * dot;
                    if d < best.1 {
                        best = (k, d);
                    }
                }
                best.0 as u8
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn assigns_to_nearest_mean() {
        let x = array![[0.0f32, 0.0], [0.0, 2.0], [10.0, 10.0], [12.0, 10.0]];
        let y = array![0u8, 0, 1, 1];
        let m = NearestCentroid::fit(&x, &y, 2).expect("fit");
        assert_eq!(m.centroids, array![[0.0f32, 1.0], [11.0, 10.0]]);
        assert_eq!(
            m.predict(&array![[1.0f32, 1.0], [9.0, 9.0]])
                .expect("predict"),
            array![0u8, 1]
        );
        assert!(NearestCentroid::fit(&x, &y, 3).is_err());
    }
}

//! Nearest class mean: each image goes to the class whose average training image is closest.
//! The simplest baseline worth reporting (about 68% on Fashion-MNIST pixels/255).

use ndarray::{Array1, Array2, Axis};

use super::Classifier;
use crate::data::N_CLASSES;
use crate::error::{Error, Result};
use crate::prep::LabelledSet;

/// A fitted nearest-centroid classifier: one mean row per class.
#[derive(Clone, Debug, PartialEq)]
pub struct NearestCentroid {
    pub centroids: Array2<f32>,
}

impl NearestCentroid {
    /// Averages the rows per label; every one of the ten classes must be present.
    pub fn fit(set: &LabelledSet) -> Result<Self> {
        super::check_training(set, "nearest centroid")?;
        let x = set.features();
        let mut sums = Array2::<f64>::zeros((N_CLASSES, x.ncols()));
        let mut counts = [0usize; N_CLASSES];
        for (row, &l) in x.rows().into_iter().zip(set.labels()) {
            counts[l as usize] += 1;
            sums.row_mut(l as usize)
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
}

impl Classifier for NearestCentroid {
    fn name(&self) -> String {
        "nearest centroid".into()
    }

    fn n_features(&self) -> usize {
        self.centroids.ncols()
    }

    /// The class of the nearest centroid for each row (ties go to the lower class).
    fn predict_rows(&self, x: &Array2<f32>) -> Result<Array1<u8>> {
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

    #[test]
    fn assigns_to_nearest_mean() {
        // Class c sits at (10c, 0) and (10c, 2): its mean is (10c, 1).
        let x = Array2::from_shape_fn((20, 2), |(i, j)| {
            if j == 0 {
                (i / 2 * 10) as f32
            } else {
                (i % 2 * 2) as f32
            }
        });
        let y = Array1::from_shape_fn(20, |i| (i / 2) as u8);
        let m = NearestCentroid::fit(&LabelledSet::new(x, y).expect("set")).expect("fit");
        assert_eq!(m.centroids.row(3).to_vec(), vec![30.0, 1.0]);
        let q = ndarray::array![[1.0f32, 1.0], [29.0, 9.0]];
        assert_eq!(m.predict(&q).expect("predict").to_vec(), vec![0, 3]);
        let missing =
            LabelledSet::new(Array2::zeros((2, 2)), ndarray::array![0u8, 1]).expect("set");
        assert!(matches!(
            NearestCentroid::fit(&missing),
            Err(Error::InvalidInput(_))
        ));
    }
}

//! Preprocessing: scalers fitted on the training set only, then applied to any set; one-hot labels;
//! image augmentation ([`augment`]); a user's own picture made Fashion-MNIST-like ([`picture`]).
//!
//! Written here rather than taken from linfa-preprocessing: that crate brings its text
//! vectorisers (regex, encodings) into every notebook build, and these scalers are a few lines.
//! Like linfa, parameters are validated on `fit`, which returns a fitted scaler.

pub mod augment;
pub mod labelled;
pub mod picture;
pub mod preprocessing;

pub use augment::Augmentation;
pub use labelled::LabelledSet;
pub use preprocessing::Preprocessing;

use ndarray::{Array1, Array2, Axis, Zip};

use crate::data::ImageSet;
use crate::error::{Error, Result};
use linfa::ParamGuard;

/// Pixels divided by 255 into [0, 1] (the reports' "normalisation"). Needs no fitting.
pub fn scale_255(set: &ImageSet) -> Array2<f32> {
    set.images.mapv(|p| f32::from(p) / 255.0)
}

/// A fitted scaling of pixel rows: transforms features and records itself, so a labelled set
/// (and the model trained on it) knows how its inputs were made.
pub trait Scaler {
    /// Scales rows of raw pixel values (0..=255 as f32).
    fn transform(&self, x: &Array2<f32>) -> Result<Array2<f32>>;

    /// What this scaler does, as a saved model records it.
    fn preprocessing(&self) -> Preprocessing;

    /// The images' pixels scaled, with their labels: the set every fit and evaluation takes.
    fn labelled(&self, images: &ImageSet) -> Result<LabelledSet> {
        let features = self.transform(&images.pixels_f32())?;
        Ok(LabelledSet::new(features, images.labels.clone())?
            .with_preprocessing(self.preprocessing()))
    }
}

/// Pixels / 255 into [0, 1] as a [`Scaler`] (nothing to fit).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Scale255;

impl Scaler for Scale255 {
    fn transform(&self, x: &Array2<f32>) -> Result<Array2<f32>> {
        Ok(x.mapv(|p| p / 255.0))
    }

    fn preprocessing(&self) -> Preprocessing {
        Preprocessing::Divide255
    }
}

fn check_features(expected: usize, x: &Array2<f32>) -> Result<()> {
    if x.ncols() != expected {
        return Err(Error::shape(
            "features per row given to the scaler",
            expected,
            x.ncols(),
            "Fit and transform must see the same columns",
        ));
    }
    Ok(())
}

fn check_fit_input(x: &Array2<f32>) -> Result<()> {
    if x.nrows() == 0 {
        return Err(Error::invalid("cannot fit a scaler on zero rows"));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "cannot fit a scaler on data with NaN or infinite values",
        ));
    }
    Ok(())
}

/// Scales each feature linearly so that its training minimum and maximum map to `[low, high]`
/// (scikit-learn's `MinMaxScaler(feature_range=(low, high))`; a constant feature maps to `low`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MinMaxScaler {
    pub low: f32,
    pub high: f32,
}

impl Default for MinMaxScaler {
    fn default() -> Self {
        Self {
            low: 0.0,
            high: 1.0,
        }
    }
}

impl MinMaxScaler {
    /// Target range `[low, high]`, e.g. `(-1.0, 1.0)` as in report 000.
    pub fn new(low: f32, high: f32) -> Self {
        Self { low, high }
    }

    fn rules(&self) -> Result<()> {
        if !(self.low.is_finite() && self.high.is_finite() && self.low < self.high) {
            return Err(Error::param(
                "low/high",
                format!(
                    "the min-max range must be finite with low < high, got [{}, {}]",
                    self.low, self.high
                ),
            ));
        }
        Ok(())
    }

    /// Learns each feature's minimum and maximum from `x` (the training set).
    pub fn fit(&self, x: &Array2<f32>) -> Result<FittedMinMaxScaler> {
        self.check_ref()?;
        check_fit_input(x)?;
        let min = x.fold_axis(Axis(0), f32::INFINITY, |a, &b| a.min(b));
        let max = x.fold_axis(Axis(0), f32::NEG_INFINITY, |a, &b| a.max(b));
        Ok(FittedMinMaxScaler {
            params: *self,
            min,
            max,
        })
    }
}

/// A min-max scaler with its per-feature minimum and maximum.
#[derive(Clone, Debug, PartialEq)]
pub struct FittedMinMaxScaler {
    pub params: MinMaxScaler,
    pub min: Array1<f32>,
    pub max: Array1<f32>,
}

crate::param_guard!(MinMaxScaler);

impl Scaler for FittedMinMaxScaler {
    fn preprocessing(&self) -> Preprocessing {
        Preprocessing::MinMax {
            low: self.params.low,
            high: self.params.high,
            min: self.min.to_vec(),
            max: self.max.to_vec(),
        }
    }

    fn transform(&self, x: &Array2<f32>) -> Result<Array2<f32>> {
        check_features(self.min.len(), x)?;
        let span = self.params.high - self.params.low;
        // Per feature: y = x·scale + offset, with scikit-learn's guard for constant features.
        let scale: Array1<f32> = Zip::from(&self.min).and(&self.max).map_collect(|&lo, &hi| {
            if hi > lo {
                span / (hi - lo)
            } else {
                span
            }
        });
        let offset: Array1<f32> = Zip::from(&self.min)
            .and(&scale)
            .map_collect(|&lo, &s| self.params.low - lo * s);
        let mut out = x.to_owned();
        for mut row in out.rows_mut() {
            Zip::from(&mut row)
                .and(&scale)
                .and(&offset)
                .for_each(|v, &s, &o| *v = *v * s + o);
        }
        Ok(out)
    }
}

/// Standardises each feature to zero mean and unit variance (population std; a constant
/// feature is only centred).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StandardScaler;

impl StandardScaler {
    pub fn new() -> Self {
        Self
    }

    pub fn fit(&self, x: &Array2<f32>) -> Result<FittedStandardScaler> {
        check_fit_input(x)?;
        let n = x.nrows() as f64;
        let mean64 = x.mapv(f64::from).sum_axis(Axis(0)) / n;
        let mut var64 = Array1::<f64>::zeros(x.ncols());
        for row in x.rows() {
            Zip::from(&mut var64)
                .and(&row)
                .and(&mean64)
                .for_each(|v, &x, &m| *v += (f64::from(x) - m).powi(2));
        }
        let std = var64.mapv(|v| {
            let s = (v / n).sqrt() as f32;
            if s > 0.0 {
                s
            } else {
                1.0
            }
        });
        Ok(FittedStandardScaler {
            mean: mean64.mapv(|m| m as f32),
            std,
        })
    }
}

/// A standard scaler with its per-feature mean and standard deviation.
#[derive(Clone, Debug, PartialEq)]
pub struct FittedStandardScaler {
    pub mean: Array1<f32>,
    pub std: Array1<f32>,
}

impl Scaler for FittedStandardScaler {
    fn preprocessing(&self) -> Preprocessing {
        Preprocessing::Standard {
            mean: self.mean.to_vec(),
            std: self.std.to_vec(),
        }
    }

    fn transform(&self, x: &Array2<f32>) -> Result<Array2<f32>> {
        check_features(self.mean.len(), x)?;
        let mut out = x.to_owned();
        for mut row in out.rows_mut() {
            Zip::from(&mut row)
                .and(&self.mean)
                .and(&self.std)
                .for_each(|v, &m, &s| *v = (*v - m) / s);
        }
        Ok(out)
    }
}

/// One-hot rows for class labels: `n × n_classes`, 1.0 at each label.
pub fn one_hot(labels: &Array1<u8>, n_classes: usize) -> Result<Array2<f32>> {
    let mut out = Array2::<f32>::zeros((labels.len(), n_classes));
    for (i, &l) in labels.iter().enumerate() {
        if l as usize >= n_classes {
            return Err(Error::invalid(format!(
                "label {l} at index {i} does not fit {n_classes} classes"
            )));
        }
        out[[i, l as usize]] = 1.0;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn min_max_maps_train_range_to_target_and_guards_constants() {
        let train = array![[0.0f32, 5.0, 3.0], [255.0, 5.0, 1.0], [51.0, 5.0, 2.0]];
        let scaler = MinMaxScaler::new(-1.0, 1.0).fit(&train).expect("fit");
        let out = scaler.transform(&train).expect("transform");
        let col0 = out.column(0).to_vec();
        assert!(
            col0.iter()
                .zip([-1.0, 1.0, -0.6])
                .all(|(a, b)| (a - b).abs() < 1e-6),
            "{col0:?}"
        );
        assert_eq!(out.column(1).to_vec(), vec![-1.0, -1.0, -1.0]);
        assert_eq!(out.column(2).to_vec(), vec![1.0, -1.0, 0.0]);
        // Test data outside the training range is not clipped (as scikit-learn).
        let test = array![[510.0f32, 5.0, 2.0]];
        assert_eq!(scaler.transform(&test).expect("transform")[[0, 0]], 3.0);
        assert!(scaler.transform(&array![[1.0f32]]).is_err());
        assert!(MinMaxScaler::new(1.0, -1.0).fit(&train).is_err());
    }

    #[test]
    fn standard_scaler_centres_and_scales() {
        let x = array![[1.0f32, 2.0], [3.0, 2.0]];
        let s = StandardScaler::new().fit(&x).expect("fit");
        assert_eq!(s.mean.to_vec(), vec![2.0, 2.0]);
        assert_eq!(s.std.to_vec(), vec![1.0, 1.0]);
        assert_eq!(
            s.transform(&x).expect("transform"),
            array![[-1.0f32, 0.0], [1.0, 0.0]]
        );
    }

    #[test]
    fn one_hot_rows() {
        let y = one_hot(&array![2u8, 0], 3).expect("valid labels");
        assert_eq!(y, array![[0.0f32, 0.0, 1.0], [1.0, 0.0, 0.0]]);
        assert!(one_hot(&array![3u8], 3).is_err());
    }
}

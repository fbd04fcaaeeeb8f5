//! A labelled set: feature rows and one class label per row, checked once when made. Every fit
//! and evaluation takes one; splits and subsets keep it (and the preprocessing it records).

use ndarray::{concatenate, Array1, Array2, Axis};

use super::preprocessing::Preprocessing;
use crate::data::split;
use crate::data::N_CLASSES;
use crate::error::{Error, Result};

/// Features (`n × d`, f32) and labels (`n`, classes 0..=9), with the preprocessing that turned
/// images into these features when it is known (a saved model records it, so a picture is
/// scaled the same way at deployment).
#[derive(Clone, Debug)]
pub struct LabelledSet {
    features: Array2<f32>,
    labels: Array1<u8>,
    preprocessing: Option<Preprocessing>,
    /// [`LabelledSet::fingerprint`], computed on first use: a set never changes once made, and
    /// the trainings of a sweep share one set.
    fingerprint: std::sync::OnceLock<String>,
}

/// Equal features, labels and preprocessing (whether the fingerprint was computed yet is no
/// difference).
impl PartialEq for LabelledSet {
    fn eq(&self, other: &Self) -> bool {
        self.features == other.features
            && self.labels == other.labels
            && self.preprocessing == other.preprocessing
    }
}

impl LabelledSet {
    /// Checks once: one label per row, finite features, labels within the ten classes.
    pub fn new(features: Array2<f32>, labels: Array1<u8>) -> Result<Self> {
        if features.nrows() != labels.len() {
            return Err(Error::rows_and_labels(features.nrows(), labels.len()));
        }
        if let Some((i, _)) = features.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "feature ({}, {}) is NaN or infinite; scale the pixels first (e.g. a scaler's labelled(&images)) \
                 and check the steps that made these features",
                i.0, i.1
            )));
        }
        if let Some(&bad) = labels.iter().find(|&&l| l as usize >= N_CLASSES) {
            return Err(Error::invalid(format!(
                "label {bad} is outside 0..={}; labels are class indices",
                N_CLASSES - 1
            )));
        }
        Ok(Self {
            features,
            labels,
            preprocessing: None,
            fingerprint: Default::default(),
        })
    }

    /// Records how images became these features.
    pub fn with_preprocessing(mut self, preprocessing: Preprocessing) -> Self {
        self.preprocessing = Some(preprocessing);
        self
    }

    pub fn features(&self) -> &Array2<f32> {
        &self.features
    }

    pub fn labels(&self) -> &Array1<u8> {
        &self.labels
    }

    pub fn preprocessing(&self) -> Option<&Preprocessing> {
        self.preprocessing.as_ref()
    }

    /// Its size and the SHA-256 of every feature and label: the store of finished trainings
    /// (crate::train::store) keys a training by the fingerprints of its data.
    pub fn fingerprint(&self) -> &str {
        self.fingerprint.get_or_init(|| {
            use sha2::{Digest, Sha256};
            let x = &self.features;
            let mut hasher = Sha256::new();
            hasher.update((x.nrows() as u64).to_le_bytes());
            hasher.update((x.ncols() as u64).to_le_bytes());
            // Through a buffer: one `update` per value would cost more than the hash.
            let mut buffer = Vec::with_capacity(1 << 16);
            for v in x.iter() {
                buffer.extend_from_slice(&v.to_le_bytes());
                if buffer.len() == buffer.capacity() {
                    hasher.update(&buffer);
                    buffer.clear();
                }
            }
            hasher.update(&buffer);
            hasher.update(self.labels.iter().copied().collect::<Vec<u8>>());
            format!(
                "{} rows × {} features, SHA-256 {:x}",
                x.nrows(),
                x.ncols(),
                hasher.finalize()
            )
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Features per row.
    pub fn n_features(&self) -> usize {
        self.features.ncols()
    }

    /// (features, labels).
    pub fn into_parts(self) -> (Array2<f32>, Array1<u8>) {
        (self.features, self.labels)
    }

    /// How many rows of each class (index = label).
    pub fn class_counts(&self) -> [usize; N_CLASSES] {
        let mut counts = [0; N_CLASSES];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Result<Self> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(Error::invalid(format!(
                "index {bad} is out of range: the set has {} rows",
                self.len()
            )));
        }
        Ok(Self {
            features: self.features.select(Axis(0), indices),
            labels: self.labels.select(Axis(0), indices),
            preprocessing: self.preprocessing.clone(),
            fingerprint: Default::default(),
        })
    }

    /// A seeded, stratified subset of `n` rows.
    pub fn stratified_subset(&self, n: usize, seed: u64) -> Result<Self> {
        self.select(&split::stratified_subset(&self.labels, n, seed)?)
    }

    /// A seeded, stratified subset of `n` rows when `n` is given and smaller than the set, else
    /// the whole set (a protocol's "none: every image").
    pub fn at_most(&self, n: Option<usize>, seed: u64) -> Result<Self> {
        match n {
            Some(n) if n < self.len() => self.stratified_subset(n, seed),
            _ => Ok(self.clone()),
        }
    }

    /// Parts of the given fractions (summing to 1), seeded and stratified.
    pub fn stratified_split(&self, fractions: &[f64], seed: u64) -> Result<Vec<Self>> {
        split::stratified_split(&self.labels, fractions, seed)?
            .iter()
            .map(|idx| self.select(idx))
            .collect()
    }

    /// Stratified k-fold: `k` (train, validation) pairs, every row once in a validation part.
    pub fn stratified_k_fold(&self, k: usize, seed: u64) -> Result<Vec<(Self, Self)>> {
        split::stratified_k_fold(&self.labels, k, seed)?
            .iter()
            .map(|(train, val)| Ok((self.select(train)?, self.select(val)?)))
            .collect()
    }

    /// This set followed by `other` (same features per row).
    pub fn concat(&self, other: &LabelledSet) -> Result<Self> {
        if other.n_features() != self.n_features() {
            return Err(Error::shape(
                "features per row of the second set",
                self.n_features(),
                other.n_features(),
                "Concatenate sets made the same way",
            ));
        }
        Ok(Self {
            features: concatenate![Axis(0), self.features, other.features],
            labels: concatenate![Axis(0), self.labels, other.labels],
            preprocessing: self.preprocessing.clone(),
            fingerprint: Default::default(),
        })
    }

    /// The same labels with new features computed from these (e.g. a CNN's penultimate layer);
    /// the result records no preprocessing, since images no longer map to it by a scaler.
    pub fn map_features(
        &self,
        f: impl FnOnce(&Array2<f32>) -> Result<Array2<f32>>,
    ) -> Result<Self> {
        LabelledSet::new(f(&self.features)?, self.labels.clone())
    }

    /// The set as a linfa dataset (labels as `usize`), for linfa's cross-validation and metrics.
    pub fn to_linfa(&self) -> linfa::Dataset<f32, usize, ndarray::Ix1> {
        linfa::Dataset::new(self.features.clone(), self.labels.mapv(usize::from))
    }

    /// A set from linfa's records and targets (labels must be class indices 0..=9).
    pub fn from_linfa<D, T>(
        dataset: &linfa::DatasetBase<ndarray::ArrayBase<D, ndarray::Ix2>, T>,
    ) -> Result<Self>
    where
        D: ndarray::Data<Elem = f32>,
        T: linfa::dataset::AsSingleTargets<Elem = usize>,
    {
        let targets = dataset.targets.as_single_targets();
        let labels = targets
            .iter()
            .map(|&l| u8::try_from(l).ok().filter(|&l| (l as usize) < N_CLASSES))
            .collect::<Option<Array1<u8>>>()
            .ok_or_else(|| {
                Error::invalid(format!(
                    "linfa targets must be class indices 0..={}",
                    N_CLASSES - 1
                ))
            })?;
        LabelledSet::new(dataset.records.to_owned(), labels)
    }
}

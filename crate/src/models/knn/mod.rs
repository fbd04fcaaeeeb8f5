//! k-nearest neighbours with Euclidean distance, two ways of finding the neighbours:
//!
//! - [`NeighbourSearch::Blocked`] (default): exact search built on matrix products,
//!   ‖a − b‖² = ‖a‖² − 2a·b + ‖b‖², over blocks of queries on all cores. Candidates are re-ranked
//!   with directly computed distances (f64), so the matrix product's rounding cannot reorder them.
//!   On raw u8 pixels ([`KnnClassifier::fit_pixels`]) the dot products are exact integers, with
//!   AVX-512 VNNI where the CPU has it; /255 scaling ranks neighbours exactly as raw pixels do.
//! - [`NeighbourSearch::Linfa`]: linfa-nn's index (linear scan, k-d tree or ball tree).
//!
//! Tie-break, the same in every path: neighbours are ordered by (distance, training index), so of
//! two equally distant training images the earlier one is nearer; a vote tied between classes
//! goes to the smallest class label (as scikit-learn's `mode`).

use linfa_nn::distance::L2Dist;
use linfa_nn::{CommonNearestNeighbour, NearestNeighbour};
use ndarray::{Array1, Array2, Axis};

use super::Classifier;
use crate::data::ImageSet;
use crate::error::{Error, Result};
use crate::prep::LabelledSet;
use linfa::ParamGuard;
use pixels::PackedPixels;
use search::{blocked_f32, squared_distance_f64};

mod pixels;
mod search;
use crate::base::first_max_index;

/// How neighbours' votes are weighted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KnnWeights {
    /// Every neighbour counts once.
    Uniform,
    /// Each neighbour counts 1/distance (an exact match wins outright).
    Distance,
}

/// Which search finds the neighbours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NeighbourSearch {
    /// Exact blocked search on matrix products (fast).
    Blocked,
    /// linfa-nn's index.
    Linfa(LinfaIndex),
}

/// The linfa-nn index kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinfaIndex {
    Linear,
    KdTree,
    BallTree,
}

impl LinfaIndex {
    fn common(self) -> CommonNearestNeighbour {
        match self {
            LinfaIndex::Linear => CommonNearestNeighbour::LinearSearch,
            LinfaIndex::KdTree => CommonNearestNeighbour::KdTree,
            LinfaIndex::BallTree => CommonNearestNeighbour::BallTree,
        }
    }
}

/// Parameters of a k-NN classifier (defaults: k = 5, uniform weights, blocked search).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KnnParams {
    pub k: usize,
    pub weights: KnnWeights,
    pub search: NeighbourSearch,
}

impl Default for KnnParams {
    fn default() -> Self {
        Self {
            k: 5,
            weights: KnnWeights::Uniform,
            search: NeighbourSearch::Blocked,
        }
    }
}

impl KnnParams {
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    pub fn weights(mut self, weights: KnnWeights) -> Self {
        self.weights = weights;
        self
    }

    pub fn search(mut self, search: NeighbourSearch) -> Self {
        self.search = search;
        self
    }

    fn rules(&self) -> Result<()> {
        if self.k == 0 {
            return Err(Error::param("k", "k must be at least 1"));
        }
        Ok(())
    }

    /// What needs the data: k no larger than the training set.
    fn fits(&self, n_train: usize) -> Result<()> {
        self.check_ref()?;
        if n_train == 0 {
            return Err(Error::invalid(
                "k-NN needs at least one training row; the set is empty",
            ));
        }
        if self.k > n_train {
            return Err(Error::param(
                "k",
                format!("k = {} is more than the {n_train} training samples", self.k),
            ));
        }
        Ok(())
    }

    /// Stores the training set (k-NN has no other fitting).
    pub fn fit(&self, set: &LabelledSet) -> Result<KnnClassifier> {
        self.fits(set.len())?;
        let x = set.features();
        let norms = x.map_axis(Axis(1), |r| r.dot(&r));
        Ok(KnnClassifier {
            params: *self,
            train: TrainData::Float {
                x: x.clone(),
                norms,
            },
            labels: set.labels().clone(),
        })
    }

    /// Stores raw u8 pixels for the exact integer search. Only [`NeighbourSearch::Blocked`].
    pub fn fit_pixels(&self, set: &ImageSet) -> Result<KnnClassifier> {
        self.fits(set.len())?;
        if self.search != NeighbourSearch::Blocked {
            return Err(Error::invalid(
                "fit_pixels uses the exact integer search: use NeighbourSearch::Blocked, or fit() on f32 data for linfa-nn",
            ));
        }
        Ok(KnnClassifier {
            params: *self,
            train: TrainData::Pixels(PackedPixels::train(&set.images)),
            labels: set.labels.clone(),
        })
    }
}

crate::param_guard!(KnnParams);

#[derive(Clone, Debug)]
enum TrainData {
    Float { x: Array2<f32>, norms: Array1<f32> },
    Pixels(PackedPixels),
}

/// A fitted k-NN classifier.
#[derive(Clone, Debug)]
pub struct KnnClassifier {
    pub params: KnnParams,
    train: TrainData,
    labels: Array1<u8>,
}

/// Neighbours of each query: indices into the training set and Euclidean distances, nearest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Neighbours {
    pub indices: Array2<usize>,
    pub distances: Array2<f32>,
}

/// Extra candidates re-ranked with exact distances, beyond k.
const RERANK_MARGIN: usize = 8;

impl KnnClassifier {
    pub fn params() -> KnnParams {
        KnnParams::default()
    }

    pub fn n_train(&self) -> usize {
        self.labels.len()
    }

    /// The k nearest training samples of each row of `x`.
    pub fn kneighbors(&self, x: &Array2<f32>) -> Result<Neighbours> {
        let TrainData::Float { x: train, norms } = &self.train else {
            return Err(Error::invalid(
                "this classifier was fitted on u8 pixels: query it with kneighbors_pixels / predict_pixels",
            ));
        };
        if x.ncols() != train.ncols() {
            return Err(Error::shape(
                "features per query row",
                train.ncols(),
                x.ncols(),
                "Query with rows scaled as the training set was",
            ));
        }
        let k = self.params.k;
        let wanted = (k + RERANK_MARGIN).min(train.nrows());
        let candidates: Vec<Vec<usize>> = match self.params.search {
            NeighbourSearch::Blocked => blocked_f32(train, norms, x.view(), wanted),
            NeighbourSearch::Linfa(kind) => {
                let index = kind.common().from_batch(train, L2Dist).map_err(|e| {
                    Error::invalid(format!("linfa-nn could not build its index: {e}"))
                })?;
                x.axis_iter(Axis(0))
                    .map(|q| {
                        index
                            .k_nearest(q, wanted)
                            .map(|found| found.into_iter().map(|(_, i)| i).collect())
                            .map_err(|e| Error::invalid(format!("linfa-nn search failed: {e}")))
                    })
                    .collect::<Result<_>>()?
            }
        };
        // Exact re-ranking: (distance in f64, index) — the documented tie-break.
        let mut indices = Array2::<usize>::zeros((x.nrows(), k));
        let mut distances = Array2::<f32>::zeros((x.nrows(), k));
        for (qi, cands) in candidates.into_iter().enumerate() {
            let q = x.row(qi);
            let mut ranked: Vec<(f64, usize)> = cands
                .into_iter()
                .map(|i| (squared_distance_f64(q, train.row(i)), i))
                .collect();
            ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (j, (d2, i)) in ranked.into_iter().take(k).enumerate() {
                indices[[qi, j]] = i;
                distances[[qi, j]] = d2.sqrt() as f32;
            }
        }
        Ok(Neighbours { indices, distances })
    }

    /// The k nearest training images of each u8 image (for a classifier from `fit_pixels`).
    pub fn kneighbors_pixels(&self, images: &Array2<u8>) -> Result<Neighbours> {
        let TrainData::Pixels(train) = &self.train else {
            return Err(Error::invalid(
                "this classifier was fitted on f32 features: query it with kneighbors / predict",
            ));
        };
        if images.ncols() != train.dim {
            return Err(Error::shape(
                "pixels per query image",
                train.dim,
                images.ncols(),
                "Query with images of the training set's size",
            ));
        }
        let found = train.search(images, self.params.k);
        let mut indices = Array2::<usize>::zeros((images.nrows(), self.params.k));
        let mut distances = Array2::<f32>::zeros((images.nrows(), self.params.k));
        for (qi, row) in found.into_iter().enumerate() {
            for (j, (d2, i)) in row.into_iter().enumerate() {
                indices[[qi, j]] = i;
                distances[[qi, j]] = (d2 as f64).sqrt() as f32;
            }
        }
        Ok(Neighbours { indices, distances })
    }

    /// Predicted class of each u8 image (for a classifier from `fit_pixels`).
    pub fn predict_pixels(&self, images: &Array2<u8>) -> Result<Array1<u8>> {
        Ok(self.vote(&self.kneighbors_pixels(images)?))
    }

    /// How many rows of `x` have their largest vote shared by two or more classes (such a tie
    /// goes to the smallest label). With ten classes an odd k does not rule ties out: k = 5 can
    /// vote 2–2–1.
    pub fn tied_votes(&self, x: &Array2<f32>) -> Result<usize> {
        let nb = self.kneighbors(x)?;
        Ok(self
            .votes(&nb)
            .into_iter()
            .filter(|votes| {
                let top = votes.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                votes.iter().filter(|&&v| v == top).count() > 1
            })
            .count())
    }

    /// Each query's votes per class.
    fn votes(&self, nb: &Neighbours) -> Vec<Vec<f64>> {
        let n_classes = self
            .labels
            .iter()
            .copied()
            .max()
            .map_or(1, |m| m as usize + 1);
        nb.indices
            .outer_iter()
            .zip(nb.distances.outer_iter())
            .map(|(idx, dist)| {
                let mut votes = vec![0.0f64; n_classes];
                let exact: Vec<usize> = idx
                    .iter()
                    .zip(dist.iter())
                    .filter(|(_, &d)| d == 0.0)
                    .map(|(&i, _)| i)
                    .collect();
                match self.params.weights {
                    KnnWeights::Distance if !exact.is_empty() => exact
                        .iter()
                        .for_each(|&i| votes[self.labels[i] as usize] += 1.0),
                    KnnWeights::Distance => idx
                        .iter()
                        .zip(dist.iter())
                        .for_each(|(&i, &d)| votes[self.labels[i] as usize] += 1.0 / f64::from(d)),
                    KnnWeights::Uniform => idx
                        .iter()
                        .for_each(|&i| votes[self.labels[i] as usize] += 1.0),
                }
                votes
            })
            .collect()
    }

    fn vote(&self, nb: &Neighbours) -> Array1<u8> {
        self.votes(nb)
            .into_iter()
            // Largest vote; on a tie the smallest label.
            .map(|votes| first_max_index(votes.iter().copied()) as u8)
            .collect()
    }
}

impl Classifier for KnnClassifier {
    fn name(&self) -> String {
        format!("k-NN k = {}", self.params.k)
    }

    fn n_features(&self) -> usize {
        match &self.train {
            TrainData::Float { x, .. } => x.ncols(),
            TrainData::Pixels(p) => p.dim,
        }
    }

    fn predict_rows(&self, x: &Array2<f32>) -> Result<Array1<u8>> {
        Ok(self.vote(&self.kneighbors(x)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn ties_go_to_the_earlier_index_and_smallest_label() {
        let x = array![[0.0f32], [2.0], [-2.0], [5.0]];
        let y = array![1u8, 0, 2, 0];
        let set = LabelledSet::new(x, y).expect("set");
        let m = KnnClassifier::params().k(2).fit(&set).expect("fit");
        let nb = m.kneighbors(&array![[1.0f32]]).expect("search");
        assert_eq!(nb.indices.row(0).to_vec(), vec![0, 1]); // both at distance 1: index order
        assert_eq!(m.predict(&array![[1.0f32]]).expect("predict")[0], 0); // 1 vote each: label 0
                                                                          // That query's vote is tied; at 5.5 the two nearest (5.0 and 2.0) are both label 0.
        assert_eq!(m.tied_votes(&array![[1.0f32], [5.5]]).expect("ties"), 1);
        assert!(matches!(
            KnnClassifier::params().k(0).fit(&set),
            Err(Error::InvalidParameter { param: "k", .. })
        ));
        assert!(matches!(
            KnnClassifier::params().k(5).fit(&set),
            Err(Error::InvalidParameter { param: "k", .. })
        ));
    }
}

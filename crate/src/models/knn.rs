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
use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;

use crate::data::ImageSet;
use crate::error::{Error, Result};
use crate::nn::layers::first_max_index;

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

    fn validate(&self, n_train: usize) -> Result<()> {
        if self.k == 0 {
            return Err(Error::invalid("k must be at least 1"));
        }
        if self.k > n_train {
            return Err(Error::invalid(format!(
                "k = {} is more than the {n_train} training samples",
                self.k
            )));
        }
        Ok(())
    }

    /// Stores the training set (k-NN has no other fitting).
    pub fn fit(&self, x: &Array2<f32>, labels: &Array1<u8>) -> Result<KnnClassifier> {
        check_rows(x.nrows(), labels.len())?;
        self.validate(x.nrows())?;
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid(
                "k-NN training data contains NaN or infinite values",
            ));
        }
        let norms = x.map_axis(Axis(1), |r| r.dot(&r));
        Ok(KnnClassifier {
            params: *self,
            train: TrainData::Float {
                x: x.clone(),
                norms,
            },
            labels: labels.clone(),
        })
    }

    /// Stores raw u8 pixels for the exact integer search. Only [`NeighbourSearch::Blocked`].
    pub fn fit_pixels(&self, set: &ImageSet) -> Result<KnnClassifier> {
        self.validate(set.len())?;
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

fn check_rows(rows: usize, labels: usize) -> Result<()> {
    if rows != labels {
        return Err(Error::Mismatch(format!(
            "{rows} training rows but {labels} labels"
        )));
    }
    if rows == 0 {
        return Err(Error::invalid("k-NN needs at least one training sample"));
    }
    Ok(())
}

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
            return Err(Error::Mismatch(format!(
                "fitted on {} features, queried with {}",
                train.ncols(),
                x.ncols()
            )));
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
            return Err(Error::Mismatch(format!(
                "fitted on {} pixels per image, queried with {}",
                train.dim,
                images.ncols()
            )));
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

    /// Predicted class of each row of `x`.
    pub fn predict(&self, x: &Array2<f32>) -> Result<Array1<u8>> {
        Ok(self.vote(&self.kneighbors(x)?))
    }

    /// Predicted class of each u8 image (for a classifier from `fit_pixels`).
    pub fn predict_pixels(&self, images: &Array2<u8>) -> Result<Array1<u8>> {
        Ok(self.vote(&self.kneighbors_pixels(images)?))
    }

    fn vote(&self, nb: &Neighbours) -> Array1<u8> {
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
                // Largest vote; on a tie the smallest label.
                first_max_index(votes.iter().copied()) as u8
            })
            .collect()
    }
}

fn squared_distance_f64(a: ArrayView1<f32>, b: ArrayView1<f32>) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum()
}

/// A running list of the `k` smallest (key, index) pairs, kept sorted.
struct TopK<T> {
    k: usize,
    items: Vec<(T, usize)>,
}

impl<T: PartialOrd + Copy> TopK<T> {
    fn new(k: usize) -> Self {
        Self {
            k,
            items: Vec::with_capacity(k + 1),
        }
    }

    /// Indices arrive in increasing order, so a strict `<` keeps the earlier of equal keys first.
    #[inline]
    fn push(&mut self, key: T, index: usize) {
        if self.items.len() == self.k {
            match self.items.last() {
                Some(&(worst, _)) if key < worst => {}
                _ => return,
            }
            self.items.pop();
        }
        let pos = self.items.partition_point(|&(d, _)| d <= key);
        self.items.insert(pos, (key, index));
    }
}

const QUERY_BLOCK: usize = 64;
const TRAIN_BLOCK: usize = 2048;

/// Exact f32 search: for each block of queries, scores ‖b‖² − 2a·b against blocks of the
/// training set with a matrix product and keeps the `wanted` best candidates.
fn blocked_f32(
    train: &Array2<f32>,
    norms: &Array1<f32>,
    queries: ArrayView2<f32>,
    wanted: usize,
) -> Vec<Vec<usize>> {
    let blocks: Vec<ArrayView2<f32>> = queries.axis_chunks_iter(Axis(0), QUERY_BLOCK).collect();
    blocks
        .into_par_iter()
        .flat_map_iter(|qb| {
            let mut tops: Vec<TopK<f32>> = (0..qb.nrows()).map(|_| TopK::new(wanted)).collect();
            let mut start = 0;
            while start < train.nrows() {
                let end = (start + TRAIN_BLOCK).min(train.nrows());
                let dots = qb.dot(&train.slice(s![start..end, ..]).t());
                for (top, row) in tops.iter_mut().zip(dots.outer_iter()) {
                    for (j, &d) in row.iter().enumerate() {
                        top.push(norms[start + j] - 2.0 * d, start + j);
                    }
                }
                start = end;
            }
            tops.into_iter()
                .map(|t| t.items.into_iter().map(|(_, i)| i).collect::<Vec<usize>>())
        })
        .collect()
}

/// Training pixels packed for integer dot products: each row padded to a multiple of 64 bytes
/// and stored as `p − 128` in i8, so VNNI's u8×i8 product applies: a·p = a·(p − 128) + 128·Σa.
#[derive(Clone, Debug)]
struct PackedPixels {
    dim: usize,
    stride: usize,
    rows: usize,
    data: Vec<i8>,
    norms: Vec<i32>,
}

const LANES: usize = 64;

fn padded_u8_rows(images: &Array2<u8>, stride: usize, rows_multiple: usize) -> Vec<u8> {
    let rows = images.nrows().div_ceil(rows_multiple) * rows_multiple;
    let mut out = vec![0u8; rows * stride];
    for (r, row) in images.outer_iter().enumerate() {
        for (dst, &p) in out[r * stride..r * stride + images.ncols()]
            .iter_mut()
            .zip(row.iter())
        {
            *dst = p;
        }
    }
    out
}

impl PackedPixels {
    fn train(images: &Array2<u8>) -> Self {
        let dim = images.ncols();
        let stride = dim.div_ceil(LANES) * LANES;
        let rows = images.nrows();
        // Padding rows and columns hold pixel 0, i.e. −128 here; padded rows are never reported.
        let data = padded_u8_rows(images, stride, 4)
            .into_iter()
            .map(|p| (p ^ 0x80) as i8)
            .collect::<Vec<i8>>();
        let norms = images
            .outer_iter()
            .map(|r| r.iter().map(|&p| i32::from(p) * i32::from(p)).sum())
            .collect();
        Self {
            dim,
            stride,
            rows,
            data,
            norms,
        }
    }

    /// For each query: the k nearest (squared distance, index), nearest first.
    fn search(&self, queries: &Array2<u8>, k: usize) -> Vec<Vec<(i64, usize)>> {
        let stride = self.stride;
        let q_packed = padded_u8_rows(queries, stride, 4);
        let q_rows = queries.nrows();
        let q_padded = q_packed.len() / stride;
        let use_vnni = vnni_available();
        let groups: Vec<usize> = (0..q_padded).step_by(QUERY_BLOCK).collect();
        groups
            .into_par_iter()
            .flat_map_iter(|q0| {
                let q1 = (q0 + QUERY_BLOCK).min(q_padded);
                let mut tops: Vec<TopK<i32>> = (q0..q1).map(|_| TopK::new(k)).collect();
                let train_rows_padded = self.data.len() / stride;
                let mut t0 = 0;
                while t0 < train_rows_padded {
                    let t1 = (t0 + 256).min(train_rows_padded);
                    for qa in (q0..q1).step_by(4) {
                        let a = &q_packed[qa * stride..(qa + 4) * stride];
                        for tb in (t0..t1).step_by(4) {
                            let b = &self.data[tb * stride..(tb + 4) * stride];
                            let dots = dots_4x4(a, b, stride, use_vnni);
                            for (i, row) in dots.iter().enumerate() {
                                let top = &mut tops[qa - q0 + i];
                                for (j, &dot) in row.iter().enumerate() {
                                    let t = tb + j;
                                    if t < self.rows {
                                        // ‖b‖² − 2a·(b−128); the per-query constant is added below.
                                        top.push(self.norms[t] - 2 * dot, t);
                                    }
                                }
                            }
                        }
                    }
                    t0 = t1;
                }
                tops.into_iter()
                    .enumerate()
                    .map(move |(i, top)| (q0 + i, top))
            })
            .filter(|(qi, _)| *qi < q_rows)
            .map(|(qi, top)| {
                let a = &q_packed[qi * stride..(qi + 1) * stride];
                let a_norm: i64 = a.iter().map(|&p| i64::from(p) * i64::from(p)).sum();
                let a_sum: i64 = a.iter().map(|&p| i64::from(p)).sum();
                top.items
                    .into_iter()
                    .map(|(score, t)| (a_norm + i64::from(score) - 256 * a_sum, t))
                    .collect()
            })
            .collect()
    }
}

fn vnni_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Dot products of 4 query rows (u8) with 4 training rows (i8), each `stride` long.
#[inline]
fn dots_4x4(a: &[u8], b: &[i8], stride: usize, use_vnni: bool) -> [[i32; 4]; 4] {
    #[cfg(target_arch = "x86_64")]
    if use_vnni {
        // SAFETY: the CPU has AVX-512F and VNNI (checked by the caller); slices hold 4 rows each.
        return unsafe { vnni::dots_4x4(a, b, stride) };
    }
    let _ = use_vnni;
    let mut out = [[0i32; 4]; 4];
    for (i, row) in out.iter_mut().enumerate() {
        let ar = &a[i * stride..(i + 1) * stride];
        for (j, v) in row.iter_mut().enumerate() {
            let br = &b[j * stride..(j + 1) * stride];
            *v = ar
                .iter()
                .zip(br)
                .map(|(&x, &y)| i32::from(x) * i32::from(y))
                .sum();
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f,avx512vnni")]
    pub(super) unsafe fn dots_4x4(a: &[u8], b: &[i8], stride: usize) -> [[i32; 4]; 4] {
        debug_assert!(a.len() >= 4 * stride && b.len() >= 4 * stride && stride.is_multiple_of(64));
        let mut acc = [[_mm512_setzero_si512(); 4]; 4];
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut off = 0;
        while off < stride {
            let av = [
                _mm512_loadu_si512(pa.add(off) as *const _),
                _mm512_loadu_si512(pa.add(stride + off) as *const _),
                _mm512_loadu_si512(pa.add(2 * stride + off) as *const _),
                _mm512_loadu_si512(pa.add(3 * stride + off) as *const _),
            ];
            let bv = [
                _mm512_loadu_si512(pb.add(off) as *const _),
                _mm512_loadu_si512(pb.add(stride + off) as *const _),
                _mm512_loadu_si512(pb.add(2 * stride + off) as *const _),
                _mm512_loadu_si512(pb.add(3 * stride + off) as *const _),
            ];
            for i in 0..4 {
                for j in 0..4 {
                    acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], av[i], bv[j]);
                }
            }
            off += 64;
        }
        let mut out = [[0i32; 4]; 4];
        for i in 0..4 {
            for j in 0..4 {
                out[i][j] = _mm512_reduce_add_epi32(acc[i][j]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn integer_kernel_matches_plain_dot_products() {
        let a: Vec<u8> = (0..4 * 128).map(|i| (i * 37 % 256) as u8).collect();
        let b: Vec<i8> = (0..4 * 128)
            .map(|i: i32| ((i * 91 % 256) - 128) as i8)
            .collect();
        assert_eq!(
            dots_4x4(&a, &b, 128, vnni_available()),
            dots_4x4(&a, &b, 128, false)
        );
    }

    #[test]
    fn ties_go_to_the_earlier_index_and_smallest_label() {
        let x = array![[0.0f32], [2.0], [-2.0], [5.0]];
        let y = array![1u8, 0, 2, 0];
        let m = KnnClassifier::params().k(2).fit(&x, &y).expect("fit");
        let nb = m.kneighbors(&array![[1.0f32]]).expect("search");
        assert_eq!(nb.indices.row(0).to_vec(), vec![0, 1]); // both at distance 1: index order
        assert_eq!(m.predict(&array![[1.0f32]]).expect("predict")[0], 0); // 1 vote each: label 0
        assert!(KnnClassifier::params().k(0).fit(&x, &y).is_err());
        assert!(KnnClassifier::params().k(5).fit(&x, &y).is_err());
    }
}

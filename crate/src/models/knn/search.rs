//! The exact f32 neighbour search on matrix products, and the running top-k list both searches use.

use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;

pub(super) fn squared_distance_f64(a: ArrayView1<f32>, b: ArrayView1<f32>) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum()
}

/// A running list of the `k` smallest (key, index) pairs, kept sorted.
pub(super) struct TopK<T> {
    k: usize,
    pub(super) items: Vec<(T, usize)>,
}

impl<T: PartialOrd + Copy> TopK<T> {
    pub(super) fn new(k: usize) -> Self {
        Self {
            k,
            items: Vec::with_capacity(k + 1),
        }
    }

    /// Indices arrive in increasing order, so a strict `<` keeps the earlier of equal keys first.
    #[inline]
    pub(super) fn push(&mut self, key: T, index: usize) {
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

pub(super) const QUERY_BLOCK: usize = 64;
const TRAIN_BLOCK: usize = 2048;

/// Exact f32 search: for each block of queries, scores ‖b‖² − 2a·b against blocks of the
/// training set with a matrix product and keeps the `wanted` best candidates.
pub(super) fn blocked_f32(
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

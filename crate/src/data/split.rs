//! Seeded, stratified splits and subsets, as index lists.
//!
//! Sizes are exact: a split of 70,000 by 75/12.5/12.5 gives 52,500/8,750/8,750. Each part keeps the
//! class proportions of the whole (to within one image per class, by largest remainder). The same
//! seed always gives the same indices (ChaCha8, which is stable across platforms and versions).

use ndarray::Array1;
use rand::seq::SliceRandom;

use crate::error::{Error, Result};

pub use crate::base::seed::{permutation, rng, ChaCha8Rng};

/// Splits `total` into integer parts proportional to `weights` that sum to `total`
/// (largest remainder; ties go to the earlier part).
fn apportion(total: usize, weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    let quotas: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut parts: Vec<usize> = quotas.iter().map(|q| q.floor() as usize).collect();
    let mut left = total - parts.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (quotas[a] - quotas[a].floor(), quotas[b] - quotas[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in order.iter().cycle() {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
}

/// Indices of each class in `pool`, by class, in the order of `pool`.
fn by_class(labels: &Array1<u8>, pool: &[usize]) -> Vec<Vec<usize>> {
    let n_classes = pool
        .iter()
        .map(|&i| labels[i] as usize + 1)
        .max()
        .unwrap_or(0);
    let mut groups = vec![Vec::new(); n_classes];
    for &i in pool {
        groups[labels[i] as usize].push(i);
    }
    groups
}

/// Draws `n` of `pool` keeping class proportions; returns (drawn, rest), both shuffled.
fn draw_stratified(
    labels: &Array1<u8>,
    pool: &[usize],
    n: usize,
    rng: &mut ChaCha8Rng,
) -> (Vec<usize>, Vec<usize>) {
    let mut groups = by_class(labels, pool);
    let sizes: Vec<f64> = groups.iter().map(|g| g.len() as f64).collect();
    let quotas = apportion(n, &sizes);
    let (mut drawn, mut rest) = (Vec::with_capacity(n), Vec::new());
    for (group, quota) in groups.iter_mut().zip(quotas) {
        group.shuffle(rng);
        drawn.extend_from_slice(&group[..quota]);
        rest.extend_from_slice(&group[quota..]);
    }
    drawn.shuffle(rng);
    rest.shuffle(rng);
    (drawn, rest)
}

/// Splits all indices of `labels` into parts of the given fractions (which must sum to 1).
pub fn stratified_split(
    labels: &Array1<u8>,
    fractions: &[f64],
    seed: u64,
) -> Result<Vec<Vec<usize>>> {
    if fractions.len() < 2 {
        return Err(Error::param(
            "fractions",
            "a split needs at least two fractions, e.g. [0.9, 0.1]",
        ));
    }
    if fractions.iter().any(|f| !f.is_finite() || *f <= 0.0) {
        return Err(Error::param(
            "fractions",
            format!("split fractions must be positive numbers, got {fractions:?}"),
        ));
    }
    let sum: f64 = fractions.iter().sum();
    if (sum - 1.0).abs() > 1e-6 {
        return Err(Error::param(
            "fractions",
            format!("split fractions must sum to 1, got {fractions:?} (sum {sum})"),
        ));
    }
    let n = labels.len();
    let sizes = apportion(n, fractions);
    let mut rng = rng(seed);
    let mut pool: Vec<usize> = (0..n).collect();
    let mut parts = Vec::with_capacity(sizes.len());
    for &size in &sizes[..sizes.len() - 1] {
        let (drawn, rest) = draw_stratified(labels, &pool, size, &mut rng);
        parts.push(drawn);
        pool = rest;
    }
    parts.push(pool);
    Ok(parts)
}

/// `n` indices of `labels`, drawn keeping class proportions.
pub fn stratified_subset(labels: &Array1<u8>, n: usize, seed: u64) -> Result<Vec<usize>> {
    if n == 0 || n > labels.len() {
        return Err(Error::param(
            "n",
            format!(
                "subset size must be between 1 and {} (the set's size), got {n}",
                labels.len()
            ),
        ));
    }
    let pool: Vec<usize> = (0..labels.len()).collect();
    Ok(draw_stratified(labels, &pool, n, &mut rng(seed)).0)
}

/// Stratified k-fold: `k` (train, validation) index pairs covering every index once as validation.
pub fn stratified_k_fold(
    labels: &Array1<u8>,
    k: usize,
    seed: u64,
) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
    if k < 2 || k > labels.len() {
        return Err(Error::param(
            "k",
            format!(
                "k-fold needs 2 ≤ k ≤ {} (the number of samples), got k = {k}",
                labels.len()
            ),
        ));
    }
    let folds = stratified_split(labels, &vec![1.0 / k as f64; k], seed)?;
    Ok((0..k)
        .map(|i| {
            let train = folds
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .flat_map(|(_, f)| f.iter().copied())
                .collect();
            (train, folds[i].clone())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(n_per_class: usize) -> Array1<u8> {
        (0..10 * n_per_class).map(|i| (i % 10) as u8).collect()
    }

    #[test]
    fn split_sizes_are_exact_and_stratified() {
        let y = labels(700);
        let parts = stratified_split(&y, &[0.75, 0.125, 0.125], 1).expect("valid split");
        let sizes: Vec<usize> = parts.iter().map(|p| p.len()).collect();
        assert_eq!(sizes, vec![5250, 875, 875]);
        for p in &parts {
            let mut counts = [0usize; 10];
            p.iter().for_each(|&i| counts[y[i] as usize] += 1);
            let expected = p.len() / 10;
            assert!(
                counts.iter().all(|&c| c.abs_diff(expected) <= 1),
                "{counts:?}"
            );
        }
        let mut all: Vec<usize> = parts.concat();
        all.sort_unstable();
        assert_eq!(all, (0..7000).collect::<Vec<_>>());
    }

    #[test]
    fn same_seed_same_indices_other_seed_other_indices() {
        let y = labels(100);
        let a = stratified_split(&y, &[0.9, 0.1], 42).expect("split");
        let b = stratified_split(&y, &[0.9, 0.1], 42).expect("split");
        let c = stratified_split(&y, &[0.9, 0.1], 43).expect("split");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(stratified_subset(&y, 37, 5).expect("subset").len(), 37);
    }

    #[test]
    fn bad_fractions_are_errors() {
        let y = labels(10);
        assert!(stratified_split(&y, &[0.5, 0.6], 0).is_err());
        assert!(stratified_split(&y, &[1.0], 0).is_err());
        assert!(stratified_split(&y, &[f64::NAN, 1.0], 0).is_err());
        assert!(stratified_subset(&y, 0, 0).is_err());
        assert!(stratified_subset(&y, 101, 0).is_err());
    }

    #[test]
    fn k_fold_covers_every_index_once() {
        let y = labels(30);
        let folds = stratified_k_fold(&y, 3, 0).expect("folds");
        let mut val: Vec<usize> = folds.iter().flat_map(|(_, v)| v.clone()).collect();
        val.sort_unstable();
        assert_eq!(val, (0..300).collect::<Vec<_>>());
        assert!(folds.iter().all(|(t, v)| t.len() + v.len() == 300));
    }
}

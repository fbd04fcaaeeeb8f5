//! Argmax with the crate's one tie rule: the first maximum wins (as NumPy's `argmax`).

use ndarray::Array2;

use ndarray::Array1;

/// Index of the largest value; ties (and NaN, which is never larger) go to the first index.
pub fn first_max_index<T: PartialOrd + Copy>(values: impl IntoIterator<Item = T>) -> usize {
    let mut values = values.into_iter().enumerate();
    let Some((_, mut best_value)) = values.next() else {
        return 0;
    };
    let mut best = 0;
    for (i, v) in values {
        if v > best_value {
            (best, best_value) = (i, v);
        }
    }
    best
}

/// Index of each row's largest value; NaN rows give 0 (as a diverged Keras model predicts).
pub fn argmax_rows(x: &Array2<f32>) -> Array1<u8> {
    x.rows()
        .into_iter()
        .map(|row| first_max_index(row.iter().copied()) as u8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn first_maximum_wins_and_nan_never_does() {
        assert_eq!(first_max_index([1.0, 3.0, 3.0]), 1);
        assert_eq!(first_max_index([f32::NAN, 1.0]), 0);
        assert_eq!(first_max_index(Vec::<f32>::new()), 0);
        assert_eq!(
            argmax_rows(&array![[0.0, 2.0], [5.0, 5.0]]).to_vec(),
            vec![1, 0]
        );
    }
}

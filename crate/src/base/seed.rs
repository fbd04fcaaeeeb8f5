//! Seeded random streams. One generator (ChaCha8: the same numbers on every platform and
//! version), and one rule for the independent streams a seed feeds (dropout masks, augmentation).

use rand::seq::SliceRandom;
use rand::SeedableRng;
pub use rand_chacha::ChaCha8Rng;

/// The crate's seeded random generator.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The independent random streams one training seed feeds, each with its own salt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeedStream {
    /// The dropout masks of layer `i` of a model.
    DropoutLayer(usize),
    /// The random transforms of training images.
    Augmentation,
}

/// The seed of stream `stream` of `seed`: `seed` XOR the stream's salt (the salts are the ones
/// every earlier release used, so the same seed still gives the same numbers).
pub fn derive_seed(seed: u64, stream: SeedStream) -> u64 {
    match stream {
        SeedStream::DropoutLayer(i) => seed ^ (0x9E37_79B9 + i as u64),
        SeedStream::Augmentation => seed ^ 0x5EED_A06E,
    }
}

/// A seeded permutation of `0..n` (for shuffling mini-batches and folds).
pub fn permutation(n: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(rng);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_and_repeat() {
        let a = derive_seed(42, SeedStream::DropoutLayer(0));
        assert_ne!(a, derive_seed(42, SeedStream::DropoutLayer(1)));
        assert_ne!(a, derive_seed(42, SeedStream::Augmentation));
        assert_eq!(permutation(10, &mut rng(3)), permutation(10, &mut rng(3)));
    }
}

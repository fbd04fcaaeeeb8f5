//! The bottom of the pipeline: small helpers every layer above uses (argmax, seeded random
//! streams). It imports nothing of the crate but the error type, so any module may use it.

pub mod accuracy;
pub mod argmax;
pub mod params;
pub mod seed;

pub use accuracy::accuracy;
pub use argmax::{argmax_rows, first_max_index};
pub use params::Checked;
pub use seed::{derive_seed, permutation, rng, SeedStream};

//! The network engine, written by hand on ndarray (report 003 requires it): layers with forward
//! and backward passes, activations, initialisers, the softmax cross-entropy loss, a sequential
//! model builder with a Keras-style summary. Convolutions, pooling and batch normalisation work on
//! NHWC image rows (see [`conv`]). Training lives in [`crate::train`].

pub mod activation;
mod alloc;
pub mod conv;
pub mod gradcheck;
pub mod init;
pub mod layers;
pub mod model;
pub mod norm;
mod parallel;
pub mod pool;
mod saved;

pub use activation::Activation;
pub use conv::{Conv2d, Padding};
pub use gradcheck::{check_gradients, numeric_gradient, GradientCheck};
pub use init::Initializer;
pub use layers::{
    argmax_rows, softmax, softmax_cross_entropy, Dense, Dropout, Flatten, Layer, Param,
};
pub use model::{LayerSpec, Model, Sequential};
pub use norm::BatchNorm;
pub use pool::{GlobalAvgPool, Pool2d, PoolKind};

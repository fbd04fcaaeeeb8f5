//! The network engine, written by hand on ndarray (report 003 requires it): layers with forward
//! and backward passes, activations, initialisers, the softmax cross-entropy loss, a sequential
//! model builder with a Keras-style summary. Convolutions, pooling and batch normalisation work on
//! NHWC image rows (see [`conv`]). Training lives in [`crate::train`].

pub mod activation;
mod alloc;
pub mod bf16;
pub mod conv;
pub mod dense;
pub mod dropout;
pub mod gradcheck;
pub mod init;
pub mod layer;
pub mod loss;
pub mod model;
pub mod norm;
mod parallel;
pub use parallel::in_pool;
pub(crate) use parallel::keep_work_on_this_thread;
pub(crate) use parallel::{dot, gemm_acc, parts_for, ranges};
pub mod pool;
mod saved;
pub mod sequential;
mod simd;
mod subnormal;
pub use subnormal::FlushSubnormals;
pub mod zoo;

pub use crate::base::argmax_rows;
pub use activation::Activation;
pub use bf16::{bf16_available, Products};
pub use conv::{Conv2d, Padding};
pub use dense::Dense;
pub use dropout::{Dropout, Flatten};
pub use gradcheck::{check_gradients, numeric_gradient, GradientCheck};
pub use init::Initializer;
pub use layer::{Layer, Param};
pub use loss::{softmax, softmax_cross_entropy, LOSS_EPSILON};
pub use model::{Classification, Model};
pub use norm::BatchNorm;
pub use pool::{GlobalAvgPool, Pool2d, PoolKind};
pub use sequential::{LayerSpec, Sequential};

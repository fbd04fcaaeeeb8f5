//! The network engine, written by hand on ndarray (report 003 requires it): layers with forward
//! and backward passes, activations, initialisers, the softmax cross-entropy loss, a sequential
//! model builder with a Keras-style summary. Training lives in [`crate::train`].

pub mod activation;
pub mod init;
pub mod layers;
pub mod model;

pub use activation::Activation;
pub use init::Initializer;
pub use layers::{
    argmax_rows, softmax, softmax_cross_entropy, Dense, Dropout, Flatten, Layer, Param,
};
pub use model::{LayerSpec, Model, Sequential};

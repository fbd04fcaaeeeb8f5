//! The layer trait of the network engine and the trainable parameter. Activations flow as
//! `Array2<f32>`: one row per sample, the sample's values flattened (images as height × width ×
//! channels, "NHWC", Keras' `channels_last`), so Flatten costs nothing and every layer's heavy
//! work is a matrix product.

use ndarray::Array2;
use rand_chacha::ChaCha8Rng;

/// A trainable tensor and its gradient (same shape). `decay` marks weights that an L2 penalty
/// applies to (not biases, as in scikit-learn and Keras' kernel_regularizer).
#[derive(Clone, Debug)]
pub struct Param {
    pub value: Array2<f32>,
    pub grad: Array2<f32>,
    pub decay: bool,
}

impl Param {
    pub fn new(value: Array2<f32>, decay: bool) -> Self {
        let grad = Array2::zeros(value.raw_dim());
        Self { value, grad, decay }
    }
}

/// One layer. `forward` is the training pass (dropout masks, batch statistics) and keeps what
/// `backward` needs; `infer` is the prediction pass and keeps nothing.
pub trait Layer: Send + Sync + std::fmt::Debug {
    /// Keras' class name, for the summary.
    fn kind(&self) -> String;
    /// Output shape of one sample.
    fn output_shape(&self) -> Vec<usize>;
    fn forward(&mut self, x: &Array2<f32>) -> Array2<f32>;
    /// `forward` of a batch the caller gives away (the model's training pass, from the second
    /// layer on): a layer that keeps its input for `backward` keeps this one instead of a copy,
    /// and a layer that only reshapes or scales returns it. A convolution's input is megabytes a
    /// batch; copying it was a tenth of report 001's CNN step (bench cnn-profile).
    fn forward_owned(&mut self, x: Array2<f32>) -> Array2<f32> {
        self.forward(&x)
    }
    fn infer(&self, x: &Array2<f32>) -> Array2<f32>;
    /// Takes ∂loss/∂output, fills the parameters' gradients, returns ∂loss/∂input.
    fn backward(&mut self, grad: &Array2<f32>) -> Array2<f32>;
    /// `backward` of a gradient the caller gives away: a layer may reuse its buffer.
    fn backward_owned(&mut self, grad: Array2<f32>) -> Array2<f32> {
        self.backward(&grad)
    }
    fn params(&self) -> Vec<&Param> {
        Vec::new()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        Vec::new()
    }
    /// Values that are saved but not trained (batch-norm moving statistics).
    fn buffers(&self) -> Vec<&Array2<f32>> {
        Vec::new()
    }
    fn buffers_mut(&mut self) -> Vec<&mut Array2<f32>> {
        Vec::new()
    }
    /// The random stream a layer draws from in training (dropout's masks): a stopped training
    /// resumes exactly only if it continues where it stood.
    fn rng(&self) -> Option<&ChaCha8Rng> {
        None
    }
    fn rng_mut(&mut self) -> Option<&mut ChaCha8Rng> {
        None
    }
    fn non_trainable(&self) -> usize {
        self.buffers().iter().map(|b| b.len()).sum()
    }
    fn clone_box(&self) -> Box<dyn Layer>;
    /// The arithmetic of the layer's matrix products, for layers that offer a choice (the
    /// convolutions); others ignore it.
    fn set_products(&mut self, _products: super::bf16::Products) {}
    /// The arithmetic of the layer's matrix products, for layers that offer a choice.
    fn products(&self) -> Option<super::bf16::Products> {
        None
    }
}

impl Clone for Box<dyn Layer> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

//! Layers of the network engine. Activations flow as `Array2<f32>`: one row per sample, the
//! sample's values flattened (images as height × width × channels, "NHWC", Keras'
//! `channels_last`), so Flatten costs nothing and every layer's heavy work is a matrix product.

use ndarray::{Array1, Array2, Axis};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::activation::Activation;
use super::init::Initializer;
use super::parallel;

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

/// One layer. `forward` keeps what `backward` needs; `infer` keeps nothing (prediction).
pub trait Layer: Send + Sync + std::fmt::Debug {
    /// Keras' class name, for the summary.
    fn kind(&self) -> String;
    /// Output shape of one sample.
    fn output_shape(&self) -> Vec<usize>;
    fn forward(&mut self, x: &Array2<f32>, training: bool) -> Array2<f32>;
    fn infer(&self, x: &Array2<f32>) -> Array2<f32>;
    /// Takes ∂loss/∂output, fills the parameters' gradients, returns ∂loss/∂input.
    fn backward(&mut self, grad: &Array2<f32>) -> Array2<f32>;
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
    fn non_trainable(&self) -> usize {
        self.buffers().iter().map(|b| b.len()).sum()
    }
    fn clone_box(&self) -> Box<dyn Layer>;
}

impl Clone for Box<dyn Layer> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// Fully connected: y = f(xW + b).
#[derive(Clone, Debug)]
pub struct Dense {
    pub weight: Param,
    pub bias: Param,
    pub activation: Activation,
    /// False for the first layer: nothing needs ∂loss/∂input there, so it is not computed.
    pub input_grad: bool,
    input: Option<Array2<f32>>,
    pre_activation: Option<Array2<f32>>,
}

impl Dense {
    pub fn new(
        inputs: usize,
        units: usize,
        activation: Activation,
        init: Initializer,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        Self {
            weight: Param::new(init.sample(inputs, units, inputs, units, rng), true),
            bias: Param::new(Array2::zeros((1, units)), false),
            activation,
            input_grad: true,
            input: None,
            pre_activation: None,
        }
    }

    fn affine(&self, x: &Array2<f32>) -> Array2<f32> {
        let mut z = parallel::dot(&x.view(), &self.weight.value.view());
        z += &self.bias.value;
        z
    }
}

impl Layer for Dense {
    fn kind(&self) -> String {
        "Dense".into()
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![self.weight.value.ncols()]
    }

    fn forward(&mut self, x: &Array2<f32>, training: bool) -> Array2<f32> {
        let z = self.affine(x);
        let out = self.activation.forward(&z);
        if training {
            self.input = Some(x.clone());
            self.pre_activation = Some(z);
        }
        out
    }

    fn infer(&self, x: &Array2<f32>) -> Array2<f32> {
        self.activation.forward(&self.affine(x))
    }

    fn backward(&mut self, grad: &Array2<f32>) -> Array2<f32> {
        let (Some(x), Some(z)) = (self.input.take(), self.pre_activation.take()) else {
            // forward(training = true) always precedes backward in the training loop.
            return Array2::zeros((grad.nrows(), self.weight.value.nrows()));
        };
        let mut g = grad.clone();
        self.activation.backward_in_place(&z, &mut g);
        self.weight.grad = parallel::t_dot(&x.view(), &g.view());
        self.bias.grad = g.sum_axis(Axis(0)).insert_axis(Axis(0));
        if !self.input_grad {
            return Array2::zeros((g.nrows(), 0));
        }
        parallel::dot(&g.view(), &self.weight.value.t())
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.weight, &self.bias]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.weight, &mut self.bias]
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

/// Inverted dropout: in training, zero each value with probability `rate` and scale the rest by
/// 1/(1 − rate), so inference needs no rescaling.
#[derive(Clone, Debug)]
pub struct Dropout {
    pub rate: f32,
    shape: Vec<usize>,
    rng: ChaCha8Rng,
    mask: Option<Array2<f32>>,
}

impl Dropout {
    pub fn new(rate: f32, shape: Vec<usize>, rng: ChaCha8Rng) -> Self {
        Self {
            rate,
            shape,
            rng,
            mask: None,
        }
    }
}

impl Layer for Dropout {
    fn kind(&self) -> String {
        "Dropout".into()
    }

    fn output_shape(&self) -> Vec<usize> {
        self.shape.clone()
    }

    fn forward(&mut self, x: &Array2<f32>, training: bool) -> Array2<f32> {
        if !training || self.rate <= 0.0 {
            self.mask = None;
            return x.clone();
        }
        let keep = 1.0 - self.rate;
        let scale = 1.0 / keep;
        let rng = &mut self.rng;
        let mask = Array2::from_shape_simple_fn(x.raw_dim(), || {
            if rng.gen::<f32>() < keep {
                scale
            } else {
                0.0
            }
        });
        let out = x * &mask;
        self.mask = Some(mask);
        out
    }

    fn infer(&self, x: &Array2<f32>) -> Array2<f32> {
        x.clone()
    }

    fn backward(&mut self, grad: &Array2<f32>) -> Array2<f32> {
        match self.mask.take() {
            Some(mask) => grad * &mask,
            None => grad.clone(),
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

/// Flatten: a no-op on our row layout, kept so summaries read like Keras'.
#[derive(Clone, Debug)]
pub struct Flatten {
    pub size: usize,
}

impl Layer for Flatten {
    fn kind(&self) -> String {
        "Flatten".into()
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![self.size]
    }

    fn forward(&mut self, x: &Array2<f32>, _training: bool) -> Array2<f32> {
        x.clone()
    }

    fn infer(&self, x: &Array2<f32>) -> Array2<f32> {
        x.clone()
    }

    fn backward(&mut self, grad: &Array2<f32>) -> Array2<f32> {
        grad.clone()
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

/// Row-wise softmax (stable: the row maximum is subtracted first).
pub fn softmax(logits: &Array2<f32>) -> Array2<f32> {
    let mut out = logits.clone();
    for mut row in out.rows_mut() {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row /= sum;
    }
    out
}

/// Probabilities are clipped to [ε, 1 − ε] before the log (as Keras and report 003), so one
/// confident mistake cannot make the loss infinite.
pub const LOSS_EPSILON: f32 = 1e-7;

/// Mean softmax cross-entropy of logits against class labels, and its gradient p − y (÷ n).
pub fn softmax_cross_entropy(logits: &Array2<f32>, labels: &Array1<u8>) -> (f32, Array2<f32>) {
    let n = logits.nrows().max(1) as f32;
    let mut probs = softmax(logits);
    let mut loss = 0.0f64;
    for (mut row, &label) in probs.rows_mut().into_iter().zip(labels) {
        let p = row[label as usize].clamp(LOSS_EPSILON, 1.0 - LOSS_EPSILON);
        loss -= f64::from(p.ln());
        row[label as usize] -= 1.0;
    }
    probs /= n;
    ((loss / f64::from(n)) as f32, probs)
}

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

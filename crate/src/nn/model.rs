//! A sequential model, built like Keras' `Sequential([...])`, with a Keras-style summary.

use ndarray::{s, Array1, Array2};
use polars::prelude::*;

use super::activation::Activation;
use super::init::Initializer;
use super::layers::{
    argmax_rows, softmax, softmax_cross_entropy, Dense, Dropout, Flatten, Layer, Param,
};
use crate::data::split::rng;
use crate::error::{Error, Result};
use crate::viz::Table;

/// One layer as written in the model's definition.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerSpec {
    Flatten,
    Dense {
        units: usize,
        activation: Activation,
        init: Initializer,
    },
    Dropout {
        rate: f32,
    },
}

/// The definition of a sequential model: input shape and layers, built with a seed.
///
/// ```
/// use fashion_lab::nn::{Activation, Sequential};
/// let model = Sequential::new(&[28, 28])
///     .flatten()
///     .dense(128, Activation::Relu)
///     .dense(10, Activation::Linear)
///     .build(42)
///     .unwrap();
/// assert_eq!(model.n_params(), 101_770);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Sequential {
    pub input_shape: Vec<usize>,
    pub layers: Vec<LayerSpec>,
    init: Initializer,
}

impl Sequential {
    /// A model taking samples of this shape (e.g. `[784]` or `[28, 28]`).
    pub fn new(input_shape: &[usize]) -> Self {
        Self {
            input_shape: input_shape.to_vec(),
            layers: Vec::new(),
            init: Initializer::GlorotUniform,
        }
    }

    /// The kernel initialiser of the dense layers added after this call (default glorot_uniform).
    pub fn init(mut self, init: Initializer) -> Self {
        self.init = init;
        self
    }

    pub fn flatten(mut self) -> Self {
        self.layers.push(LayerSpec::Flatten);
        self
    }

    pub fn dense(mut self, units: usize, activation: Activation) -> Self {
        let init = self.init;
        self.layers.push(LayerSpec::Dense {
            units,
            activation,
            init,
        });
        self
    }

    pub fn dropout(mut self, rate: f32) -> Self {
        self.layers.push(LayerSpec::Dropout { rate });
        self
    }

    /// An MLP: `hidden` layers of the given widths with one activation, then `outputs` logits.
    pub fn mlp(
        inputs: usize,
        hidden: &[usize],
        activation: Activation,
        dropout: f32,
        outputs: usize,
    ) -> Self {
        let mut model = Sequential::new(&[inputs]);
        for &units in hidden {
            model = model.dense(units, activation);
            if dropout > 0.0 {
                model = model.dropout(dropout);
            }
        }
        model.dense(outputs, Activation::Linear)
    }

    /// Checks the definition and creates the layers, weights drawn from `seed`.
    pub fn build(&self, seed: u64) -> Result<Model> {
        if self.input_shape.is_empty() || self.input_shape.contains(&0) {
            return Err(Error::invalid(format!(
                "input shape {:?} must be non-empty with no zero",
                self.input_shape
            )));
        }
        if self.layers.is_empty() {
            return Err(Error::invalid("the model has no layers"));
        }
        let mut rng = rng(seed);
        let mut shape = self.input_shape.clone();
        let mut layers: Vec<Box<dyn Layer>> = Vec::with_capacity(self.layers.len());
        for (i, spec) in self.layers.iter().enumerate() {
            let size: usize = shape.iter().product();
            let layer: Box<dyn Layer> = match *spec {
                LayerSpec::Flatten => Box::new(Flatten { size }),
                LayerSpec::Dense {
                    units,
                    activation,
                    init,
                } => {
                    if units == 0 {
                        return Err(Error::invalid(format!(
                            "layer {}: a Dense layer needs at least one unit",
                            i + 1
                        )));
                    }
                    if shape.len() != 1 {
                        return Err(Error::invalid(format!(
                            "layer {}: Dense needs flat input, got shape {shape:?}; add .flatten() before it",
                            i + 1
                        )));
                    }
                    Box::new(Dense::new(size, units, activation, init, &mut rng))
                }
                LayerSpec::Dropout { rate } => {
                    if !(0.0..1.0).contains(&rate) {
                        return Err(Error::invalid(format!(
                            "layer {}: dropout rate must be in [0, 1), got {rate}",
                            i + 1
                        )));
                    }
                    Box::new(Dropout::new(
                        rate,
                        shape.clone(),
                        crate::data::split::rng(seed ^ (0x9E37_79B9 + i as u64)),
                    ))
                }
            };
            shape = layer.output_shape();
            layers.push(layer);
        }
        Ok(Model {
            spec: self.clone(),
            layers,
            seed,
        })
    }
}

/// A built model: layers with their weights.
#[derive(Clone, Debug)]
pub struct Model {
    pub spec: Sequential,
    pub layers: Vec<Box<dyn Layer>>,
    pub seed: u64,
}

/// Rows predicted at once (bounds memory for large sets).
const PREDICT_BATCH: usize = 2048;

impl Model {
    /// Number of values per input sample.
    pub fn input_size(&self) -> usize {
        self.spec.input_shape.iter().product()
    }

    pub fn n_classes(&self) -> usize {
        self.layers
            .last()
            .map_or(0, |l| l.output_shape().iter().product())
    }

    fn check_input(&self, x: &Array2<f32>) -> Result<()> {
        if x.ncols() != self.input_size() {
            return Err(Error::Mismatch(format!(
                "the model takes {} values per sample (shape {:?}), got {}",
                self.input_size(),
                self.spec.input_shape,
                x.ncols()
            )));
        }
        Ok(())
    }

    /// Forward pass in training mode (dropout on), keeping what backward needs.
    pub fn forward_train(&mut self, x: &Array2<f32>) -> Array2<f32> {
        let mut layers = self.layers.iter_mut();
        let Some(first) = layers.next() else {
            return x.clone();
        };
        let mut h = first.forward(x, true);
        for layer in layers {
            h = layer.forward(&h, true);
        }
        h
    }

    /// Backward pass from ∂loss/∂logits; fills every parameter's gradient.
    pub fn backward(&mut self, grad: &Array2<f32>) {
        let mut layers = self.layers.iter_mut().rev();
        let Some(last) = layers.next() else {
            return;
        };
        let mut g = last.backward(grad);
        for layer in layers {
            g = layer.backward(&g);
        }
    }

    /// Logits for each row, in inference mode.
    pub fn logits(&self, x: &Array2<f32>) -> Result<Array2<f32>> {
        self.check_input(x)?;
        let mut out = Array2::<f32>::zeros((x.nrows(), self.n_classes()));
        let mut start = 0;
        while start < x.nrows() {
            let end = (start + PREDICT_BATCH).min(x.nrows());
            let mut h = x.slice(s![start..end, ..]).to_owned();
            for layer in &self.layers {
                h = layer.infer(&h);
            }
            out.slice_mut(s![start..end, ..]).assign(&h);
            start = end;
        }
        Ok(out)
    }

    /// Class probabilities (softmax of the logits).
    pub fn predict_proba(&self, x: &Array2<f32>) -> Result<Array2<f32>> {
        Ok(softmax(&self.logits(x)?))
    }

    /// The most probable class of each row.
    pub fn predict(&self, x: &Array2<f32>) -> Result<Array1<u8>> {
        Ok(argmax_rows(&self.logits(x)?))
    }

    /// Mean cross-entropy and accuracy on a labelled set.
    pub fn evaluate(&self, x: &Array2<f32>, labels: &Array1<u8>) -> Result<(f32, f64)> {
        if x.nrows() != labels.len() {
            return Err(Error::Mismatch(format!(
                "{} rows but {} labels",
                x.nrows(),
                labels.len()
            )));
        }
        let logits = self.logits(x)?;
        let (loss, _) = softmax_cross_entropy(&logits, labels);
        let acc = crate::eval::accuracy(&argmax_rows(&logits), labels)?;
        Ok((loss, acc))
    }

    pub fn params(&self) -> Vec<&Param> {
        self.layers.iter().flat_map(|l| l.params()).collect()
    }

    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.layers
            .iter_mut()
            .flat_map(|l| l.params_mut())
            .collect()
    }

    /// Trainable parameters.
    pub fn n_trainable(&self) -> usize {
        self.params().iter().map(|p| p.value.len()).sum()
    }

    /// All parameters (trainable and not), as Keras' "Total params".
    pub fn n_params(&self) -> usize {
        self.n_trainable() + self.layers.iter().map(|l| l.non_trainable()).sum::<usize>()
    }

    /// A copy of every parameter's values (for restoring the best epoch).
    pub fn weights(&self) -> Vec<Array2<f32>> {
        self.params().iter().map(|p| p.value.clone()).collect()
    }

    pub fn set_weights(&mut self, weights: &[Array2<f32>]) -> Result<()> {
        let mut params = self.params_mut();
        if params.len() != weights.len()
            || params
                .iter()
                .zip(weights)
                .any(|(p, w)| p.value.dim() != w.dim())
        {
            return Err(Error::Mismatch(
                "these weights belong to a model of another shape".into(),
            ));
        }
        for (p, w) in params.iter_mut().zip(weights) {
            p.value.assign(w);
        }
        Ok(())
    }

    /// Keras-style summary: layer, output shape, parameter count, and the totals.
    pub fn summary(&self) -> Result<Table> {
        let mut names = Vec::new();
        let mut shapes = Vec::new();
        let mut counts = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            names.push(format!("{} {}", layer.kind(), i + 1));
            let dims: Vec<String> = layer.output_shape().iter().map(|d| d.to_string()).collect();
            shapes.push(format!("(None, {})", dims.join(", ")));
            counts.push(
                (layer.params().iter().map(|p| p.value.len()).sum::<usize>()
                    + layer.non_trainable()) as u64,
            );
        }
        let frame = DataFrame::new(
            names.len(),
            vec![
                Column::new("layer".into(), names),
                Column::new("output shape".into(), shapes),
                Column::new("params".into(), counts),
            ],
        )?;
        Ok(Table::new(frame).titled(format!(
            "Total params: {} · trainable: {} · non-trainable: {}",
            self.n_params(),
            self.n_trainable(),
            self.n_params() - self.n_trainable()
        )))
    }
}

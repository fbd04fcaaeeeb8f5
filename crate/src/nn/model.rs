//! A sequential model, built like Keras' `Sequential([...])`, with a Keras-style summary.

use ndarray::{s, Array1, Array2};
use polars::prelude::*;

use serde::{Deserialize, Serialize};

use super::activation::Activation;
use super::conv::{Conv2d, Geometry, Padding};
use super::init::Initializer;
use super::layers::{
    argmax_rows, softmax, softmax_cross_entropy, Dense, Dropout, Flatten, Layer, Param,
};
use super::norm::BatchNorm;
use super::pool::{GlobalAvgPool, Pool2d, PoolKind};
use crate::data::split::rng;
use crate::error::{Error, Result};
use crate::viz::Table;

/// One layer as written in the model's definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    Conv2d {
        filters: usize,
        kernel: usize,
        stride: usize,
        padding: Padding,
        activation: Activation,
        init: Initializer,
    },
    MaxPool2d {
        size: usize,
        stride: usize,
    },
    AvgPool2d {
        size: usize,
        stride: usize,
    },
    GlobalAvgPool2d,
    BatchNorm {
        momentum: f32,
        epsilon: f32,
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

    /// The kernel initialiser of the dense and convolution layers added after this call
    /// (default glorot_uniform, as Keras).
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

    /// Keras `Conv2D(filters, (kernel, kernel), activation=…, padding=…)`, stride 1.
    pub fn conv2d(
        self,
        filters: usize,
        kernel: usize,
        activation: Activation,
        padding: Padding,
    ) -> Self {
        self.conv2d_strided(filters, kernel, 1, activation, padding)
    }

    /// Keras `Conv2D(…, strides=(stride, stride))`.
    pub fn conv2d_strided(
        mut self,
        filters: usize,
        kernel: usize,
        stride: usize,
        activation: Activation,
        padding: Padding,
    ) -> Self {
        let init = self.init;
        self.layers.push(LayerSpec::Conv2d {
            filters,
            kernel,
            stride,
            padding,
            activation,
            init,
        });
        self
    }

    /// Keras `MaxPooling2D((size, size))` (stride = size).
    pub fn max_pool(mut self, size: usize) -> Self {
        self.layers
            .push(LayerSpec::MaxPool2d { size, stride: size });
        self
    }

    /// Keras `AveragePooling2D((size, size))` (stride = size).
    pub fn avg_pool(mut self, size: usize) -> Self {
        self.layers
            .push(LayerSpec::AvgPool2d { size, stride: size });
        self
    }

    /// Keras `GlobalAveragePooling2D()`.
    pub fn global_avg_pool(mut self) -> Self {
        self.layers.push(LayerSpec::GlobalAvgPool2d);
        self
    }

    /// Keras `BatchNormalization()` (momentum 0.99, ε 0.001).
    pub fn batch_norm(mut self) -> Self {
        self.layers.push(LayerSpec::BatchNorm {
            momentum: 0.99,
            epsilon: 1e-3,
        });
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
        super::alloc::keep_large_blocks_in_heap();
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
                LayerSpec::Conv2d {
                    filters,
                    kernel,
                    stride,
                    padding,
                    activation,
                    init,
                } => {
                    if filters == 0 {
                        return Err(Error::invalid(format!(
                            "layer {}: a Conv2D layer needs at least one filter",
                            i + 1
                        )));
                    }
                    let geometry =
                        Geometry::new(image_shape(&shape, i, "Conv2D")?, kernel, stride, padding)
                            .map_err(|e| in_layer(e, i, "Conv2D"))?;
                    let mut conv = Conv2d::new(geometry, filters, activation, init, &mut rng);
                    conv.input_grad = i > 0;
                    Box::new(conv)
                }
                LayerSpec::MaxPool2d { size: k, stride }
                | LayerSpec::AvgPool2d { size: k, stride } => {
                    let kind = if matches!(spec, LayerSpec::MaxPool2d { .. }) {
                        PoolKind::Max
                    } else {
                        PoolKind::Average
                    };
                    let geometry = Geometry::new(
                        image_shape(&shape, i, "pooling")?,
                        k,
                        stride,
                        Padding::Valid,
                    )
                    .map_err(|e| in_layer(e, i, "pooling"))?;
                    Box::new(Pool2d::new(kind, geometry))
                }
                LayerSpec::GlobalAvgPool2d => {
                    let (h, w, c) = image_shape(&shape, i, "GlobalAveragePooling2D")?;
                    Box::new(GlobalAvgPool {
                        pixels: h * w,
                        channels: c,
                    })
                }
                LayerSpec::BatchNorm { momentum, epsilon } => {
                    if !(0.0..1.0).contains(&momentum) || epsilon.is_nan() || epsilon <= 0.0 {
                        return Err(Error::invalid(format!(
                            "layer {}: BatchNormalization needs momentum in [0, 1) and epsilon > 0, got {momentum} and {epsilon}",
                            i + 1
                        )));
                    }
                    Box::new(BatchNorm::new(shape.clone(), momentum, epsilon))
                }
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
                    let mut dense = Dense::new(size, units, activation, init, &mut rng);
                    dense.input_grad = i > 0;
                    Box::new(dense)
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

/// (height, width, channels) of an image-shaped layer input; `[h, w]` counts as one channel.
fn image_shape(shape: &[usize], i: usize, what: &str) -> Result<(usize, usize, usize)> {
    match *shape {
        [h, w] => Ok((h, w, 1)),
        [h, w, c] => Ok((h, w, c)),
        _ => Err(Error::invalid(format!(
            "layer {}: {what} needs image input (height, width, channels), got shape {shape:?}; \
             give the model an input shape like [28, 28, 1] and put Flatten after the image layers",
            i + 1
        ))),
    }
}

fn in_layer(e: Error, i: usize, what: &str) -> Error {
    match e {
        Error::InvalidParameter(msg) => Error::invalid(format!("layer {} ({what}): {msg}", i + 1)),
        other => other,
    }
}

/// What a model makes of one picture.
#[derive(Clone, Debug, PartialEq)]
pub struct Classification {
    pub class: usize,
    pub name: &'static str,
    pub confidence: f32,
    /// One probability per class.
    pub probabilities: Vec<f32>,
    /// The 28×28 pixels the model saw, row by row.
    pub input: Vec<u8>,
}

/// A built model: layers with their weights.
#[derive(Clone, Debug)]
pub struct Model {
    pub spec: Sequential,
    pub layers: Vec<Box<dyn Layer>>,
    pub seed: u64,
}

/// Rows predicted at once (bounds memory: a convolution holds every receptive field of its batch).
const PREDICT_BATCH: usize = 128;

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

    /// A labelled batch the model can train or be checked on: at least one row, one label per
    /// row, the model's input width, labels within its outputs. `what` names the rows in errors.
    pub(crate) fn check_labelled(
        &self,
        x: &Array2<f32>,
        labels: &Array1<u8>,
        what: &str,
    ) -> Result<()> {
        if x.nrows() != labels.len() || x.nrows() == 0 {
            return Err(Error::Mismatch(format!(
                "{} {what} rows and {} labels: one label per row is needed, and at least one row",
                x.nrows(),
                labels.len()
            )));
        }
        self.check_input(x)?;
        if let Some(&bad) = labels.iter().find(|&&l| l as usize >= self.n_classes()) {
            return Err(Error::invalid(format!(
                "label {bad} does not fit the model's {} outputs",
                self.n_classes()
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
        self.outputs_of(x, self.layers.len())
    }

    /// Inference through the first `n_layers` layers only: what those layers output for each row.
    pub fn outputs_of(&self, x: &Array2<f32>, n_layers: usize) -> Result<Array2<f32>> {
        self.check_input(x)?;
        if n_layers == 0 || n_layers > self.layers.len() {
            return Err(Error::invalid(format!(
                "the model has {} layers; ask for the outputs of 1 to {} of them",
                self.layers.len(),
                self.layers.len()
            )));
        }
        let width: usize = self.layers[n_layers - 1].output_shape().iter().product();
        let mut out = Array2::<f32>::zeros((x.nrows(), width));
        let mut start = 0;
        while start < x.nrows() {
            let end = (start + PREDICT_BATCH).min(x.nrows());
            let mut h = x.slice(s![start..end, ..]).to_owned();
            for layer in &self.layers[..n_layers] {
                h = layer.infer(&h);
            }
            out.slice_mut(s![start..end, ..]).assign(&h);
            start = end;
        }
        Ok(out)
    }

    /// Feature extraction: the activations feeding the last layer (a trained CNN's penultimate
    /// layer), one row per input row — a dataset to train another classifier on.
    pub fn features(&self, x: &Array2<f32>) -> Result<Array2<f32>> {
        if self.layers.len() < 2 {
            return Err(Error::invalid(
                "feature extraction needs a model of at least two layers",
            ));
        }
        self.outputs_of(x, self.layers.len() - 1)
    }

    /// Class probabilities (softmax of the logits).
    pub fn predict_proba(&self, x: &Array2<f32>) -> Result<Array2<f32>> {
        Ok(softmax(&self.logits(x)?))
    }

    /// Classifies a user's own PNG or JPEG picture of one item: converted as the dataset was made
    /// ([`crate::prep::picture`]), scaled to [0, 1], then predicted.
    pub fn classify_image(&self, path: impl AsRef<std::path::Path>) -> Result<Classification> {
        if self.input_size() != 784 || self.n_classes() != crate::data::CLASS_NAMES.len() {
            return Err(Error::Mismatch(format!(
                "classify_image needs a Fashion-MNIST model (784 inputs, 10 classes); this one takes {} and gives {}",
                self.input_size(),
                self.n_classes()
            )));
        }
        let input = crate::prep::picture::load_as_fashion_mnist(path)?;
        let x = Array2::from_shape_fn((1, 784), |(_, j)| f32::from(input[j]) / 255.0);
        let probabilities: Vec<f32> = self.predict_proba(&x)?.row(0).to_vec();
        let class = super::layers::first_max_index(probabilities.iter().copied());
        Ok(Classification {
            class,
            name: crate::data::CLASS_NAMES[class],
            confidence: probabilities[class],
            probabilities,
            input,
        })
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

    /// A copy of every weight, trainable parameters first, then the non-trainable ones (batch-norm
    /// moving statistics), as Keras' `get_weights()` — for restoring the best epoch and saving.
    pub fn weights(&self) -> Vec<Array2<f32>> {
        let params = self.params().into_iter().map(|p| p.value.clone());
        let buffers = self.layers.iter().flat_map(|l| l.buffers()).cloned();
        params.chain(buffers).collect()
    }

    pub fn set_weights(&mut self, weights: &[Array2<f32>]) -> Result<()> {
        let current = self.weights();
        if current.len() != weights.len()
            || current.iter().zip(weights).any(|(c, w)| c.dim() != w.dim())
        {
            return Err(Error::Mismatch(
                "these weights belong to a model of another shape".into(),
            ));
        }
        let mut source = weights.iter();
        for (p, w) in self.params_mut().into_iter().zip(source.by_ref()) {
            p.value.assign(w);
        }
        for layer in self.layers.iter_mut() {
            for (b, w) in layer.buffers_mut().into_iter().zip(source.by_ref()) {
                b.assign(w);
            }
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

//! The model builder, like Keras' `Sequential([...])`: a list of layer specs, checked and built
//! into a [`Model`] with seeded initial weights.

use serde::{Deserialize, Serialize};

use super::activation::Activation;
use super::bf16::Products;
use super::conv::{Conv2d, Geometry, Padding};
use super::dense::Dense;
use super::dropout::{Dropout, Flatten};
use super::init::Initializer;
use super::layer::Layer;
use super::model::Model;
use super::norm::BatchNorm;
use super::pool::{GlobalAvgPool, Pool2d, PoolKind};
use rand_chacha::ChaCha8Rng;

use crate::base::{derive_seed, rng, SeedStream};
use crate::error::{Error, Result};

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
impl LayerSpec {
    /// Keras' class name of the layer.
    pub fn keras_name(&self) -> &'static str {
        match self {
            LayerSpec::Flatten => "Flatten",
            LayerSpec::Dense { .. } => "Dense",
            LayerSpec::Dropout { .. } => "Dropout",
            LayerSpec::Conv2d { .. } => "Conv2D",
            LayerSpec::MaxPool2d { .. } => "MaxPooling2D",
            LayerSpec::AvgPool2d { .. } => "AveragePooling2D",
            LayerSpec::GlobalAvgPool2d => "GlobalAveragePooling2D",
            LayerSpec::BatchNorm { .. } => "BatchNormalization",
        }
    }
}

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
            let layer = build_layer(spec, i, self.relu_into_max_pool(i), &shape, seed, &mut rng)
                .map_err(|e| Error::InLayer {
                    layer: i + 1,
                    kind: spec.keras_name().into(),
                    source: Box::new(e),
                })?;
            shape = layer.output_shape();
            layers.push(layer);
        }
        let mut model = Model {
            spec: self.clone(),
            layers,
            seed,
            preprocessing: None,
        };
        model.set_products(Products::preferred());
        Ok(model)
    }
}

/// Where a ReLU convolution hands its output straight to max pooling, and so the pooling's
/// backward applies ReLU's derivative for it (`Conv2d::relu_by_pool`, `Pool2d::after_relu`).
#[derive(Clone, Copy, Debug, Default)]
struct ReluIntoMaxPool {
    /// This layer is the convolution.
    before: bool,
    /// This layer is the pooling.
    after: bool,
}

impl Sequential {
    fn relu_into_max_pool(&self, i: usize) -> ReluIntoMaxPool {
        let pair = |conv: usize| {
            matches!(
                self.layers.get(conv),
                Some(LayerSpec::Conv2d {
                    activation: Activation::Relu,
                    ..
                })
            ) && matches!(self.layers.get(conv + 1), Some(LayerSpec::MaxPool2d { .. }))
        };
        ReluIntoMaxPool {
            before: pair(i),
            after: i > 0 && pair(i - 1),
        }
    }
}

/// Layer `i` (0-based) of a model, given its input shape; weights drawn from `rng`.
fn build_layer(
    spec: &LayerSpec,
    i: usize,
    relu_into_max_pool: ReluIntoMaxPool,
    shape: &[usize],
    seed: u64,
    rng: &mut ChaCha8Rng,
) -> Result<Box<dyn Layer>> {
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
                return Err(Error::invalid("a Conv2D layer needs at least one filter"));
            }
            let geometry = Geometry::new(image_shape(shape, "Conv2D")?, kernel, stride, padding)?;
            let mut conv = Conv2d::new(geometry, filters, activation, init, rng);
            conv.input_grad = i > 0;
            conv.relu_by_pool = relu_into_max_pool.before;
            Box::new(conv)
        }
        LayerSpec::MaxPool2d { size: k, stride } | LayerSpec::AvgPool2d { size: k, stride } => {
            let kind = if matches!(spec, LayerSpec::MaxPool2d { .. }) {
                PoolKind::Max
            } else {
                PoolKind::Average
            };
            let geometry =
                Geometry::new(image_shape(shape, "pooling")?, k, stride, Padding::Valid)?;
            let mut pool = Pool2d::new(kind, geometry);
            pool.after_relu = relu_into_max_pool.after;
            Box::new(pool)
        }
        LayerSpec::GlobalAvgPool2d => {
            let (h, w, c) = image_shape(shape, "GlobalAveragePooling2D")?;
            Box::new(GlobalAvgPool {
                pixels: h * w,
                channels: c,
            })
        }
        LayerSpec::BatchNorm { momentum, epsilon } => {
            if !(0.0..1.0).contains(&momentum) || epsilon.is_nan() || epsilon <= 0.0 {
                return Err(Error::invalid(format!(
                    "BatchNormalization needs momentum in [0, 1) and epsilon > 0, got {momentum} and {epsilon}"
                )));
            }
            Box::new(BatchNorm::new(shape.to_vec(), momentum, epsilon))
        }
        LayerSpec::Dense {
            units,
            activation,
            init,
        } => {
            if units == 0 {
                return Err(Error::invalid("a Dense layer needs at least one unit"));
            }
            if shape.len() != 1 {
                return Err(Error::invalid(format!(
                    "Dense needs flat input, got shape {shape:?}; add .flatten() before it"
                )));
            }
            let mut dense = Dense::new(size, units, activation, init, rng);
            dense.input_grad = i > 0;
            Box::new(dense)
        }
        LayerSpec::Dropout { rate } => {
            if !(0.0..1.0).contains(&rate) {
                return Err(Error::invalid(format!(
                    "dropout rate must be in [0, 1), got {rate}"
                )));
            }
            Box::new(Dropout::new(
                rate,
                shape.to_vec(),
                crate::base::rng(derive_seed(seed, SeedStream::DropoutLayer(i))),
            ))
        }
    };
    Ok(layer)
}

/// (height, width, channels) of an image-shaped layer input; `[h, w]` counts as one channel.
fn image_shape(shape: &[usize], what: &str) -> Result<(usize, usize, usize)> {
    match *shape {
        [h, w] => Ok((h, w, 1)),
        [h, w, c] => Ok((h, w, c)),
        _ => Err(Error::invalid(format!(
            "{what} needs image input (height, width, channels), got shape {shape:?}; \
             give the model an input shape like [28, 28, 1] and put Flatten after the image layers"
        ))),
    }
}

//! A built model: layers with their weights; inference, evaluation and weight access.

use ndarray::{s, Array2};

use super::layer::{Layer, Param};
use super::loss::{softmax, softmax_cross_entropy};
use super::sequential::Sequential;
use crate::base::{argmax_rows, first_max_index};
use crate::error::{Error, Result};
use crate::prep::{LabelledSet, Preprocessing};

/// What a model makes of one picture. Serialised as the server's and `fashion-lab classify
/// --json`'s answer: `{"class", "name", "confidence", "probabilities", "input"}`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
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
    /// How raw pixels became the inputs it was trained on (set by `train::fit` from its training
    /// set; saved with the model), so [`Model::classify_image`] scales a picture the same way.
    pub preprocessing: Option<Preprocessing>,
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
            return Err(Error::shape(
                "values per sample given to the model",
                self.input_size(),
                x.ncols(),
                format!(
                    "The model's input shape is {:?}; give it rows of that many values",
                    self.spec.input_shape
                ),
            ));
        }
        Ok(())
    }

    /// A labelled set the model can train or be checked on: at least one row, the model's
    /// input width, labels within its outputs. `what` names the set in errors.
    pub(crate) fn check_labelled(&self, set: &LabelledSet, what: &str) -> Result<()> {
        if set.is_empty() {
            return Err(Error::invalid(format!(
                "the {what} set is empty: give at least one row"
            )));
        }
        self.check_input(set.features())?;
        if let Some(&bad) = set
            .labels()
            .iter()
            .find(|&&l| l as usize >= self.n_classes())
        {
            return Err(Error::invalid(format!(
                "label {bad} of the {what} set does not fit the model's {} outputs",
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
        let mut h = first.forward(x);
        for layer in layers {
            h = layer.forward_owned(h);
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
            g = layer.backward_owned(g);
        }
    }

    /// Logits for each row, in inference mode.
    pub fn logits(&self, x: &Array2<f32>) -> Result<Array2<f32>> {
        self.outputs_of(x, self.layers.len())
    }

    /// Inference through the first `n_layers` layers only: what those layers output for each row.
    pub fn outputs_of(&self, x: &Array2<f32>, n_layers: usize) -> Result<Array2<f32>> {
        self.check_input(x)?;
        let _flush = super::FlushSubnormals::new();
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

    /// Classifies a user's own PNG or JPEG picture of one item: converted as the dataset was made
    /// ([`crate::prep::picture`]), scaled as the model's training data was (its
    /// [`Model::preprocessing`]), then predicted.
    pub fn classify_image(&self, path: impl AsRef<std::path::Path>) -> Result<Classification> {
        let path = path.as_ref();
        self.check_classifies_pictures()?;
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        self.classify_picture(&bytes, path)
    }

    /// [`Model::classify_image`] on a picture's bytes already in memory (an upload to the
    /// server); `name` only names it in errors. The same conversion and scaling.
    pub fn classify_picture(
        &self,
        bytes: &[u8],
        name: impl AsRef<std::path::Path>,
    ) -> Result<Classification> {
        let preprocessing = self.check_classifies_pictures()?;
        let input = crate::prep::picture::bytes_as_fashion_mnist(bytes, name)?;
        let pixels = Array2::from_shape_fn((1, 784), |(_, j)| f32::from(input[j]));
        let x = preprocessing.apply(&pixels)?;
        let probabilities: Vec<f32> = softmax(&self.logits(&x)?).row(0).to_vec();
        let class = first_max_index(probabilities.iter().copied());
        Ok(Classification {
            class,
            name: crate::data::CLASS_NAMES[class],
            confidence: probabilities[class],
            probabilities,
            input,
        })
    }

    /// A Fashion-MNIST model that records its input scaling (what classifying a picture needs),
    /// else the error saying how to make one.
    pub fn check_classifies_pictures(&self) -> Result<&Preprocessing> {
        if self.input_size() != 784 || self.n_classes() != crate::data::CLASS_NAMES.len() {
            return Err(Error::invalid(format!(
                "classify_image needs a Fashion-MNIST model (784 inputs, 10 classes); this one takes {} and gives {}",
                self.input_size(),
                self.n_classes()
            )));
        }
        let Some(preprocessing) = &self.preprocessing else {
            return Err(Error::invalid(
                "this model does not record how its inputs were scaled (it was not trained by \
                 train::fit on a scaled set): set `model.preprocessing = Some(Preprocessing::Divide255)` \
                 (or the scaling it was trained with) before classifying pictures",
            ));
        };
        Ok(preprocessing)
    }

    /// Mean cross-entropy and accuracy on a labelled set.
    pub fn evaluate(&self, set: &LabelledSet) -> Result<(f32, f64)> {
        self.check_labelled(set, "evaluation")?;
        let logits = self.logits(set.features())?;
        let (loss, _) = softmax_cross_entropy(&logits, set.labels());
        let acc = crate::base::accuracy(&argmax_rows(&logits), set.labels())?;
        Ok((loss, acc))
    }

    /// The arithmetic of the convolutions' products: [`Products::Bf16`] rounds their inputs to
    /// bf16 (sums stay f32) where the CPU has AVX-512 BF16. A model starts with
    /// [`Products::preferred`]: bf16 where the CPU has AMX, else f32.
    pub fn set_products(&mut self, products: super::Products) {
        for layer in &mut self.layers {
            layer.set_products(products);
        }
    }

    /// The arithmetic of the convolutions' products (see [`Model::set_products`]); `None` for a
    /// model without convolutions, whose arithmetic it does not change.
    pub fn products(&self) -> Option<super::Products> {
        self.layers.iter().find_map(|layer| layer.products())
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

    /// How far each random stream of the model (dropout's masks, layer by layer) has been
    /// drawn: with [`Model::set_rng_positions`], a stopped training continues exactly.
    pub fn rng_positions(&self) -> Vec<u128> {
        self.layers
            .iter()
            .filter_map(|l| l.rng())
            .map(|r| r.get_word_pos())
            .collect()
    }

    pub fn set_rng_positions(&mut self, positions: &[u128]) -> Result<()> {
        let mut streams: Vec<_> = self.layers.iter_mut().filter_map(|l| l.rng_mut()).collect();
        if streams.len() != positions.len() {
            return Err(Error::shape(
                "random streams (dropout layers)",
                streams.len(),
                positions.len(),
                "These positions belong to a model of another architecture",
            ));
        }
        for (rng, &at) in streams.iter_mut().zip(positions) {
            rng.set_word_pos(at);
        }
        Ok(())
    }

    pub fn set_weights(&mut self, weights: &[Array2<f32>]) -> Result<()> {
        let current = self.weights();
        if current.len() != weights.len()
            || current.iter().zip(weights).any(|(c, w)| c.dim() != w.dim())
        {
            return Err(Error::shape(
                "weights of matching shapes",
                current.len(),
                weights.len(),
                "These weights belong to a model of another architecture",
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
}

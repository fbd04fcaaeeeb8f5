//! Report 003 (`notebooks/04-mlp-from-scratch-and-cnn-backbone.ipynb`): an MLP trained by
//! mini-batch gradient descent and four experiments on it, the final MLP, a five-layer CNN
//! backbone study, and CNN features classified by the MLP.

use ndarray::{Array2, Axis};

use crate::error::{Error, Result};
use crate::eval::runs::Run;
use crate::nn::{self, zoo, Activation, Layer, LayerSpec, Model, Param};
use crate::prep::LabelledSet;
use crate::train::sweep::{describe_labels, labels, SweepData};
use crate::train::{fit, EarlyStopping, Optimizer, TrainConfig};

crate::protocol_settings! {
    /// Report 003's settings. Its own: the 70,000 images split 80 / 10 / 10, mini-batch gradient
    /// descent at lr 0.01 with batch 128, 80 epochs per MLP of experiments 1–4, 100 for the final
    /// MLP, 10 epochs per CNN (its Table 3). Classroom trains fewer epochs and the CNN study on a
    /// subset; the table at the top of the notebook lists each difference.
    pub struct Settings {
        /// seed of the split, the weights, the batches and the dropout masks
        seed: u64 = (42, 42, 42),
        /// learning rate of every network (the report: 0.01)
        lr: f32 = (0.01, 0.01, 0.01),
        /// images per batch of every network (the report: 128)
        batch: usize = (128, 128, 128),
        /// the slope of Leaky ReLU below 0 (the report's alpha)
        leaky_alpha: f32 = (0.01, 0.01, 0.01),
        /// the from-scratch MLP: training images and epochs of its short run
        scratch_images: usize = (1_000, 5_000, 5_000),
        /// the from-scratch MLP: epochs of its short run
        scratch_epochs: usize = (1, 3, 3),
        /// experiment 1 (32 MLPs): epochs
        exp1_epochs: usize = (1, 8, 80),
        /// experiment 1: training images (none: the whole training split)
        exp1_images: Option<usize> = (Some(1_000), Some(10_000), None),
        /// experiment 2 (activations per layer): epochs
        exp2_epochs: usize = (1, 12, 80),
        /// experiment 3 (Table 1): epochs
        exp3_epochs: usize = (1, 12, 80),
        /// experiment 4 (dropout): epochs
        exp4_epochs: usize = (1, 12, 80),
        /// experiment 4: seeds, each rate trained once per seed (the report: one run)
        exp4_seeds: Vec<u64> = (vec![42], vec![42], vec![42]),
        /// the final MLP (Table 2): epochs
        final_epochs: usize = (2, 15, 100),
        /// the CNN study (12 backbones): epochs each
        cnn_epochs: usize = (1, 3, 10),
        /// the CNN study: training images (none: the whole training split)
        cnn_images: Option<usize> = (Some(500), Some(2_000), None),
        /// the CNN + inbuilt MLP whose features the custom MLP classifies: epochs
        feature_epochs: usize = (1, 3, 10),
        /// the CNN + inbuilt MLP: training images (none: the whole training split)
        feature_images: Option<usize> = (Some(1_000), Some(20_000), None),
        /// the custom MLP on CNN features: epochs
        head_epochs: usize = (2, 20, 80),
        /// the custom MLP on the features of the random and the study-trained CNN: training images
        variant_images: Option<usize> = (Some(1_000), Some(10_000), None),
    }
}

impl Settings {
    /// The report's training: mini-batch gradient descent (SGD without momentum) at `lr`,
    /// `batch` images a step, a fresh shuffle each epoch. The weights kept are those of the epoch
    /// with the best validation accuracy (the notebook's section 2 says why); nothing stops early.
    pub fn gd_config(&self, epochs: usize) -> TrainConfig {
        TrainConfig::default()
            .epochs(epochs)
            .batch_size(self.batch)
            .optimizer(Optimizer::sgd().with_lr(self.lr))
            .seed(self.seed)
            .verbose(false)
            .early_stopping(EarlyStopping::best_val_accuracy_epoch())
    }

    /// The CNNs' training: SGD with momentum 0.9 at `lr`, `batch` images a step, `epochs`
    /// epochs (plain gradient descent barely moves five convolutions in a few epochs; the report
    /// names no optimiser and cites PyTorch's CIFAR-10 tutorial, whose this is). Verbose: a CNN
    /// takes minutes an epoch on the whole split, so its epoch lines show it moving.
    pub fn cnn_config(&self, epochs: usize) -> TrainConfig {
        TrainConfig::default()
            .epochs(epochs)
            .batch_size(self.batch)
            .optimizer(Optimizer::Sgd {
                lr: self.lr,
                momentum: 0.9,
                nesterov: false,
            })
            .seed(self.seed)
    }

    /// The four hidden-layer activations of experiment 1, in the report's order.
    pub fn activations(&self) -> [Activation; 4] {
        [
            Activation::Relu,
            Activation::LeakyRelu(self.leaky_alpha),
            Activation::Gelu,
            Activation::Elu(1.0),
        ]
    }
}

/// An MLP's labels as the experiments' tables show them: the experiment, hidden layers, neurons
/// of the first, the activations (one name when all are the same) and the dropout rate.
pub fn mlp_labels(
    experiment: &str,
    hidden: &[usize],
    activations: &[Activation],
    dropout: f32,
) -> Vec<(String, String)> {
    let names: Vec<String> = activations.iter().map(|a| short_name(*a)).collect();
    let activation = if names.windows(2).all(|w| w[0] == w[1]) {
        names.first().cloned().unwrap_or_default()
    } else {
        names.join(", ")
    };
    labels(&[
        ("experiment", experiment),
        ("layers", &hidden.len().to_string()),
        ("neurons", &hidden.first().copied().unwrap_or(0).to_string()),
        ("activation", &activation),
        ("dropout", &dropout.to_string()),
    ])
}

/// An activation's name without its parameter (`leaky_relu`, not `leaky_relu(0.01)`).
pub fn short_name(activation: Activation) -> String {
    let name = activation.name();
    name.split('(').next().unwrap_or(&name).to_string()
}

/// Trains `model` on `data.train` with `config`, validating on `data.validation`, and scores it
/// on `data.test`: a run with `labels`, the metrics `val_accuracy` (of the epoch whose weights it
/// keeps), `test_loss`, `test_accuracy`, `epoch_kept`, `epochs`, `params` and `train_seconds`, and its
/// history. Prints one line.
pub fn train_run(
    labels: &[(String, String)],
    mut model: Model,
    data: &SweepData,
    config: &TrainConfig,
) -> Result<(Model, Run)> {
    let validation = data.validation.as_ref().ok_or_else(|| {
        Error::invalid("report 003's runs keep their best validation epoch: give the SweepData a validation set (with_validation)")
    })?;
    let history = fit(&mut model, &data.train, Some(validation), config)?;
    let (loss, accuracy) = model.evaluate(&data.test)?;
    let kept = history.kept();
    let mut run = Run::new(config.seed);
    for (k, v) in labels {
        run = run.label(k, v);
    }
    let run = run
        .metric(
            "val_accuracy",
            kept.and_then(|e| e.val_accuracy).unwrap_or(f64::NAN),
        )
        .metric("test_loss", f64::from(loss))
        .metric("test_accuracy", accuracy)
        .metric("epoch_kept", kept.map_or(f64::NAN, |e| e.epoch as f64))
        .metric("epochs", history.epochs.len() as f64)
        .metric("params", model.n_params() as f64)
        .metric("train_seconds", history.seconds())
        .with_history(history);
    println!(
        "{:<44} val {:.4} · test {accuracy:.4} · weights of epoch {}/{} · {:.1} s",
        describe_labels(labels),
        run.value("val_accuracy").unwrap_or(f64::NAN),
        run.value("epoch_kept").unwrap_or(f64::NAN),
        run.value("epochs").unwrap_or(f64::NAN),
        run.value("train_seconds").unwrap_or(f64::NAN),
    );
    Ok((model, run))
}

/// The three sets as a network's first `layers` layers see them: the features the custom MLP is
/// trained on (every layer but the output layer of a CNN; dropout is off outside training).
pub fn features_of(model: &Model, layers: usize, data: &SweepData) -> Result<SweepData> {
    let map = |set: &LabelledSet| set.map_features(|x| model.outputs_of(x, layers));
    let mut out = SweepData::new(map(&data.train)?, map(&data.test)?);
    if let Some(val) = &data.validation {
        out = out.with_validation(map(val)?);
    }
    Ok(out)
}

/// The custom MLP on `inputs` features: two hidden ReLU layers of 256 and 128, He / Xavier.
pub fn head_mlp(inputs: usize) -> nn::Sequential {
    zoo::report_003_mlp(inputs, &[256, 128], &[Activation::Relu; 2], 0.0)
}

/// The same model (same weights) with each (Dropout, Dense) pair made one layer that computes
/// its output from the unmasked input while its weight gradient and the gradient it passes back
/// see the mask: a reading of the report's section 4.1 in which dropout never thins the forward
/// pass, only the gradients (the notebook's section 6.1). Not dropout: use `nn::Dropout` for that.
pub fn mask_in_gradients_only(mut model: Model) -> Result<Model> {
    let specs: Vec<LayerSpec> = model.spec.layers.clone();
    let mut layers: Vec<Box<dyn Layer>> = Vec::new();
    let mut dropout: Option<Box<dyn Layer>> = None;
    for (layer, spec) in model.layers.drain(..).zip(&specs) {
        match (spec, dropout.take()) {
            (LayerSpec::Dropout { .. }, before) => {
                layers.extend(before);
                dropout = Some(layer);
            }
            (LayerSpec::Dense { activation, .. }, Some(mask)) => {
                let params = layer.params();
                let [weight, bias] = params.as_slice() else {
                    return Err(Error::invalid("a dense layer has a weight and a bias"));
                };
                layers.push(Box::new(MaskedGradientDense {
                    dropout: mask,
                    weight: (*weight).clone(),
                    bias: (*bias).clone(),
                    activation: *activation,
                    cache: None,
                }));
            }
            (_, before) => {
                layers.extend(before);
                layers.push(layer);
            }
        }
    }
    layers.extend(dropout);
    model.layers = layers;
    Ok(model)
}

/// A dense layer behind dropout whose output ignores the mask and whose gradients see it.
#[derive(Clone, Debug)]
struct MaskedGradientDense {
    dropout: Box<dyn Layer>,
    weight: Param,
    bias: Param,
    activation: Activation,
    /// The masked input and the pre-activation of the last training batch.
    cache: Option<(Array2<f32>, Array2<f32>)>,
}

impl Layer for MaskedGradientDense {
    fn kind(&self) -> String {
        "Dense (mask in gradients only)".into()
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![self.weight.value.ncols()]
    }

    fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        let z = x.dot(&self.weight.value) + &self.bias.value;
        self.cache = Some((self.dropout.forward(x), z.clone()));
        self.activation.forward(&z)
    }

    fn infer(&self, x: &Array2<f32>) -> Array2<f32> {
        self.activation
            .forward(&(x.dot(&self.weight.value) + &self.bias.value))
    }

    fn backward(&mut self, grad: &Array2<f32>) -> Array2<f32> {
        let Some((masked_input, z)) = self.cache.take() else {
            return Array2::zeros((grad.nrows(), self.weight.value.nrows()));
        };
        let mut g = grad.clone();
        self.activation.backward_in_place(&z, &mut g);
        self.weight.grad = masked_input.t().dot(&g);
        self.bias.grad = g.sum_axis(Axis(0)).insert_axis(Axis(0));
        self.dropout.backward(&g.dot(&self.weight.value.t()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Protocol;

    #[test]
    fn the_report_protocol_is_the_reports_own_settings() {
        let s = Settings::for_protocol(Protocol::Report);
        assert_eq!((s.lr, s.batch), (0.01, 128));
        assert_eq!(
            (s.exp1_epochs, s.exp2_epochs, s.exp3_epochs, s.exp4_epochs),
            (80, 80, 80, 80)
        );
        assert_eq!(
            (s.final_epochs, s.cnn_epochs, s.feature_epochs),
            (100, 10, 10)
        );
        assert_eq!(
            (
                s.exp1_images,
                s.cnn_images,
                s.feature_images,
                s.variant_images
            ),
            (None, None, None, None)
        );
        assert_eq!(s.gd_config(80).optimizer, Optimizer::sgd().with_lr(0.01));
        assert_eq!(s.cnn_config(s.cnn_epochs).batch_size, 128);
        assert_eq!(s.exp4_seeds, vec![42]);
    }

    #[test]
    fn labels_name_an_mlp_as_the_tables_do() {
        let s = Settings::for_protocol(Protocol::Classroom);
        let [relu, leaky, ..] = s.activations();
        assert_eq!(
            mlp_labels("1", &[256; 5], &[leaky; 5], 0.2),
            labels(&[
                ("experiment", "1"),
                ("layers", "5"),
                ("neurons", "256"),
                ("activation", "leaky_relu"),
                ("dropout", "0.2")
            ])
        );
        assert_eq!(
            mlp_labels("2", &[128, 64], &[relu, leaky], 0.0)[3].1,
            "relu, leaky_relu"
        );
    }

    #[test]
    fn masking_only_the_gradients_leaves_the_forward_pass_unthinned() -> Result<()> {
        let spec = zoo::report_003_mlp(6, &[5, 4], &[Activation::Relu; 2], 0.5);
        let plain = spec.build(3)?;
        let mut masked = mask_in_gradients_only(spec.build(3)?)?;
        assert_eq!(masked.n_params(), plain.n_params());
        let x = Array2::from_shape_fn((8, 6), |(i, j)| ((i * 7 + j) % 5) as f32 / 5.0);
        // Training mode gives inference's output: the masks never touch the forward pass.
        let train_out = masked.forward_train(&x);
        let infer_out = plain.logits(&x)?;
        let gap = (&train_out - &infer_out)
            .mapv(f32::abs)
            .fold(0.0f32, |a, &b| a.max(b));
        assert!(gap < 1e-6, "forward pass thinned: {gap}");
        // The gradients do see the masks: the same weights without dropout get other gradients.
        let mut unmasked = zoo::report_003_mlp(6, &[5, 4], &[Activation::Relu; 2], 0.0).build(3)?;
        unmasked.set_weights(&masked.weights())?;
        let g = Array2::from_shape_fn((8, 10), |(i, j)| ((i + 2 * j) % 3) as f32 - 1.0);
        for m in [&mut masked, &mut unmasked] {
            m.forward_train(&x);
            m.backward(&g);
        }
        let (a, b) = (&masked.params()[2].grad, &unmasked.params()[2].grad);
        assert!(a.iter().all(|v| v.is_finite()));
        let differ = a.iter().zip(b).any(|(p, q)| (p - q).abs() > 1e-6);
        assert!(
            differ,
            "the masks left the second layer's weight gradient unchanged"
        );
        Ok(())
    }
}

//! Report 004 (`notebooks/05-hyperparameter-sweeps.ipynb`): the TensorFlow tutorial's basic
//! classifier and one-at-a-time sweeps of its hyperparameters, every configuration trained with
//! several seeds and averaged.

use crate::nn::{zoo, Activation, Initializer, Sequential};
use crate::train::{Optimizer, TrainConfig};

crate::protocol_settings! {
    /// Report 004's settings. The report's own are its sections V–VI: 3 runs of each setting on
    /// the official 60,000 / 10,000 split, the tutorial's model trained 10 epochs at Keras'
    /// default batch of 32 with Adam at 0.001. Values the report lists without results (batch
    /// sizes, initialisers, neuron counts) are ours. Classroom runs every sweep with 2 seeds and
    /// without the 512-unit layer (measured here with it: 878 s for the whole notebook).
    pub struct Settings {
        /// training images (a stratified subset below 60,000)
        train_images: usize = (6_000, 60_000, 60_000),
        /// test images (a stratified subset below 10,000)
        test_images: usize = (1_000, 10_000, 10_000),
        /// seeds: each configuration trained once per seed, then averaged (the report: 3 runs)
        seeds: Vec<u64> = (vec![1, 2], vec![1, 2], vec![1, 2, 3]),
        /// epochs of the base model and of every sweep but the epochs sweep
        base_epochs: usize = (1, 10, 10),
        /// the epochs sweep (read off one run of the largest count per seed)
        epochs: Vec<usize> = (vec![1, 2, 3], vec![10, 25, 50, 75, 100], vec![10, 25, 50, 75, 100]),
        /// images per batch of the base model (Keras' default)
        batch_size: usize = (32, 32, 32),
        /// hidden units of the base model's Dense layer
        hidden: usize = (128, 128, 128),
        /// Adam's learning rate in the base model (Keras' default)
        learning_rate: f32 = (0.001, 0.001, 0.001),
        /// the dropout sweep: rate of a Dropout layer after the hidden layer (base: none)
        dropout_rates: Vec<f32> = (vec![0.001, 0.3, 0.8, 0.999], vec![0.001, 0.3, 0.8, 0.999], vec![0.001, 0.3, 0.8, 0.999]),
        /// the learning-rate sweep (Adam)
        learning_rates: Vec<f32> = (vec![0.001, 0.1, 1.0, 5.0], vec![0.001, 0.1, 1.0, 5.0], vec![0.001, 0.1, 1.0, 5.0]),
        /// the optimiser sweep, Keras' defaults of each (Adam is the base)
        optimizers: Vec<Optimizer> = (
            vec![Optimizer::adam(), Optimizer::sgd(), Optimizer::rmsprop(), Optimizer::adadelta()],
            vec![Optimizer::adam(), Optimizer::sgd(), Optimizer::rmsprop(), Optimizer::adadelta()],
            vec![Optimizer::adam(), Optimizer::sgd(), Optimizer::rmsprop(), Optimizer::adadelta()],
        ),
        /// the batch-size sweep (the report gives no values: ours)
        batch_sizes: Vec<usize> = (vec![16, 32, 64, 256], vec![16, 32, 64, 128, 256], vec![16, 32, 64, 128, 256]),
        /// the kernel-initialiser sweep (the report gives no values: ours)
        initializers: Vec<Initializer> = (
            vec![Initializer::GlorotUniform, Initializer::HeNormal, Initializer::Zeros],
            vec![Initializer::GlorotUniform, Initializer::HeNormal, Initializer::RandomNormal(0.05), Initializer::RandomUniform(0.05), Initializer::Zeros],
            vec![Initializer::GlorotUniform, Initializer::HeNormal, Initializer::RandomNormal(0.05), Initializer::RandomUniform(0.05), Initializer::Zeros],
        ),
        /// the activation sweep of the hidden layer (the report's list)
        activations: Vec<Activation> = (
            vec![Activation::Relu, Activation::Tanh, Activation::Sigmoid, Activation::HardSigmoid, Activation::Linear],
            vec![Activation::Relu, Activation::Tanh, Activation::Sigmoid, Activation::HardSigmoid, Activation::Linear],
            vec![Activation::Relu, Activation::Tanh, Activation::Sigmoid, Activation::HardSigmoid, Activation::Linear],
        ),
        /// the neuron-count sweep of the hidden layer (the report gives no values: ours)
        neurons: Vec<usize> = (vec![32, 128, 256], vec![32, 64, 128, 256], vec![32, 64, 128, 256, 512]),
    }
}

impl Settings {
    /// The base model with one thing changed: `zoo::report_004_base` with these settings'
    /// hidden units, ReLU, no dropout and Glorot-uniform weights unless given.
    pub fn base_model(&self) -> Sequential {
        zoo::report_004_base(
            self.hidden,
            Activation::Relu,
            None,
            Initializer::GlorotUniform,
        )
    }

    /// The base training: `base_epochs` epochs at `batch_size`, Adam at `learning_rate` with
    /// Keras' other defaults.
    pub fn base_config(&self) -> TrainConfig {
        TrainConfig::default()
            .epochs(self.base_epochs)
            .batch_size(self.batch_size)
            .optimizer(Optimizer::adam().with_lr(self.learning_rate))
            .verbose(false)
    }

    /// The epochs sweep's largest count (what each seed trains once).
    pub fn max_epochs(&self) -> usize {
        self.epochs
            .iter()
            .copied()
            .max()
            .unwrap_or(self.base_epochs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Protocol;

    #[test]
    fn the_report_protocol_is_the_reports_own_settings() {
        let s = Settings::for_protocol(Protocol::Report);
        assert_eq!((s.train_images, s.test_images), (60_000, 10_000));
        assert_eq!(s.seeds.len(), 3, "every test run three times");
        assert_eq!(
            (s.base_epochs, s.batch_size, s.learning_rate),
            (10, 32, 0.001)
        );
        assert_eq!(s.epochs, [10, 25, 50, 75, 100]);
        assert_eq!(s.dropout_rates, [0.001, 0.3, 0.8, 0.999]);
        assert_eq!(s.learning_rates, [0.001, 0.1, 1.0, 5.0]);
        let names: Vec<&str> = s.optimizers.iter().map(Optimizer::name).collect();
        assert_eq!(names, ["Adam", "SGD", "RMSprop", "Adadelta"]);
        let names: Vec<String> = s.activations.iter().map(Activation::name).collect();
        assert_eq!(names, ["relu", "tanh", "sigmoid", "hard_sigmoid", "linear"]);
        assert_eq!(s.base_config(), TrainConfig::default().verbose(false));
        assert_eq!(
            s.base_model().build(0).map(|m| m.n_params()).ok(),
            Some(101_770)
        );
        assert_eq!(s.max_epochs(), 100);
    }

    #[test]
    fn every_protocol_holds_the_base_in_each_sweep_it_reuses() {
        for p in Protocol::ALL {
            let s = Settings::for_protocol(p);
            assert!(
                s.epochs.contains(&s.base_epochs),
                "{p}: the epochs sweep holds the base"
            );
            assert!(s.learning_rates.contains(&s.learning_rate), "{p}");
            assert!(s.batch_sizes.contains(&s.batch_size), "{p}");
            assert!(s.neurons.contains(&s.hidden), "{p}");
            assert_eq!(s.optimizers[0], s.base_config().optimizer, "{p}");
            assert_eq!(s.initializers[0], Initializer::GlorotUniform, "{p}");
            assert_eq!(s.activations[0], Activation::Relu, "{p}");
        }
    }
}

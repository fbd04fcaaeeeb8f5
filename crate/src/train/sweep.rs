//! Repeats, sweeps, grids and k-fold cross-validation: the experiment loops of the reports, with
//! the training in the crate and the loop itself left to the notebook cell.
//!
//! A sweep in a cell reads as the report's algorithm:
//!
//! ```no_run
//! # use fashion_lab::train::sweep::{repeat, SweepData, Trial};
//! # use fashion_lab::{nn::zoo, Activation, Initializer, TrainConfig};
//! # fn demo(data: &SweepData) -> fashion_lab::error::Result<()> {
//! let mut trials: Vec<Trial> = Vec::new();
//! for rate in [0.001f32, 0.3, 0.8] {
//!     let spec = zoo::report_004_base(128, Activation::Relu, Some(rate), Initializer::GlorotUniform);
//!     let labels = [("sweep", "dropout"), ("value", &rate.to_string())];
//!     trials.extend(repeat(&labels, &spec, &TrainConfig::default(), &[1, 2, 3], data)?);
//! }
//! # Ok(()) }
//! ```
//!
//! The records, their grouping (mean, sd, count) and the report's numbers beside ours are in
//! `eval::runs`; their tables and bars in `viz`.

use super::{fit, side_by_side, History, Monitor, TrainConfig};
use crate::error::{Error, Result};
use crate::nn::Sequential;
use crate::prep::LabelledSet;

/// Names and values that say which configuration a run trained: `[("sweep", "dropout"),
/// ("value", "0.3")]`, or any named parameters (`[("batch", "128"), ("optimizer", "Adam")]`).
pub type Labels = Vec<(String, String)>;

/// Owned labels from borrowed pairs.
pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The data a repeat trains and tests on. Without a validation set, the test set is evaluated
/// after every epoch (as the TensorFlow tutorial's `validation_data=(test_images, test_labels)`),
/// so each epoch's test numbers are in the history; rules that stop or cut the learning rate on
/// validation numbers then refuse to run (nothing is tuned on the test set).
#[derive(Clone, Debug)]
pub struct SweepData {
    pub train: LabelledSet,
    pub validation: Option<LabelledSet>,
    pub test: LabelledSet,
}

impl SweepData {
    pub fn new(train: LabelledSet, test: LabelledSet) -> Self {
        Self {
            train,
            validation: None,
            test,
        }
    }

    /// Validate on `validation` after every epoch instead of testing (early stopping may watch it).
    pub fn with_validation(mut self, validation: LabelledSet) -> Self {
        self.validation = Some(validation);
        self
    }

    /// The same sets with the training set cut to a seeded, stratified subset of `n` images when
    /// `n` is given and smaller (a protocol's "none": all of them).
    pub fn with_train_at_most(&self, n: Option<usize>, seed: u64) -> Result<Self> {
        Ok(SweepData {
            train: self.train.at_most(n, seed)?,
            validation: self.validation.clone(),
            test: self.test.clone(),
        })
    }
}

/// One training of one configuration with one seed, tested.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    pub labels: Labels,
    /// The seed of the weights, the shuffling and the dropout masks.
    pub seed: u64,
    /// Mean cross-entropy on the test set, with the weights the model ends with (NaN if it diverged).
    pub test_loss: f64,
    pub test_accuracy: f64,
    /// Seconds of training (the sum of the epochs').
    pub train_seconds: f64,
    pub history: History,
    /// Whether the history's `val_*` numbers are the test set's (no validation set was given).
    pub tested_each_epoch: bool,
    /// Which training this is (its labels and seed); kept when [`Trial::at_epoch`] reads an
    /// earlier epoch of it, so the records can count trainings.
    pub trained_in: String,
}

impl Trial {
    /// This trial as it stood after `epochs` epochs, relabelled: test numbers of that epoch,
    /// training time of the first `epochs`, history cut there. A run of n epochs is the first n
    /// epochs of a longer run with the same seed (the shuffles come from one stream, the weights
    /// from the seed; checked by this module's tests), so an epochs sweep trains once, at its
    /// longest. Needs the test numbers of every epoch (no validation set) and no early stop.
    pub fn at_epoch(&self, epochs: usize, labels: &[(&str, &str)]) -> Result<Trial> {
        if !self.tested_each_epoch {
            return Err(Error::invalid(
                "this trial validated on a validation set, so its history has no test numbers per epoch: train each epoch count separately",
            ));
        }
        if epochs == 0 || epochs > self.history.epochs.len() || self.history.stopped_early {
            return Err(Error::param(
                "epochs",
                format!(
                    "the trial trained {} epochs{}: read an epoch between 1 and that",
                    self.history.epochs.len(),
                    if self.history.stopped_early {
                        " and stopped early (its weights are not those of a shorter run)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let record = self.history.epochs[epochs - 1];
        let mut history = self.history.clone();
        history.epochs.truncate(epochs);
        history.best_epoch = epochs;
        Ok(Trial {
            labels: self::labels(labels),
            seed: self.seed,
            test_loss: record.val_loss.unwrap_or(f64::NAN),
            test_accuracy: record.val_accuracy.unwrap_or(f64::NAN),
            train_seconds: history.seconds(),
            history,
            tested_each_epoch: true,
            trained_in: self.trained_in.clone(),
        })
    }

    /// `name=value` pairs joined by spaces (`sweep=dropout value=0.3`).
    pub fn describe(&self) -> String {
        describe_labels(&self.labels)
    }
}

/// `name=value` pairs joined by spaces.
pub fn describe_labels(labels: &[(String, String)]) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Trains `spec` with `config` once per seed, the seeds side by side (one training per core; see
/// [`side_by_side`]), and tests each: the seed builds the weights and drives the shuffling and
/// dropout (`config`'s own seed is replaced). Prints one line per finished training; the
/// trials come back in seed order, and each depends only on its seed, so the numbers are those of
/// one-at-a-time training.
pub fn repeat(
    labels: &[(&str, &str)],
    spec: &Sequential,
    config: &TrainConfig,
    seeds: &[u64],
    data: &SweepData,
) -> Result<Vec<Trial>> {
    if seeds.is_empty() {
        return Err(Error::param("seeds", "a repeat needs at least one seed"));
    }
    if data.validation.is_none() {
        let watched = [
            config.early_stopping.map(|r| r.monitor),
            config.reduce_lr.map(|r| r.monitor),
        ];
        if watched
            .into_iter()
            .flatten()
            .any(|m| m != Monitor::TrainLoss)
        {
            return Err(Error::invalid(
                "early stopping or learning-rate cuts watch validation numbers, and without a validation set those would be the test set's: add one with SweepData::with_validation",
            ));
        }
    }
    let owned = self::labels(labels);
    let name = describe_labels(&owned);
    side_by_side(seeds, |&seed| {
        let mut model = spec.build(seed)?;
        let watched = data.validation.as_ref().unwrap_or(&data.test);
        let history = fit(
            &mut model,
            &data.train,
            Some(watched),
            &config.seed(seed).verbose(false),
        )?;
        let (loss, accuracy) = model.evaluate(&data.test)?;
        let trial = Trial {
            labels: owned.clone(),
            seed,
            test_loss: f64::from(loss),
            test_accuracy: accuracy,
            train_seconds: history.seconds(),
            history,
            tested_each_epoch: data.validation.is_none(),
            trained_in: format!("{name}, seed {seed}"),
        };
        println!(
            "{name} · seed {seed}: test loss {:.4} · test accuracy {:.4} · {:.1} s",
            trial.test_loss, trial.test_accuracy, trial.train_seconds
        );
        Ok(trial)
    })
}

/// Mean, sample standard deviation (n − 1) and range of some numbers. NaN propagates (a
/// diverged run's loss makes the mean NaN: a result, not an error); sd is NaN below 2 numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub count: usize,
    pub mean: f64,
    pub sd: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    pub fn of(values: &[f64]) -> Stats {
        let n = values.len();
        let mean = if n == 0 {
            f64::NAN
        } else {
            values.iter().sum::<f64>() / n as f64
        };
        let sd = if n < 2 {
            f64::NAN
        } else if values.iter().all(|&v| v == values[0]) {
            // Equal values spread by nothing; the sum below would give rounding noise (1.7e-17).
            0.0
        } else {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        };
        let (min, max) = if n == 0 || values.iter().any(|v| v.is_nan()) {
            (f64::NAN, f64::NAN)
        } else {
            (
                values.iter().copied().fold(f64::INFINITY, f64::min),
                values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            )
        };
        Stats {
            count: n,
            mean,
            sd,
            min,
            max,
        }
    }

    /// The standard deviation with n in the denominator (scikit-learn's `std_test_score`).
    pub fn population_sd(&self) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        let n = self.count as f64;
        if self.count == 1 {
            0.0
        } else {
            self.sd * ((n - 1.0) / n).sqrt()
        }
    }
}

/// The scores of a k-fold cross-validation, one per fold in fold order, and their statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct CvScores {
    pub folds: Vec<f64>,
    pub stats: Stats,
}

impl CvScores {
    pub fn mean(&self) -> f64 {
        self.stats.mean
    }
    /// Sample sd (n − 1); `stats.population_sd()` is scikit-learn's.
    pub fn sd(&self) -> f64 {
        self.stats.sd
    }
}

/// Stratified k-fold cross-validation over `set` (`data::split::stratified_k_fold`, seeded):
/// `score(fit_part, held_out)` trains on k − 1 folds and scores the remaining one, for each fold.
pub fn cross_validate<F>(set: &LabelledSet, k: usize, seed: u64, score: F) -> Result<CvScores>
where
    F: Fn(&LabelledSet, &LabelledSet) -> Result<f64>,
{
    let mut folds = Vec::with_capacity(k);
    for (fit_idx, held_idx) in crate::data::split::stratified_k_fold(set.labels(), k, seed)? {
        folds.push(score(&set.select(&fit_idx)?, &set.select(&held_idx)?)?);
    }
    let stats = Stats::of(&folds);
    Ok(CvScores { folds, stats })
}

/// [`cross_validate`] of a network: `spec` built and trained with `config` (its seed for the
/// weights and the shuffling) on each fit part, scored by accuracy on the held-out fold.
pub fn cross_validate_network(
    spec: &Sequential,
    config: &TrainConfig,
    set: &LabelledSet,
    k: usize,
    seed: u64,
) -> Result<CvScores> {
    let config = config.verbose(false);
    cross_validate(set, k, seed, |fit_part, held_out| {
        let mut model = spec.build(config.seed)?;
        fit(&mut model, fit_part, None, &config)?;
        Ok(model.evaluate(held_out)?.1)
    })
}

/// A tuple of value lists whose cartesian product [`grid`] takes.
pub trait GridAxes {
    type Point;
    fn points(self) -> Vec<Self::Point>;
}

macro_rules! grid_axes {
    ($($axis:ident $values:ident),+) => {
        impl<$($axis),+> GridAxes for ($($axis,)+)
        where
            $($axis: IntoIterator, $axis::Item: Clone,)+
        {
            type Point = ($($axis::Item,)+);
            // The axis counter's last increment is never read: the tuple ends there.
            #[allow(unused_assignments)]
            fn points(self) -> Vec<Self::Point> {
                let ($($values,)+) = self;
                $(let $values: Vec<$axis::Item> = $values.into_iter().collect();)+
                let lens = [$($values.len()),+];
                let total: usize = lens.iter().product();
                // Stride of each axis: the product of the lengths after it (the last varies fastest).
                let strides: Vec<usize> = (0..lens.len()).map(|i| lens[i + 1..].iter().product()).collect();
                (0..total)
                    .map(|k| {
                        let mut axis = 0;
                        ($({
                            let i = (k / strides[axis]) % lens[axis];
                            axis += 1;
                            $values[i].clone()
                        },)+)
                    })
                    .collect()
            }
        }
    };
}

grid_axes!(A a);
grid_axes!(A a, B b);
grid_axes!(A a, B b, C c);
grid_axes!(A a, B b, C c, D d);
grid_axes!(A a, B b, C c, D d, E e);
grid_axes!(A a, B b, C c, D d, E e, F f);

/// Every combination of the axes' values (a grid search's configurations), as tuples, the first
/// axis varying slowest: `grid((vec![64, 128], vec![0.2, 0.5]))` is
/// `[(64, 0.2), (64, 0.5), (128, 0.2), (128, 0.5)]`. One to six axes; an empty axis, no points.
pub fn grid<G: GridAxes>(axes: G) -> Vec<G::Point> {
    axes.points()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{zoo, Activation, Initializer};
    use crate::prep::Scaler;

    #[test]
    fn grid_is_the_cartesian_product_first_axis_slowest() {
        let points = grid((vec![64usize, 128], vec![0.2f32, 0.5]));
        assert_eq!(points, vec![(64, 0.2), (64, 0.5), (128, 0.2), (128, 0.5)]);
        let three = grid((["a", "b"], 1..4, vec![true]));
        assert_eq!(three.len(), 6);
        assert_eq!(three[0], ("a", 1, true));
        assert_eq!(three[5], ("b", 3, true));
        assert!(grid((vec![1, 2], Vec::<u8>::new())).is_empty());
    }

    #[test]
    fn stats_are_mean_and_sample_sd_and_nan_propagates() {
        let s = Stats::of(&[0.8, 0.9, 1.0]);
        assert!((s.mean - 0.9).abs() < 1e-12);
        assert!((s.sd - 0.1).abs() < 1e-12, "sample sd, n − 1: {}", s.sd);
        assert!((s.population_sd() - (0.02f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!((s.min, s.max, s.count), (0.8, 1.0, 3));
        let one = Stats::of(&[0.5]);
        assert!(one.sd.is_nan() && one.mean == 0.5);
        assert_eq!(
            Stats::of(&[0.1; 3]).sd,
            0.0,
            "equal runs: no rounding noise"
        );
        assert!(Stats::of(&[0.3, f64::NAN]).mean.is_nan());
        assert!(Stats::of(&[]).mean.is_nan());
    }

    fn small_data(n_train: usize) -> (LabelledSet, LabelledSet) {
        let data = crate::data::FashionMnist::load().expect("Fashion-MNIST (make data)");
        let train = data.train.stratified_subset(n_train, 3).expect("subset");
        let test = data.test.stratified_subset(500, 3).expect("subset");
        (
            crate::prep::Scale255.labelled(&train).expect("scale"),
            crate::prep::Scale255.labelled(&test).expect("scale"),
        )
    }

    fn base() -> Sequential {
        zoo::report_004_base(32, Activation::Relu, None, Initializer::GlorotUniform)
    }

    #[test]
    fn repeats_follow_their_seeds_and_a_short_run_is_a_prefix_of_a_longer_one() {
        let (train, test) = small_data(1_500);
        let data = SweepData::new(train, test);
        let config = TrainConfig::default().epochs(4).batch_size(64);
        let value = 4.to_string();
        let trials = repeat(
            &[("sweep", "epochs"), ("value", &value)],
            &base(),
            &config,
            &[5, 6, 5],
            &data,
        )
        .expect("trials");
        assert_eq!(trials.iter().map(|t| t.seed).collect::<Vec<_>>(), [5, 6, 5]);
        assert_eq!(
            trials[0].test_loss, trials[2].test_loss,
            "same seed, same numbers"
        );
        assert_ne!(
            trials[0].test_loss, trials[1].test_loss,
            "another seed, other numbers"
        );
        assert!(trials.iter().all(|t| t.test_accuracy > 0.6), "it learns");
        assert_eq!(trials[0].describe(), "sweep=epochs value=4");
        // The test numbers after the last epoch are the ones the history holds.
        let last = trials[0].history.last().expect("4 epochs");
        assert_eq!(last.val_loss, Some(trials[0].test_loss));
        // A 2-epoch run with the same seed is the first two epochs of the 4-epoch one.
        let short = repeat(&[("epochs", "2")], &base(), &config.epochs(2), &[5], &data)
            .expect("short")
            .remove(0);
        let read = trials[0].at_epoch(2, &[("epochs", "2")]).expect("epoch 2");
        assert_eq!(read.test_loss, short.test_loss);
        assert_eq!(read.test_accuracy, short.test_accuracy);
        assert_eq!(read.history.epochs.len(), 2);
        assert_eq!(read.labels, labels(&[("epochs", "2")]));
        assert_eq!(read.trained_in, "sweep=epochs value=4, seed 5");
        assert!(trials[0].at_epoch(5, &[]).is_err());
        assert!(trials[0].at_epoch(0, &[]).is_err());
    }

    #[test]
    fn no_tuning_on_the_test_set_and_no_seeds_is_an_error() {
        let (train, test) = small_data(500);
        let data = SweepData::new(train.clone(), test.clone());
        let stopping = TrainConfig::default()
            .epochs(2)
            .early_stopping(super::super::EarlyStopping::val_loss(1));
        assert!(repeat(&[], &base(), &stopping, &[1], &data).is_err());
        assert!(repeat(&[], &base(), &TrainConfig::default(), &[], &data).is_err());
        let validated = SweepData::new(train, test.clone()).with_validation(test);
        let trial = repeat(&[], &base(), &stopping, &[1], &validated).expect("validated");
        assert!(
            trial[0].at_epoch(1, &[]).is_err(),
            "no test numbers per epoch"
        );
    }

    #[test]
    fn k_fold_scores_each_fold_once_and_summarises_them() {
        let (train, _) = small_data(900);
        let sizes = cross_validate(&train, 3, 1, |fit_part, held_out| {
            assert_eq!(fit_part.len() + held_out.len(), 900);
            Ok(held_out.len() as f64)
        })
        .expect("cv");
        assert_eq!(sizes.folds, vec![300.0; 3]);
        assert_eq!(sizes.sd(), 0.0);
        let config = TrainConfig::default().epochs(2).batch_size(64).seed(2);
        let scores = cross_validate_network(&base(), &config, &train, 3, 1).expect("cv");
        assert_eq!(scores.folds.len(), 3);
        assert!(scores.mean() > 0.55 && scores.mean() < 1.0, "{scores:?}");
        assert!(scores.sd() > 0.0 && scores.sd() < 0.1, "{scores:?}");
        let again = cross_validate_network(&base(), &config, &train, 3, 1).expect("cv");
        assert_eq!(scores, again, "same seeds, same scores");
        assert!(cross_validate_network(&base(), &config, &train, 1, 1).is_err());
    }
}

//! Training: seeded mini-batches, optimisers, early stopping, per-epoch history, progress lines.

pub mod callbacks;
mod checkpoint;
pub mod grid_search;
mod history;
pub mod optim;
pub mod store;
pub mod sweep;

use std::time::Instant;

use ndarray::{Array1, Array2, Axis};

pub use callbacks::{EarlyStopping, Monitor, ReduceLrOnPlateau};
pub use history::{EpochRecord, History};
pub use optim::{Optimizer, OptimizerState};
pub use store::{RunStore, RUNS_ENV};

use checkpoint::{CheckpointClock, Progress};

use crate::base::permutation;
use crate::error::{Error, Result};
use crate::nn::{argmax_rows, softmax_cross_entropy, Model};
use crate::prep::{Augmentation, LabelledSet};
use linfa::ParamGuard;

/// How to train (defaults: 10 epochs, batch 32, Adam with Keras' defaults, no penalty, seed 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub optimizer: Optimizer,
    /// L2 penalty with scikit-learn's semantics (`alpha`): α/2·‖W‖² per sample.
    pub l2: f32,
    pub seed: u64,
    pub early_stopping: Option<EarlyStopping>,
    pub reduce_lr: Option<ReduceLrOnPlateau>,
    /// Random rotation/zoom/shift of every training image, new for every batch (images only).
    pub augmentation: Option<Augmentation>,
    /// Print progress: a line per epoch (and within long epochs), a closing line with the best.
    pub verbose: bool,
    /// Of the epoch lines, keep every `log_every`-th (with the first and the last) in the
    /// exported report, like Keras' `verbose=2` thinned; 0 keeps about ten a run. The others are
    /// printed too, marked with [`PROGRESS_MARK`], so a live run shows every epoch and an export
    /// (`tools/export.py`) drops them; `History::table` has them all.
    pub log_every: usize,
}

/// The start of a progress line that an exported report leaves out (a live run shows it).
pub const PROGRESS_MARK: &str = "  ⋯ ";

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 32,
            optimizer: Optimizer::adam(),
            l2: 0.0,
            seed: 0,
            early_stopping: None,
            reduce_lr: None,
            augmentation: None,
            verbose: true,
            log_every: 0,
        }
    }
}

impl TrainConfig {
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
    pub fn optimizer(mut self, optimizer: Optimizer) -> Self {
        self.optimizer = optimizer;
        self
    }
    pub fn l2(mut self, alpha: f32) -> Self {
        self.l2 = alpha;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn early_stopping(mut self, rule: EarlyStopping) -> Self {
        self.early_stopping = Some(rule);
        self
    }
    pub fn reduce_lr_on_plateau(mut self, rule: ReduceLrOnPlateau) -> Self {
        self.reduce_lr = Some(rule);
        self
    }
    pub fn augment(mut self, augmentation: Augmentation) -> Self {
        self.augmentation = Some(augmentation);
        self
    }
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }
    pub fn log_every(mut self, epochs: usize) -> Self {
        self.log_every = epochs;
        self
    }

    /// Whether epoch `epoch`'s line is one the report keeps.
    fn logs(&self, epoch: usize) -> bool {
        let every = match self.log_every {
            0 => self.epochs.div_ceil(10),
            n => n,
        };
        epoch == 1 || epoch == self.epochs || epoch.is_multiple_of(every)
    }

    fn rules(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::param("epochs", "at least 1 epoch is needed"));
        }
        if self.batch_size == 0 {
            return Err(Error::param("batch_size", "a batch holds at least 1 row"));
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return Err(Error::param(
                "l2",
                format!("the L2 penalty must be ≥ 0, got {}", self.l2),
            ));
        }
        self.optimizer.check_ref()?;
        if let Some(a) = &self.augmentation {
            a.check_ref()?;
        }
        if let Some(rule) = &self.reduce_lr {
            rule.check_ref()?;
        }
        if let Some(rule) = &self.early_stopping {
            rule.check_ref()?;
        }
        Ok(())
    }

    /// What needs the data: rules watching validation numbers need a validation set.
    fn needs_validation(&self, has_validation: bool) -> Result<()> {
        let watched = [
            self.early_stopping.map(|r| ("early stopping", r.monitor)),
            self.reduce_lr.map(|r| ("ReduceLrOnPlateau", r.monitor)),
        ];
        for (what, monitor) in watched.into_iter().flatten() {
            if monitor != Monitor::TrainLoss && !has_validation {
                return Err(Error::invalid(format!(
                    "{what} on validation loss/accuracy needs a validation set: pass Some(&validation_set)"
                )));
            }
        }
        Ok(())
    }
}

crate::param_guard!(TrainConfig);

/// The best value an epoch rule has seen and how many epochs ago (early stopping, learning-rate cuts).
#[derive(Default)]
struct Watch {
    best: Option<f64>,
    since: usize,
}

impl Watch {
    /// Takes an epoch's value; true when it improves on the best by more than `min_delta`.
    fn improves(&mut self, monitor: Monitor, min_delta: f64, value: f64) -> bool {
        let better = match self.best {
            None => value.is_finite(),
            Some(best) => match monitor {
                Monitor::ValAccuracy => value > best + min_delta,
                Monitor::ValLoss | Monitor::TrainLoss => value < best - min_delta,
            },
        };
        if better {
            (self.best, self.since) = (Some(value), 0);
        } else {
            self.since += 1;
        }
        better
    }
}

impl EpochRecord {
    fn monitored(&self, monitor: Monitor) -> f64 {
        match monitor {
            Monitor::ValLoss => self.val_loss.unwrap_or(f64::NAN),
            Monitor::ValAccuracy => self.val_accuracy.unwrap_or(f64::NAN),
            Monitor::TrainLoss => self.loss,
        }
    }
}

/// Trains `model` on (x, labels) with mini-batches; evaluates on `validation` after each epoch.
/// A diverging run (NaN loss) is not an error: it finishes and its history shows the NaN.
///
/// Finished trainings are kept on disk ([`store`]): one already finished with the same model,
/// data, settings and build is not trained again (the model gets its weights, its history comes
/// back, and one line says so), and an interrupted one resumes after its last checkpoint, to the
/// same numbers. `FASHION_LAB_RUNS=off` turns that off; [`fit_in`] takes the store to use.
pub fn fit(
    model: &mut Model,
    train: &LabelledSet,
    validation: Option<&LabelledSet>,
    config: &TrainConfig,
) -> Result<History> {
    fit_in(&RunStore::from_env(), model, train, validation, config)
}

/// [`fit`] with the store of finished trainings given: [`RunStore::off`] always trains,
/// [`RunStore::at`] keeps them in a folder of your choice.
pub fn fit_in(
    store: &RunStore,
    model: &mut Model,
    train: &LabelledSet,
    validation: Option<&LabelledSet>,
    config: &TrainConfig,
) -> Result<History> {
    // On one of rayon's threads, which then takes a part of each split product itself.
    crate::nn::in_pool(|| train_until(store, model, train, validation, config, None))
}

/// [`fit_in`]; with `stop_after`, it writes a checkpoint after that epoch and stops with an
/// error, as an interrupt then would: how the tests interrupt a training.
fn train_until(
    store: &RunStore,
    model: &mut Model,
    train: &LabelledSet,
    validation: Option<&LabelledSet>,
    config: &TrainConfig,
    stop_after: Option<usize>,
) -> Result<History> {
    let config = config.check_ref()?;
    // Subnormal floats are flushed to zero on this thread while training (nn::FlushSubnormals).
    let _flush = crate::nn::FlushSubnormals::new();
    config.needs_validation(validation.is_some())?;
    model.check_labelled(train, "training")?;
    if let Some(val) = validation {
        model.check_labelled(val, "validation")?;
    }
    // The saved model scales a new picture as these features were made.
    model.preprocessing = train.preprocessing().cloned();
    let image_shape = match (config.augmentation, model.spec.input_shape.as_slice()) {
        (None, _) => None,
        (Some(_), &[h, w]) => Some((h, w, 1)),
        (Some(_), &[h, w, c]) => Some((h, w, c)),
        (Some(_), other) => {
            return Err(Error::invalid(format!(
                "augmentation needs a model with image input (height, width, channels), this one takes {other:?}"
            )))
        }
    };
    // What the store costs this training (its key and look-up, checkpoints, keeping it),
    // printed with a verbose training's last lines.
    let looking_up = Instant::now();
    let entry = store.entry(model, train, validation, config);
    let mut progress = Progress::start(config);
    if let Some(entry) = &entry {
        match entry.read_finished(model) {
            Ok(Some(finished)) => return reuse(model, entry, finished, config),
            Ok(None) => {}
            Err(e) => warn(&e, "training again"),
        }
        match entry.read_checkpoint(model, config) {
            Ok(Some((resumed, saved))) => {
                println!(
                    "resuming at epoch {} of {} (checkpoint {}, saved {saved} UTC); FASHION_LAB_RUNS=off to start over",
                    resumed.epochs_done() + 1,
                    config.epochs,
                    store::shown(&entry.checkpoint)
                );
                progress = resumed;
            }
            Ok(None) => {}
            Err(e) => warn(&e, "starting from epoch 1"),
        }
    }
    let look_up_seconds = looking_up.elapsed().as_secs_f64();
    let (mut checkpoint_seconds, mut n_checkpoints) = (0.0, 0);
    let earlier_seconds = progress.history.seconds();
    let first = progress.epochs_done() + 1;
    let started = Instant::now();
    let mut clock = CheckpointClock::new();
    let mut checkpoints = entry.as_ref();

    for epoch in first..=config.epochs {
        let record = train_epoch(
            model,
            train,
            validation,
            config,
            image_shape,
            epoch,
            &mut progress,
        )?;
        let Progress {
            history,
            optimizer: state,
            stopping,
            plateau,
            best_weights,
            ..
        } = &mut progress;
        history.epochs.push(record);
        history.best_epoch = epoch;
        if config.verbose {
            let elapsed = started.elapsed().as_secs_f64();
            let eta = elapsed / (epoch + 1 - first) as f64 * (config.epochs - epoch) as f64;
            let total = earlier_seconds + elapsed;
            let val = match (record.val_loss, record.val_accuracy) {
                (Some(l), Some(a)) => format!(" · val_loss {l:.4} · val_acc {a:.4}"),
                _ => String::new(),
            };
            let mark = if config.logs(epoch) {
                ""
            } else {
                PROGRESS_MARK
            };
            println!(
                "{mark}epoch {epoch:>3}/{} · loss {:.4} · acc {:.4}{val} · {:.1} s (total {total:.0} s, ETA {eta:.0} s)",
                config.epochs, record.loss, record.accuracy, record.seconds
            );
        }
        if let Some(rule) = config.reduce_lr {
            let lr = state.optimizer.lr();
            let stalled =
                !plateau.improves(rule.monitor, rule.min_delta, record.monitored(rule.monitor));
            if stalled && plateau.since >= rule.patience && lr > rule.min_lr {
                let reduced = (lr * rule.factor).max(rule.min_lr);
                state.optimizer = state.optimizer.with_lr(reduced);
                plateau.since = 0;
                if config.verbose {
                    println!("epoch {epoch:>3}: no improvement for {} epochs, learning rate {lr:.2e} → {reduced:.2e}", rule.patience);
                }
            }
        }
        if let Some(rule) = config.early_stopping {
            if stopping.improves(rule.monitor, rule.min_delta, record.monitored(rule.monitor)) {
                if rule.restore_best {
                    *best_weights = Some(model.weights());
                }
            } else if stopping.since >= rule.patience {
                history.stopped_early = true;
                break;
            }
        }
        // Between epochs, now and then: what an interrupt would lose. Not after the last
        // epoch: the finished training is kept instead.
        if let Some(entry) = checkpoints.filter(|_| epoch < config.epochs) {
            if clock.due() || stop_after == Some(epoch) {
                let writing = Instant::now();
                if let Err(e) = entry.write_checkpoint(model, &progress) {
                    warn(&e, "training on without checkpoints");
                    checkpoints = None;
                }
                clock.saved(writing);
                checkpoint_seconds += writing.elapsed().as_secs_f64();
                n_checkpoints += 1;
            }
        }
        if stop_after == Some(epoch) {
            return Err(Error::invalid(format!(
                "training stopped after epoch {epoch}, as asked (the tests' interrupt)"
            )));
        }
    }
    let Progress {
        mut history,
        stopping,
        best_weights,
        ..
    } = progress;
    if let Some(weights) = &best_weights {
        model.set_weights(weights)?;
        history.best_epoch = history.epochs.len() - stopping.since;
    }
    if config.verbose && history.stopped_early {
        println!(
            "early stopping after epoch {}: no improvement for {} epochs; weights of epoch {}",
            history.epochs.len(),
            stopping.since,
            history.best_epoch
        );
    }
    if config.verbose {
        let seconds = earlier_seconds + started.elapsed().as_secs_f64();
        println!("{}", closing_line(&history, seconds));
    }
    if let Some(entry) = &entry {
        let keeping = Instant::now();
        if let Err(e) = entry.write_finished(model, &history) {
            warn(&e, "this training is not kept");
        }
        entry.remove_checkpoint();
        if config.verbose {
            println!(
                "{PROGRESS_MARK}kept as {} (store: key {look_up_seconds:.2} s, {n_checkpoints} checkpoint{} {checkpoint_seconds:.2} s, keeping {:.2} s)",
                store::shown(&entry.finished),
                if n_checkpoints == 1 { "" } else { "s" },
                keeping.elapsed().as_secs_f64()
            );
        }
    }
    Ok(history)
}

/// What one mini-batch's forward and backward pass gives (the parameters' gradients are left in
/// the model, for the optimiser).
pub struct BatchStep {
    /// the batch's mean cross-entropy
    pub loss: f32,
    /// rows whose largest logit is the label
    pub correct: usize,
    /// the loss's gradient with respect to the logits
    pub logit_grad: Array2<f32>,
}

/// The step `fit` takes for every mini-batch before the optimiser's update: the training
/// forward pass, softmax cross-entropy, and the backward pass.
pub fn forward_backward(model: &mut Model, xb: &Array2<f32>, yb: &Array1<u8>) -> BatchStep {
    let logits = model.forward_train(xb);
    let (loss, logit_grad) = softmax_cross_entropy(&logits, yb);
    let correct = argmax_rows(&logits)
        .iter()
        .zip(yb)
        .filter(|(p, t)| p == t)
        .count();
    model.backward(&logit_grad);
    BatchStep {
        loss,
        correct,
        logit_grad,
    }
}

/// One epoch: every mini-batch once, in this epoch's order, then the validation numbers.
fn train_epoch(
    model: &mut Model,
    train: &LabelledSet,
    validation: Option<&LabelledSet>,
    config: &TrainConfig,
    image_shape: Option<(usize, usize, usize)>,
    epoch: usize,
    progress: &mut Progress,
) -> Result<EpochRecord> {
    let (x, labels) = (train.features(), train.labels());
    let epoch_start = Instant::now();
    let order = permutation(x.nrows(), &mut progress.order_rng);
    let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
    let mut last_report = Instant::now();
    let n_batches = order.len().div_ceil(config.batch_size);
    for (b, batch) in order.chunks(config.batch_size).enumerate() {
        let mut xb = x.select(Axis(0), batch);
        if let (Some(aug), Some(shape)) = (config.augmentation, image_shape) {
            xb = aug.apply(&xb, shape, &mut progress.augment_rng)?;
        }
        let yb = labels.select(Axis(0), batch);
        let step = forward_backward(model, &xb, &yb);
        loss_sum += f64::from(step.loss) * batch.len() as f64;
        correct += step.correct;
        let l2 = config.l2 / batch.len() as f32;
        progress.optimizer.update(&mut model.params_mut(), l2);
        seen += batch.len();
        // Long epochs (CNNs) report within the epoch too, so a run never looks stuck.
        if config.verbose && last_report.elapsed().as_secs_f64() > 15.0 && b + 1 < n_batches {
            let elapsed = epoch_start.elapsed().as_secs_f64();
            let eta = elapsed / (b + 1) as f64 * (n_batches - b - 1) as f64;
            println!(
                "{PROGRESS_MARK}epoch {epoch:>3}/{} · batch {}/{n_batches} · loss {:.4} · acc {:.4} · {elapsed:.0} s (epoch ETA {eta:.0} s)",
                config.epochs,
                b + 1,
                loss_sum / seen as f64,
                correct as f64 / seen as f64
            );
            last_report = Instant::now();
        }
    }
    let (val_loss, val_accuracy) = match validation {
        Some(val) => {
            let (l, a) = model.evaluate(val)?;
            (Some(f64::from(l)), Some(a))
        }
        None => (None, None),
    };
    Ok(EpochRecord {
        epoch,
        loss: loss_sum / x.nrows() as f64,
        accuracy: correct as f64 / x.nrows() as f64,
        val_loss,
        val_accuracy,
        seconds: epoch_start.elapsed().as_secs_f64(),
        lr: f64::from(progress.optimizer.optimizer.lr()),
    })
}

/// A finished training found in the store: its weights and dropout streams into `model` (they
/// were checked to fit), its history back, and one line saying so.
fn reuse(
    model: &mut Model,
    entry: &store::Entry,
    finished: store::Finished,
    config: &TrainConfig,
) -> Result<History> {
    model.set_weights(&finished.weights)?;
    model.set_rng_positions(&finished.rng_positions)?;
    // Left behind when an interrupt came between keeping the training and removing it.
    entry.remove_checkpoint();
    let meta = &finished.meta;
    println!(
        "reused finished training {} ({}, trained {} UTC, {} epochs, {:.0} s); FASHION_LAB_RUNS=off to retrain",
        &entry.key[..8],
        store::shown(&entry.finished),
        meta.trained,
        meta.epochs,
        meta.seconds
    );
    let history = finished.history;
    if config.verbose {
        println!("{}", closing_line(&history, history.seconds()));
    }
    Ok(history)
}

/// A problem with the store, in one line: the training goes on (`then` says how). On stdout,
/// with the crate's other progress lines: nothing failed, and the notebook runner fails a cell
/// that writes to stderr.
fn warn(problem: &Error, then: &str) {
    println!("warning ({then}): {problem}");
}

/// The last line of a verbose run: how long, the best validation epoch, the weights kept.
fn closing_line(history: &History, seconds: f64) -> String {
    let n = history.epochs.len();
    let best = history
        .epochs
        .iter()
        .filter(|r| r.val_accuracy.is_some_and(f64::is_finite))
        .max_by(|a, b| {
            a.val_accuracy
                .partial_cmp(&b.val_accuracy)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    let best = best.map_or(String::new(), |r| {
        format!(
            " · best val_acc {:.4} at epoch {} (val_loss {:.4})",
            r.val_accuracy.unwrap_or(f64::NAN),
            r.epoch,
            r.val_loss.unwrap_or(f64::NAN)
        )
    });
    format!(
        "trained {n} epoch{} in {seconds:.0} s{best} · weights of epoch {} kept · every epoch: history.table()",
        if n == 1 { "" } else { "s" },
        history.best_epoch
    )
}

/// `train(item)` for every item, two or more at a time (one per core), results in the items'
/// order; if any fails, one of the errors is returned. For grids of small networks, whose matrix products are
/// too small to split across the cores: each training keeps one core busy, so trainings side by
/// side use them all. Every training has its own seeded random state, so the numbers are the
/// same as one after the other.
///
/// When the items do not divide evenly among the cores and there are at most twice as many
/// (3 seeds on 2 cores), every item gets a thread of its own and they share the cores: all
/// finish in 1.5 rounds instead of 2 (one item alone on one core, the other core idle, for the
/// last round). Otherwise rayon's pool takes them one per core.
pub fn side_by_side<T, R, F>(items: &[T], train: F) -> Result<Vec<R>>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> Result<R> + Sync,
{
    use rayon::prelude::*;
    let cores = rayon::current_num_threads().max(1);
    if items.len() > cores && items.len() < 2 * cores && !items.len().is_multiple_of(cores) {
        return all_at_once(items, &train);
    }
    items.par_iter().map(&train).collect()
}

/// One scoped thread per item; a panicking training is an error naming its position.
fn all_at_once<T, R, F>(items: &[T], train: &F) -> Result<Vec<R>>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> Result<R> + Sync,
{
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .iter()
            .map(|item| {
                scope.spawn(move || {
                    crate::nn::keep_work_on_this_thread();
                    train(item)
                })
            })
            .collect();
        handles
            .into_iter()
            .enumerate()
            .map(|(i, handle)| {
                handle.join().unwrap_or_else(|_| {
                    Err(Error::invalid(format!(
                        "training {} of {} panicked (its message is printed above); the others finished",
                        i + 1,
                        items.len()
                    )))
                })
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged(config: TrainConfig) -> Vec<usize> {
        (1..=config.epochs).filter(|&e| config.logs(e)).collect()
    }

    #[test]
    fn about_ten_epoch_lines_a_run_with_the_first_and_the_last() {
        let config = TrainConfig::default();
        assert_eq!(logged(config.epochs(5)), vec![1, 2, 3, 4, 5]);
        assert_eq!(
            logged(config.epochs(20)),
            vec![1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
        );
        let sixty = logged(config.epochs(60));
        assert_eq!((sixty.len(), sixty[1], *sixty.last().unwrap()), (11, 6, 60));
        assert_eq!(logged(config.epochs(7).log_every(3)), vec![1, 3, 6, 7]);
        assert_eq!(logged(config.epochs(3).log_every(1)), vec![1, 2, 3]);
    }

    #[test]
    fn the_closing_line_names_the_best_epoch_and_the_kept_weights() {
        let record = |epoch, val_accuracy| EpochRecord {
            epoch,
            loss: 0.5,
            accuracy: 0.8,
            val_loss: Some(0.4),
            val_accuracy: Some(val_accuracy),
            seconds: 1.0,
            lr: 1e-3,
        };
        let history = History {
            epochs: vec![record(1, 0.80), record(2, 0.86), record(3, 0.84)],
            best_epoch: 3,
            stopped_early: false,
        };
        let line = closing_line(&history, 12.0);
        assert!(line.contains("trained 3 epochs in 12 s"), "{line}");
        assert!(line.contains("best val_acc 0.8600 at epoch 2"), "{line}");
        assert!(line.contains("weights of epoch 3 kept"), "{line}");
    }
}

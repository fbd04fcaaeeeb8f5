//! A training between two epochs: everything it needs to go on as if never stopped (weights,
//! the optimiser's step and moments, where the shuffling, augmentation and dropout streams
//! stand, the early-stopping and plateau watches, the best weights so far, the history), and
//! its checkpoint file in the store.

use std::time::{Duration, Instant};

use ndarray::Array2;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::store::{self, Entry, CHECKPOINT_FORMAT};
use super::{History, OptimizerState, TrainConfig, Watch};
use crate::base::{derive_seed, rng, SeedStream};
use crate::error::{Error, Result};
use crate::nn::Model;

/// The state of a training after its last finished epoch (the model holds the weights).
pub(super) struct Progress {
    pub history: History,
    pub optimizer: OptimizerState,
    /// Shuffles the rows every epoch.
    pub order_rng: ChaCha8Rng,
    /// Draws the random transforms of augmentation.
    pub augment_rng: ChaCha8Rng,
    pub stopping: Watch,
    pub plateau: Watch,
    /// The weights of the best epoch, when early stopping puts them back at the end.
    pub best_weights: Option<Vec<Array2<f32>>>,
}

impl Progress {
    /// Before the first epoch.
    pub fn start(config: &TrainConfig) -> Self {
        Self {
            history: History::default(),
            optimizer: config.optimizer.start(),
            order_rng: rng(config.seed),
            augment_rng: rng(derive_seed(config.seed, SeedStream::Augmentation)),
            stopping: Watch::default(),
            plateau: Watch::default(),
            best_weights: None,
        }
    }

    pub fn epochs_done(&self) -> usize {
        self.history.epochs.len()
    }
}

/// When to write a checkpoint: after an epoch, once `EVERY` has passed since the last one and
/// at least 50 times what writing the last one took, so checkpoints cost at most ~2% of the
/// training (a CNN epoch of ~30 s checkpoints every epoch; a 1-s MLP epoch about every 5).
pub(super) struct CheckpointClock {
    last: Instant,
    cost: Duration,
}

impl CheckpointClock {
    const EVERY: Duration = Duration::from_secs(5);

    pub fn new() -> Self {
        Self {
            last: Instant::now(),
            cost: Duration::ZERO,
        }
    }

    pub fn due(&self) -> bool {
        self.last.elapsed() >= Self::EVERY.max(self.cost * 50)
    }

    pub fn saved(&mut self, started: Instant) {
        self.cost = started.elapsed();
        self.last = Instant::now();
    }
}

/// The checkpoint's metadata entry "state": what is not a tensor. Floats as their bits and
/// random-stream positions as decimal strings, so everything reads back exactly.
#[derive(Serialize, Deserialize)]
struct SavedState {
    history: History,
    /// The learning rate now (a plateau rule may have cut it).
    lr_bits: u32,
    step: i32,
    order_rng: String,
    augment_rng: String,
    dropout_rngs: Vec<String>,
    stopping: SavedWatch,
    plateau: SavedWatch,
    /// Whether the `best` tensors are the best epoch's weights (early stopping keeps them).
    has_best: bool,
    /// When it was written, "YYYY-MM-DD HH:MM" UTC.
    saved: String,
}

#[derive(Serialize, Deserialize)]
struct SavedWatch {
    best_bits: Option<u64>,
    since: usize,
}

impl From<&Watch> for SavedWatch {
    fn from(w: &Watch) -> Self {
        Self {
            best_bits: w.best.map(f64::to_bits),
            since: w.since,
        }
    }
}

impl From<&SavedWatch> for Watch {
    fn from(w: &SavedWatch) -> Self {
        Self {
            best: w.best_bits.map(f64::from_bits),
            since: w.since,
        }
    }
}

impl Entry {
    /// Writes the training's state after its last finished epoch.
    pub(super) fn write_checkpoint(&self, model: &Model, progress: &Progress) -> Result<()> {
        let (step, slots) = progress.optimizer.parts();
        let state = SavedState {
            history: progress.history.clone(),
            lr_bits: progress.optimizer.optimizer.lr().to_bits(),
            step,
            order_rng: progress.order_rng.get_word_pos().to_string(),
            augment_rng: progress.augment_rng.get_word_pos().to_string(),
            dropout_rngs: model.rng_positions().iter().map(u128::to_string).collect(),
            stopping: (&progress.stopping).into(),
            plateau: (&progress.plateau).into(),
            has_best: progress.best_weights.is_some(),
            saved: store::utc_minutes(store::now_unix()),
        };
        let first: Vec<Array2<f32>> = slots.iter().map(|(a, _)| a.clone()).collect();
        let second: Vec<Array2<f32>> = slots.iter().map(|(_, b)| b.clone()).collect();
        let best = progress.best_weights.clone().unwrap_or_default();
        let info = [("state".to_string(), serde_json::to_string(&state)?)].into();
        let bytes = store::encode(
            &self.key,
            CHECKPOINT_FORMAT,
            info,
            &[
                ("weight", &model.weights()),
                ("best", &best),
                ("slot1", &first),
                ("slot2", &second),
            ],
            &self.checkpoint,
        )?;
        store::write_atomically(&self.checkpoint, &bytes)
    }

    /// The checkpoint of this training, if there is one: puts its weights and dropout streams
    /// into `model` and returns the rest with when it was saved. An unreadable checkpoint, or
    /// one that does not fit `model`, is an error and leaves `model` as it was.
    pub(super) fn read_checkpoint(
        &self,
        model: &mut Model,
        config: &TrainConfig,
    ) -> Result<Option<(Progress, String)>> {
        let Some(bytes) = store::read_if_there(&self.checkpoint)? else {
            return Ok(None);
        };
        let damaged = |reason: String| Error::RunFile {
            path: self.checkpoint.clone(),
            reason,
        };
        let (info, mut groups) =
            store::decode(&bytes, &self.key, CHECKPOINT_FORMAT).map_err(damaged)?;
        let state: SavedState = store::json_field(&info, "state").map_err(damaged)?;
        let weights = groups.take("weight");
        let dropout = store::positions(state.dropout_rngs).map_err(damaged)?;
        store::fits(model, &weights, &dropout).map_err(damaged)?;
        let best = groups.take("best");
        let (first, second) = (groups.take("slot1"), groups.take("slot2"));
        let done = state.history.epochs.len();
        let numbered = state
            .history
            .epochs
            .iter()
            .enumerate()
            .all(|(i, e)| e.epoch == i + 1);
        if done == 0 || done > config.epochs || !numbered {
            return Err(damaged(format!(
                "its history of {done} epochs does not fit a training of {}",
                config.epochs
            )));
        }
        let shapes: Vec<_> = model.params().iter().map(|p| p.value.dim()).collect();
        let slots_fit = |slots: &[Array2<f32>]| {
            slots.len() == shapes.len() && slots.iter().zip(&shapes).all(|(s, &d)| s.dim() == d)
        };
        let fresh_optimizer = first.is_empty() && second.is_empty() && state.step == 0;
        if !(fresh_optimizer || (state.step > 0 && slots_fit(&first) && slots_fit(&second))) {
            return Err(damaged(
                "its optimiser state does not fit this model's parameters".into(),
            ));
        }
        if state.has_best {
            store::fits(model, &best, &dropout).map_err(damaged)?;
        }
        let stream = |seed: u64, at: &str| -> std::result::Result<ChaCha8Rng, String> {
            let mut r = rng(seed);
            r.set_word_pos(
                at.parse()
                    .map_err(|_| format!("`{at}` is not a random-stream position"))?,
            );
            Ok(r)
        };
        let order_rng = stream(config.seed, &state.order_rng).map_err(damaged)?;
        let augment_seed = derive_seed(config.seed, SeedStream::Augmentation);
        let augment_rng = stream(augment_seed, &state.augment_rng).map_err(damaged)?;
        // Everything checked: only now is the model changed.
        model.set_weights(&weights)?;
        model.set_rng_positions(&dropout)?;
        let optimizer = config.optimizer.with_lr(f32::from_bits(state.lr_bits));
        let progress = Progress {
            history: state.history,
            optimizer: OptimizerState::resumed(
                optimizer,
                state.step,
                first.into_iter().zip(second).collect(),
            ),
            order_rng,
            augment_rng,
            stopping: (&state.stopping).into(),
            plateau: (&state.plateau).into(),
            best_weights: state.has_best.then_some(best),
        };
        Ok(Some((progress, state.saved)))
    }

    /// Removes the checkpoint (the training finished); a missing file is fine.
    pub(super) fn remove_checkpoint(&self) {
        let _ = std::fs::remove_file(&self.checkpoint);
    }
}

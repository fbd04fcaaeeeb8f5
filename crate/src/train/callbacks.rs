//! The epoch rules of training, as Keras' callbacks: early stopping and the learning-rate cut on
//! a plateau, and what they watch.

use crate::error::{Error, Result};

/// What early stopping watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Monitor {
    ValLoss,
    ValAccuracy,
    TrainLoss,
}

/// Stop when the monitored value has not improved by more than `min_delta` for `patience`
/// epochs; optionally put back the weights of the best epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    pub monitor: Monitor,
    pub patience: usize,
    pub min_delta: f64,
    pub restore_best: bool,
}

impl EarlyStopping {
    /// Keras' `EarlyStopping(monitor="val_loss", patience=…, restore_best_weights=True)`.
    pub fn val_loss(patience: usize) -> Self {
        Self {
            monitor: Monitor::ValLoss,
            patience,
            min_delta: 0.0,
            restore_best: true,
        }
    }

    /// Never stop; at the end put back the weights of the epoch with the best validation
    /// accuracy: the number of epochs chosen on the validation set, after the run.
    pub fn best_val_accuracy_epoch() -> Self {
        Self {
            monitor: Monitor::ValAccuracy,
            patience: usize::MAX,
            min_delta: 0.0,
            restore_best: true,
        }
    }

    /// scikit-learn's `MLPClassifier(early_stopping=True)`: validation accuracy,
    /// `n_iter_no_change=10`, `tol=1e-4`, best weights kept.
    pub fn sklearn() -> Self {
        Self {
            monitor: Monitor::ValAccuracy,
            patience: 10,
            min_delta: 1e-4,
            restore_best: true,
        }
    }

    /// scikit-learn's default stopping rule without early stopping: training loss, 10 epochs,
    /// `tol=1e-4`, last weights kept.
    pub fn sklearn_train_loss() -> Self {
        Self {
            monitor: Monitor::TrainLoss,
            patience: 10,
            min_delta: 1e-4,
            restore_best: false,
        }
    }
}

impl EarlyStopping {
    fn rules(&self) -> Result<()> {
        if self.patience == 0 {
            return Err(Error::param(
                "patience",
                "early stopping: patience must be at least 1 epoch",
            ));
        }
        if !(self.min_delta.is_finite() && self.min_delta >= 0.0) {
            return Err(Error::param(
                "min_delta",
                format!(
                    "early stopping: min_delta must be ≥ 0, got {}",
                    self.min_delta
                ),
            ));
        }
        Ok(())
    }
}

crate::param_guard!(EarlyStopping);

/// Keras' `ReduceLROnPlateau`: when the monitored value has not improved by more than
/// `min_delta` for `patience` epochs, multiply the learning rate by `factor` (never below
/// `min_lr`) and start counting again. The optimiser keeps its moments.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReduceLrOnPlateau {
    pub monitor: Monitor,
    pub factor: f32,
    pub patience: usize,
    pub min_delta: f64,
    pub min_lr: f32,
}

impl ReduceLrOnPlateau {
    /// `ReduceLROnPlateau(monitor="val_loss", factor=…, patience=…)` with Keras' other defaults
    /// (`min_delta=1e-4`, `min_lr=0`, no cooldown).
    pub fn val_loss(factor: f32, patience: usize) -> Self {
        Self {
            monitor: Monitor::ValLoss,
            factor,
            patience,
            min_delta: 1e-4,
            min_lr: 0.0,
        }
    }

    fn rules(&self) -> Result<()> {
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Err(Error::param(
                "factor",
                format!(
                    "ReduceLrOnPlateau: factor must be between 0 and 1 (exclusive), got {}",
                    self.factor
                ),
            ));
        }
        if self.patience == 0 {
            return Err(Error::param(
                "patience",
                "ReduceLrOnPlateau: patience must be at least 1 epoch",
            ));
        }
        if !(self.min_lr.is_finite() && self.min_lr >= 0.0) {
            return Err(Error::param(
                "min_lr",
                format!("ReduceLrOnPlateau: min_lr must be ≥ 0, got {}", self.min_lr),
            ));
        }
        Ok(())
    }
}

crate::param_guard!(ReduceLrOnPlateau);

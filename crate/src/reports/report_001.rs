//! Report 001 (notebook 02): logistic regression vs a deep CNN, and the model deployed.

crate::protocol_settings! {
    /// Report 001's settings: the report's own under `report`; `classroom` trains the CNN for
    /// fewer epochs with bigger batches; `quick` takes 6,000 / 1,000 images and one epoch.
    pub struct Settings {
        /// seed of the split, the initial weights, the batches and the augmentation
        seed: u64 = (42, 42, 42),
        /// logistic regression: the most solver iterations (the report: max_iter=200)
        lr_max_iter: u64 = (20, 100, 200),
        /// CNN: the most epochs; early stopping may end it sooner (the report: 20)
        max_epochs: usize = (1, 15, 20),
        /// CNN: images per batch (the report does not say: Keras' default, 32)
        batch_size: usize = (64, 64, 32),
        /// CNN: early stopping's patience on the validation loss, best weights restored
        patience: usize = (5, 5, 5),
        /// the CNN without dropout and augmentation (the collapse check): epochs
        plain_epochs: usize = (1, 3, 20),
    }
}

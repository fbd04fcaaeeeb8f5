//! Report 002 (notebook 03): Keras-style MLP baselines, two grid searches with 3-fold
//! cross-validation, and four hand-tuned CNNs.

use crate::train::Optimizer;

crate::protocol_settings! {
    /// Report 002's settings. The report gives the baselines' (20 epochs, batch 128, Adam) and
    /// the grid searches' best points, but not the grids themselves, nor the CNNs' epochs and
    /// batch size: those values are ours, the same under classroom and report except where the
    /// table at the top of the notebook says.
    pub struct Settings {
        /// seed of the split, the weights, the batches and the folds
        seed: u64 = (42, 42, 42),
        /// baseline MLPs: epochs (the report: 20)
        mlp_epochs: usize = (2, 20, 20),
        /// baseline MLPs and the grids' retraining: images per batch (the report: 128)
        mlp_batch: usize = (128, 128, 128),
        /// the baseline trained with this many seeds, to measure run-to-run spread (ours)
        spread_runs: usize = (2, 5, 5),
        /// grid searches: folds of the cross-validation (the report: cv=3)
        cv_folds: usize = (3, 3, 3),
        /// grid searches: training images cross-validated on (none: the whole training split)
        cv_images: Option<usize> = (Some(2_000), Some(15_000), None),
        /// grid 1: batch sizes (ours; the report's best: 128)
        grid1_batch: Vec<usize> = (vec![64, 128], vec![64, 128], vec![64, 128]),
        /// grid 1: dropout rates (ours; the report's best: 0.2)
        grid1_dropout: Vec<f32> = (vec![0.2, 0.5], vec![0.2, 0.5], vec![0.2, 0.5]),
        /// grid 1: epochs (ours; the report's best: 20)
        grid1_epochs: Vec<usize> = (vec![1, 2], vec![10, 20], vec![10, 20]),
        /// grid 1: hidden units (ours; the report's best: 128)
        grid1_hidden: Vec<usize> = (vec![64, 128], vec![64, 128], vec![64, 128]),
        /// grid 1: optimisers (ours; the report's best: Adam)
        grid1_optimizers: Vec<Optimizer> = (
            vec![Optimizer::adam(), Optimizer::sgd()],
            vec![Optimizer::adam(), Optimizer::sgd()],
            vec![Optimizer::adam(), Optimizer::sgd()],
        ),
        /// grid 1's best model retrained on all training images: epochs (the report: 10)
        retrain_epochs: usize = (1, 10, 10),
        /// grid 2: batch sizes (ours; the report's best: 128)
        grid2_batch: Vec<usize> = (vec![64, 128, 256], vec![64, 128, 256], vec![64, 128, 256]),
        /// grid 2: epochs (ours; the report's best: 20)
        grid2_epochs: Vec<usize> = (vec![1, 2], vec![10, 20], vec![10, 20]),
        /// grid 2: optimisers (ours; the report's best: Adam)
        grid2_optimizers: Vec<Optimizer> = (
            vec![Optimizer::adam(), Optimizer::sgd(), Optimizer::rmsprop()],
            vec![Optimizer::adam(), Optimizer::sgd(), Optimizer::rmsprop()],
            vec![Optimizer::adam(), Optimizer::sgd(), Optimizer::rmsprop()],
        ),
        /// CNN attempts 1-4: epochs each (the report does not say; report protocol: 20, as its MLPs)
        cnn_epochs: [usize; 4] = ([1, 1, 1, 1], [4, 2, 3, 8], [20, 20, 20, 20]),
        /// CNNs: images per batch (the report does not say: Keras' default 32)
        cnn_batch: usize = (128, 128, 32),
        /// "other tests": CNN 4 again at these batch sizes
        batch_test_sizes: Vec<usize> = (vec![64, 256], vec![32, 128, 512], vec![32, 64, 128, 256, 512]),
        /// "other tests": epochs of each
        batch_test_epochs: usize = (1, 2, 20),
        /// "other tests": training images (none: the whole training split)
        batch_test_images: Option<usize> = (Some(2_000), Some(15_000), None),
    }
}

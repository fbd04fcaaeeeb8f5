//! Report 000, *Fashion MNIST Classification* (k-NN from scratch vs scikit-learn's
//! `MLPClassifier`), as notebook 01 runs it: its settings per protocol, the report's own numbers
//! (typed once, here), the records of its two grids, and the tables and comparison rows that put
//! this run's numbers beside the report's.

use polars::prelude::{Column, DataFrame};

use std::time::Instant;

use crate::error::{Error, Result};
use crate::eval::{Comparison, ConfusionMatrix};
use crate::models::Classifier;
use crate::nn::{Activation, Model, Sequential};
use crate::prep::LabelledSet;
use crate::protocol::Protocol;
use crate::train::{fit, EarlyStopping, Optimizer, TrainConfig};
use crate::viz::{line_chart, Figure, Series, Table};

crate::protocol_settings! {
    /// Report 000's settings: `report` is the report's own; `classroom` is the same (measured on
    /// two cores, the whole notebook ran in 613 s, inside the 15-minute classroom budget);
    /// `quick` is a smoke run for the tests.
    pub struct Settings {
        /// seed of every split, subset and training
        seed: u64 = (42, 42, 42),
        /// images drawn (stratified) from all 70,000 before the 75 / 12.5 / 12.5 split
        images: usize = (7_000, 70_000, 70_000),
        /// from scratch vs the crate: training images searched
        scratch_train: usize = (1_000, 5_000, 5_000),
        /// from scratch vs the crate: test images classified
        scratch_queries: usize = (100, 500, 500),
        /// Algorithm 1: the k values tried
        k_values: Vec<usize> = (
            vec![1, 3, 5, 7, 9, 11, 13, 15],
            vec![1, 3, 5, 7, 9, 11, 13, 15],
            vec![1, 3, 5, 7, 9, 11, 13, 15],
        ),
        /// Algorithm 1: training images sampled
        knn_grid_train: usize = (2_000, 10_000, 10_000),
        /// Algorithm 1: validation images sampled
        knn_grid_val: usize = (500, 5_000, 5_000),
        /// the chosen k: training images stored ("training accuracy (30k subset)")
        knn_final_train: usize = (3_000, 30_000, 30_000),
        /// Algorithm 2: the hidden layers of each architecture
        architectures: Vec<Vec<usize>> = (grid_architectures(), grid_architectures(), grid_architectures()),
        /// Algorithm 2: Adam's initial learning rates
        learning_rates: Vec<f32> = (vec![0.001, 0.01], vec![0.001, 0.01], vec![0.001, 0.01]),
        /// Algorithm 2: training images sampled
        mlp_grid_train: usize = (2_000, 30_000, 30_000),
        /// Algorithm 2: validation images sampled
        mlp_grid_val: usize = (500, 5_000, 5_000),
        /// Algorithm 2: the most iterations (epochs) of one configuration (scikit-learn's max_iter)
        mlp_grid_max_iter: usize = (2, 200, 200),
        /// the final MLP: the most iterations, base and regularised run
        mlp_final_max_iter: usize = (3, 300, 300),
        /// MLP: images per batch (scikit-learn's batch_size = min(200, n))
        batch_size: usize = (200, 200, 200),
        /// MLP: L2 penalty α of the grid and the base model
        alpha: f32 = (1e-4, 1e-4, 1e-4),
        /// MLP: L2 penalty α of the regularised run (with early stopping)
        reg_alpha: f32 = (1e-3, 1e-3, 1e-3),
    }
}

/// Algorithm 2's architectures, in the report's order.
pub fn grid_architectures() -> Vec<Vec<usize>> {
    [
        &[64][..],
        &[128],
        &[256],
        &[64, 32],
        &[128, 64],
        &[256, 128],
        &[128, 64, 32],
        &[256, 128, 64],
    ]
    .iter()
    .map(|l| l.to_vec())
    .collect()
}

/// One class's row of the report's Tables 2 and 4 (validation set).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassRow {
    pub class: &'static str,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

const fn row(
    class: &'static str,
    precision: f64,
    recall: f64,
    f1: f64,
    support: usize,
) -> ClassRow {
    ClassRow {
        class,
        precision,
        recall,
        f1,
        support,
    }
}

/// One row of the report's Table 3.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridRow {
    pub layers: &'static [usize],
    pub learning_rate: f32,
    pub val_accuracy: f64,
    pub iterations: usize,
}

const fn grid_row(
    layers: &'static [usize],
    learning_rate: f32,
    val_accuracy: f64,
    iterations: usize,
) -> GridRow {
    GridRow {
        layers,
        learning_rate,
        val_accuracy,
        iterations,
    }
}

/// Table 1: k and its validation accuracy (10k training / 5k validation images).
pub const TABLE_1: [(usize, f64); 8] = [
    (1, 0.8124),
    (3, 0.8232),
    (5, 0.8274),
    (7, 0.8260),
    (9, 0.8252),
    (11, 0.8194),
    (13, 0.8220),
    (15, 0.8222),
];

/// Table 2: k-NN per-class metrics on the validation set.
pub const TABLE_2: [ClassRow; 10] = [
    row("T-shirt/top", 0.76, 0.86, 0.81, 862),
    row("Trouser", 0.99, 0.97, 0.98, 866),
    row("Pullover", 0.73, 0.79, 0.76, 853),
    row("Dress", 0.91, 0.86, 0.89, 914),
    row("Coat", 0.76, 0.77, 0.76, 891),
    row("Sandal", 1.00, 0.83, 0.90, 880),
    row("Shirt", 0.63, 0.57, 0.60, 887),
    row("Sneaker", 0.89, 0.95, 0.92, 880),
    row("Bag", 0.98, 0.94, 0.96, 852),
    row("Ankle boot", 0.88, 0.97, 0.92, 865),
];

/// Table 3: the MLP grid (30k training / 5k validation images).
pub const TABLE_3: [GridRow; 16] = [
    grid_row(&[64], 0.001, 0.8718, 169),
    grid_row(&[64], 0.01, 0.8498, 88),
    grid_row(&[128], 0.001, 0.8814, 161),
    grid_row(&[128], 0.01, 0.8584, 130),
    grid_row(&[256], 0.001, 0.8832, 88),
    grid_row(&[256], 0.01, 0.8554, 106),
    grid_row(&[64, 32], 0.001, 0.8690, 136),
    grid_row(&[64, 32], 0.01, 0.8518, 148),
    grid_row(&[128, 64], 0.001, 0.8776, 106),
    grid_row(&[128, 64], 0.01, 0.8728, 92),
    grid_row(&[256, 128], 0.001, 0.8786, 65),
    grid_row(&[256, 128], 0.01, 0.8708, 95),
    grid_row(&[128, 64, 32], 0.001, 0.8762, 101),
    grid_row(&[128, 64, 32], 0.01, 0.8744, 91),
    grid_row(&[256, 128, 64], 0.001, 0.8860, 93),
    grid_row(&[256, 128, 64], 0.01, 0.8748, 62),
];

/// Table 4: MLP per-class metrics on the validation set.
pub const TABLE_4: [ClassRow; 10] = [
    row("T-shirt/top", 0.82, 0.86, 0.84, 862),
    row("Trouser", 0.98, 0.98, 0.98, 866),
    row("Pullover", 0.81, 0.80, 0.81, 853),
    row("Dress", 0.87, 0.92, 0.89, 914),
    row("Coat", 0.82, 0.82, 0.82, 891),
    row("Sandal", 0.98, 0.95, 0.97, 880),
    row("Shirt", 0.76, 0.70, 0.73, 887),
    row("Sneaker", 0.93, 0.97, 0.95, 880),
    row("Bag", 0.97, 0.95, 0.96, 852),
    row("Ankle boot", 0.96, 0.95, 0.96, 865),
];

/// The report's other numbers, as its text states them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Said {
    /// Objectives: test accuracy to reach.
    pub knn_target: f64,
    pub mlp_target: f64,
    /// k-NN, the chosen k on the 30k subset.
    pub best_k: usize,
    pub knn_train: f64,
    pub knn_val: f64,
    pub knn_test: f64,
    /// The best configuration of Algorithm 2.
    pub best_layers: &'static [usize],
    pub best_lr: f32,
    /// Final performance (training / validation / test accuracy): the run whose train–validation
    /// gap is `reg_gap_pp`, i.e. the regularised one with early stopping.
    pub mlp_train: f64,
    pub mlp_val: f64,
    pub mlp_test: f64,
    /// The base model's loss curve: first and last training loss, and its iterations.
    pub loss_first: f64,
    pub loss_last: f64,
    pub base_iterations: usize,
    /// The regularised run (α = 1e-3, early stopping): iterations and train–validation gap.
    pub reg_iterations: usize,
    pub reg_gap_pp: f64,
}

/// What report 000 says.
pub const SAID: Said = Said {
    knn_target: 0.84,
    mlp_target: 0.88,
    best_k: 5,
    knn_train: 0.8912,
    knn_val: 0.8493,
    knn_test: 0.8414,
    best_layers: &[256, 128, 64],
    best_lr: 0.001,
    mlp_train: 0.9628,
    mlp_val: 0.8931,
    mlp_test: 0.8944,
    loss_first: 0.5244,
    loss_last: 0.0290,
    base_iterations: 121,
    reg_iterations: 42,
    reg_gap_pp: 6.96,
};

/// The index of "Shirt" among the classes (the report's hardest class).
pub const SHIRT: usize = 6;

/// Hidden layers as the report writes them, Python tuples: `(64,)`, `(256, 128, 64)`.
pub fn layers_text(layers: &[usize]) -> String {
    match layers {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            layers
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// scikit-learn's `MLPClassifier(hidden_layer_sizes=layers, activation="relu")` for 784 pixels and
/// 10 classes: ReLU hidden layers, softmax output (in the loss), Glorot-uniform weights.
pub fn sklearn_mlp(layers: &[usize], seed: u64) -> Result<Model> {
    Sequential::mlp(784, layers, Activation::Relu, 0.0, 10).build(seed)
}

/// scikit-learn's `MLPClassifier` training: Adam (`learning_rate_init`, ε = 1e-8), L2 penalty
/// `alpha`, `batch_size`, `max_iter` epochs, and its default stopping rule (training loss not
/// better by 1e-4 for 10 iterations). For `early_stopping=True` replace the rule with
/// [`EarlyStopping::sklearn`] and pass a validation set.
pub fn sklearn_config(
    learning_rate: f32,
    alpha: f32,
    batch_size: usize,
    max_iter: usize,
    seed: u64,
) -> TrainConfig {
    TrainConfig::default()
        .epochs(max_iter)
        .batch_size(batch_size)
        .optimizer(Optimizer::sklearn_adam(learning_rate))
        .l2(alpha)
        .early_stopping(EarlyStopping::sklearn_train_loss())
        .seed(seed)
}

/// One k of Algorithm 1.
#[derive(Clone, Debug, PartialEq)]
pub struct KRun {
    pub k: usize,
    pub val_accuracy: f64,
    /// Fitting and predicting the validation subset.
    pub seconds: f64,
}

/// One configuration of Algorithm 2.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpRun {
    pub layers: Vec<usize>,
    pub learning_rate: f32,
    pub val_accuracy: f64,
    /// Epochs trained (scikit-learn's `n_iter_`).
    pub iterations: usize,
    pub seconds: f64,
}

impl MlpRun {
    /// `(256, 128, 64) lr 0.001`.
    pub fn label(&self) -> String {
        format!("{} lr {}", layers_text(&self.layers), self.learning_rate)
    }
}

/// The report's Table 3 as records, for the same summaries as ours.
pub fn table_3_runs() -> Vec<MlpRun> {
    TABLE_3
        .iter()
        .map(|r| MlpRun {
            layers: r.layers.to_vec(),
            learning_rate: r.learning_rate,
            val_accuracy: r.val_accuracy,
            iterations: r.iterations,
            seconds: f64::NAN,
        })
        .collect()
}

fn report_k(k: usize) -> Option<f64> {
    TABLE_1.iter().find(|(rk, _)| *rk == k).map(|(_, a)| *a)
}

fn report_grid_row(layers: &[usize], learning_rate: f32) -> Option<&'static GridRow> {
    TABLE_3
        .iter()
        .find(|r| r.layers == layers && r.learning_rate == learning_rate)
}

/// Table 1 beside ours: k, our validation accuracy, the report's, the difference, seconds.
pub fn k_grid_table(runs: &[KRun], title: &str) -> Result<Table> {
    let report: Vec<Option<f64>> = runs.iter().map(|r| report_k(r.k)).collect();
    let frame = DataFrame::new(
        runs.len(),
        vec![
            Column::new(
                "k".into(),
                runs.iter().map(|r| r.k as u64).collect::<Vec<_>>(),
            ),
            Column::new(
                "val. accuracy (ours)".into(),
                runs.iter().map(|r| r.val_accuracy).collect::<Vec<_>>(),
            ),
            Column::new("val. accuracy (report)".into(), report.clone()),
            Column::new(
                "ours − report".into(),
                runs.iter()
                    .zip(&report)
                    .map(|(r, rep)| rep.map(|a| r.val_accuracy - a))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "seconds".into(),
                runs.iter().map(|r| r.seconds).collect::<Vec<_>>(),
            ),
        ],
    )?;
    Ok(Table::new(frame).titled(title))
}

/// Validation accuracy against k, ours and the report's Table 1.
pub fn k_grid_chart(runs: &[KRun]) -> Result<Figure> {
    line_chart(
        "k-NN: validation accuracy against k",
        "k",
        "validation accuracy",
        &[
            Series::new(
                "ours",
                runs.iter().map(|r| (r.k as f64, r.val_accuracy)).collect(),
            ),
            Series::new(
                "report (Table 1)",
                TABLE_1.iter().map(|&(k, a)| (k as f64, a)).collect(),
            ),
        ],
    )
}

/// Table 3 beside ours: architecture, learning rate, validation accuracy and iterations (ours,
/// the report's), seconds.
pub fn mlp_grid_table(runs: &[MlpRun], title: &str) -> Result<Table> {
    let report: Vec<Option<&GridRow>> = runs
        .iter()
        .map(|r| report_grid_row(&r.layers, r.learning_rate))
        .collect();
    let frame = DataFrame::new(
        runs.len(),
        vec![
            Column::new(
                "architecture".into(),
                runs.iter()
                    .map(|r| layers_text(&r.layers))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "learning rate".into(),
                runs.iter()
                    .map(|r| f64::from(r.learning_rate))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "val. accuracy (ours)".into(),
                runs.iter().map(|r| r.val_accuracy).collect::<Vec<_>>(),
            ),
            Column::new(
                "val. accuracy (report)".into(),
                report
                    .iter()
                    .map(|g| g.map(|g| g.val_accuracy))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "iterations (ours)".into(),
                runs.iter().map(|r| r.iterations as u64).collect::<Vec<_>>(),
            ),
            Column::new(
                "iterations (report)".into(),
                report
                    .iter()
                    .map(|g| g.map(|g| g.iterations as u64))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "seconds (two trainings at a time)".into(),
                runs.iter().map(|r| r.seconds).collect::<Vec<_>>(),
            ),
        ],
    )?;
    Ok(Table::new(frame).titled(title))
}

/// One class's (precision, recall, F1, support), as [`ConfusionMatrix::per_class`] gives it.
type PerClass = (f64, f64, f64, usize);

/// A per-class table beside the report's (Table 2 or 4): precision, recall, F1 and support, ours
/// and the report's, one row per class.
pub fn per_class_table(
    cm: &ConfusionMatrix,
    report: &[ClassRow; 10],
    title: &str,
) -> Result<Table> {
    let ours = cm.per_class();
    if ours.len() != report.len() {
        return Err(Error::shape(
            "classes in the confusion matrix",
            report.len(),
            ours.len(),
            "Build it with ConfusionMatrix::fashion (the ten Fashion-MNIST classes)",
        ));
    }
    let col = |name: &str, f: &dyn Fn(&PerClass, &ClassRow) -> f64| {
        Column::new(
            name.into(),
            ours.iter()
                .zip(report)
                .map(|(o, r)| f(o, r))
                .collect::<Vec<f64>>(),
        )
    };
    let frame = DataFrame::new(
        report.len(),
        vec![
            Column::new("class".into(), cm.class_names.clone()),
            col("precision (ours)", &|o, _| o.0),
            col("precision (report)", &|_, r| r.precision),
            col("recall (ours)", &|o, _| o.1),
            col("recall (report)", &|_, r| r.recall),
            col("F1 (ours)", &|o, _| o.2),
            col("F1 (report)", &|_, r| r.f1),
            Column::new(
                "support (ours)".into(),
                ours.iter().map(|o| o.3 as u64).collect::<Vec<_>>(),
            ),
            Column::new(
                "support (report)".into(),
                report.iter().map(|r| r.support as u64).collect::<Vec<_>>(),
            ),
        ],
    )?;
    Ok(Table::new(frame).titled(title))
}

/// A comparison row per k of Table 1 that this run tried.
pub fn compare_k_grid(mut c: Comparison, runs: &[KRun], tolerance: f64) -> Comparison {
    for r in runs {
        if let Some(report) = report_k(r.k) {
            let metric = format!("Table 1: k-NN validation accuracy, k = {}", r.k);
            c = c.about(&metric, report, r.val_accuracy, tolerance);
        }
    }
    c
}

/// A comparison row per configuration of Table 3 that this run trained (validation accuracy).
pub fn compare_mlp_grid(mut c: Comparison, runs: &[MlpRun], tolerance: f64) -> Comparison {
    for r in runs {
        if let Some(report) = report_grid_row(&r.layers, r.learning_rate) {
            let metric = format!("Table 3: {} validation accuracy", r.label());
            c = c.about(&metric, report.val_accuracy, r.val_accuracy, tolerance);
        }
    }
    c
}

/// A comparison row per class: our F1 beside the report's (`table`: "Table 2 (k-NN)", …).
pub fn compare_per_class_f1(
    mut c: Comparison,
    table: &str,
    cm: &ConfusionMatrix,
    report: &[ClassRow; 10],
    tolerance: f64,
) -> Comparison {
    for (ours, r) in cm.per_class().iter().zip(report) {
        c = c.about(
            &format!("{table}: F1 of {}", r.class),
            r.f1,
            ours.2,
            tolerance,
        );
    }
    c
}

/// The class with the lowest F1 (the first of equals).
pub fn hardest_class(cm: &ConfusionMatrix) -> String {
    let rows = cm.per_class();
    let worst = (0..rows.len())
        .min_by(|&a, &b| rows[a].2.total_cmp(&rows[b].2))
        .unwrap_or(0);
    cm.class_names.get(worst).cloned().unwrap_or_default()
}

/// The `n` classes images of class `truth` are most often mistaken for, most frequent first
/// (equal counts: the smaller label first).
pub fn mistaken_for(cm: &ConfusionMatrix, truth: usize, n: usize) -> Vec<String> {
    let mut others: Vec<(usize, usize)> = (0..cm.n_classes())
        .filter(|&p| p != truth)
        .map(|p| (cm.count(truth, p), p))
        .filter(|&(count, _)| count > 0)
        .collect();
    others.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    others
        .into_iter()
        .take(n)
        .map(|(_, p)| cm.class_names[p].clone())
        .collect()
}

/// What the report's discussion reads off Table 3, for a grid of two learning rates: per
/// learning rate the mean validation accuracy and mean iterations, and for how many
/// architectures the larger rate scored lower.
#[derive(Clone, Debug, PartialEq)]
pub struct LearningRateEffect {
    /// (learning rate, mean validation accuracy, mean iterations), smaller rate first.
    pub means: Vec<(f32, f64, f64)>,
    /// Architectures where the largest rate's accuracy is below the smallest rate's.
    pub larger_rate_lower: usize,
    /// Architectures trained at both rates.
    pub architectures: usize,
}

/// See [`LearningRateEffect`].
pub fn learning_rate_effect(runs: &[MlpRun]) -> LearningRateEffect {
    let mut rates: Vec<f32> = runs.iter().map(|r| r.learning_rate).collect();
    rates.sort_by(f32::total_cmp);
    rates.dedup();
    let means = rates
        .iter()
        .map(|&lr| {
            let at: Vec<&MlpRun> = runs.iter().filter(|r| r.learning_rate == lr).collect();
            let n = at.len().max(1) as f64;
            (
                lr,
                at.iter().map(|r| r.val_accuracy).sum::<f64>() / n,
                at.iter().map(|r| r.iterations as f64).sum::<f64>() / n,
            )
        })
        .collect();
    let (mut lower, mut both) = (0, 0);
    if let (Some(&small), Some(&large)) = (rates.first(), rates.last()) {
        for r in runs.iter().filter(|r| r.learning_rate == small) {
            if let Some(l) = runs
                .iter()
                .find(|o| o.learning_rate == large && o.layers == r.layers && large != small)
            {
                both += 1;
                lower += usize::from(l.val_accuracy < r.val_accuracy);
            }
        }
    }
    LearningRateEffect {
        means,
        larger_rate_lower: lower,
        architectures: both,
    }
}

/// The best validation accuracy among architectures of `depth` hidden layers.
pub fn best_of_depth(runs: &[MlpRun], depth: usize) -> Option<f64> {
    runs.iter()
        .filter(|r| r.layers.len() == depth)
        .map(|r| r.val_accuracy)
        .max_by(f64::total_cmp)
}

/// One configuration of Algorithm 2: [`sklearn_mlp`] trained with [`sklearn_config`] (the grid's
/// α, batch size and most iterations from `s`) on `train`, scored on `val`; prints one line.
pub fn train_grid_config(
    layers: &[usize],
    learning_rate: f32,
    s: &Settings,
    train: &LabelledSet,
    val: &LabelledSet,
) -> Result<MlpRun> {
    let started = Instant::now();
    let mut model = sklearn_mlp(layers, s.seed)?;
    let config = sklearn_config(
        learning_rate,
        s.alpha,
        s.batch_size,
        s.mlp_grid_max_iter,
        s.seed,
    )
    .verbose(false);
    let iterations = fit(&mut model, train, None, &config)?.epochs.len();
    let run = MlpRun {
        layers: layers.to_vec(),
        learning_rate,
        val_accuracy: model.score(val)?,
        iterations,
        seconds: started.elapsed().as_secs_f64(),
    };
    println!(
        "{}: validation accuracy {:.4} after {iterations} iterations ({:.1} s)",
        run.label(),
        run.val_accuracy,
        run.seconds
    );
    Ok(run)
}

/// Training, validation and test accuracy of one model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    pub train: f64,
    pub validation: f64,
    pub test: f64,
}

impl Scores {
    /// The train − validation gap in percentage points.
    pub fn gap_pp(&self) -> f64 {
        100.0 * (self.train - self.validation)
    }
}

/// Everything notebook 01 measured, for the comparison with the report, the discussion and the
/// conclusion.
#[derive(Clone, Debug, PartialEq)]
pub struct Findings {
    pub protocol: Protocol,
    /// Algorithm 1, in the order tried, and the k it chose.
    pub k_runs: Vec<KRun>,
    pub best_k: usize,
    /// The chosen k with `knn_stored` training images stored (training accuracy on those).
    pub knn: Scores,
    pub knn_stored: usize,
    /// On the validation set.
    pub knn_cm: ConfusionMatrix,
    /// Seconds to predict the `n_test` test images with `knn_stored`, and with all `n_train`,
    /// training images stored; and with the final MLP.
    pub knn_test_seconds: f64,
    pub knn_all_seconds: f64,
    pub mlp_test_seconds: f64,
    pub n_train: usize,
    pub n_test: usize,
    /// Algorithm 2 and its winner.
    pub grid: Vec<MlpRun>,
    pub best: MlpRun,
    /// The winner on all training images, α of the grid: scores and training loss per iteration.
    pub base: Scores,
    pub base_losses: Vec<f64>,
    /// The regularised run (the report's final numbers): scores, iterations, its α.
    pub mlp: Scores,
    pub reg_iterations: usize,
    pub reg_alpha: f32,
    /// The regularised run on the validation set.
    pub mlp_cm: ConfusionMatrix,
}

fn recall(cm: &ConfusionMatrix, class: usize) -> f64 {
    cm.per_class().get(class).map_or(f64::NAN, |r| r.1)
}

fn pct(x: f64) -> f64 {
    100.0 * x
}

impl Findings {
    /// Shirt's recall with k-NN and with the MLP (validation set).
    pub fn shirt_recall(&self) -> (f64, f64) {
        (recall(&self.knn_cm, SHIRT), recall(&self.mlp_cm, SHIRT))
    }

    /// Every number of the report against ours: the headline rows, then Table 1 and Table 3 row
    /// by row, then the per-class F1 of Tables 2 and 4.
    pub fn comparison(&self) -> Comparison {
        let (shirt_knn, shirt_mlp) = self.shirt_recall();
        let mut confusions = mistaken_for(&self.knn_cm, SHIRT, 2);
        confusions.sort();
        let lr = learning_rate_effect(&self.grid);
        let first_loss = self.base_losses.first().copied().unwrap_or(f64::NAN);
        let last_loss = self.base_losses.last().copied().unwrap_or(f64::NAN);
        let c = Comparison::new()
            .at_least(
                "k-NN test accuracy (target)",
                SAID.knn_target,
                self.knn.test,
            )
            .about("k-NN test accuracy", SAID.knn_test, self.knn.test, 0.01)
            .about(
                "k-NN validation accuracy",
                SAID.knn_val,
                self.knn.validation,
                0.01,
            )
            .about(
                "k-NN training accuracy (30k subset)",
                SAID.knn_train,
                self.knn.train,
                0.01,
            )
            .exact("best k", SAID.best_k as u64, self.best_k as u64)
            .exact(
                "k-NN: Shirt most often taken for (two classes)",
                "Coat, T-shirt/top",
                confusions.join(", "),
            )
            .exact(
                "best architecture",
                layers_text(SAID.best_layers),
                layers_text(&self.best.layers),
            )
            .exact(
                "best learning rate",
                SAID.best_lr.to_string(),
                self.best.learning_rate.to_string(),
            )
            .about(
                "Table 3: architectures where lr 0.01 scores below lr 0.001",
                8.0,
                lr.larger_rate_lower as f64,
                1.0,
            )
            .about(
                "base MLP: iterations",
                SAID.base_iterations as f64,
                self.base_losses.len() as f64,
                30.0,
            )
            .about(
                "base MLP: first training loss",
                SAID.loss_first,
                first_loss,
                0.05,
            )
            .about(
                "base MLP: last training loss",
                SAID.loss_last,
                last_loss,
                0.02,
            )
            .at_least("MLP test accuracy (target)", SAID.mlp_target, self.mlp.test)
            .about(
                "MLP training accuracy",
                SAID.mlp_train,
                self.mlp.train,
                0.02,
            )
            .about(
                "MLP validation accuracy",
                SAID.mlp_val,
                self.mlp.validation,
                0.01,
            )
            .about("MLP test accuracy", SAID.mlp_test, self.mlp.test, 0.01)
            .about(
                "regularised run: iterations",
                SAID.reg_iterations as f64,
                self.reg_iterations as f64,
                15.0,
            )
            .about(
                "regularised run: train − validation gap (pp)",
                SAID.reg_gap_pp,
                self.mlp.gap_pp(),
                1.5,
            )
            .about(
                "Shirt recall, k-NN (Table 2)",
                TABLE_2[SHIRT].recall,
                shirt_knn,
                0.03,
            )
            .about(
                "Shirt recall, MLP (Table 4)",
                TABLE_4[SHIRT].recall,
                shirt_mlp,
                0.03,
            )
            .at_least(
                "Shirt recall, MLP − k-NN (the report: a rise, 0.57 → 0.70)",
                0.0,
                shirt_mlp - shirt_knn,
            )
            .exact("lowest F1, k-NN", "Shirt", hardest_class(&self.knn_cm))
            .exact("lowest F1, MLP", "Shirt", hardest_class(&self.mlp_cm));
        let c = compare_k_grid(c, &self.k_runs, 0.01);
        let c = compare_mlp_grid(c, &self.grid, 0.01);
        let c = compare_per_class_f1(c, "Table 2 (k-NN)", &self.knn_cm, &TABLE_2, 0.03);
        compare_per_class_f1(c, "Table 4 (MLP)", &self.mlp_cm, &TABLE_4, 0.03)
    }

    /// The report's discussion points (sections 2.4 and 3.5), stated from this run's numbers.
    pub fn discussion(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let (Some(first), Some(last)) = (self.k_runs.first(), self.k_runs.last()) {
            let best = self.k_runs.iter().find(|r| r.k == self.best_k);
            lines.push(format!(
                "k: the best k is {} ({:.4}); k = {} scores {:.4}, k = {} scores {:.4}.",
                self.best_k,
                best.map_or(f64::NAN, |r| r.val_accuracy),
                first.k,
                first.val_accuracy,
                last.k,
                last.val_accuracy
            ));
        }
        lines.push(format!(
            "Prediction time grows with the stored images: {} test images in {:.2} s with {} stored, {:.2} s with {}; the MLP takes {:.3} s.",
            self.n_test, self.knn_test_seconds, self.knn_stored, self.knn_all_seconds, self.n_train, self.mlp_test_seconds
        ));
        if let (Some(deep), Some(shallow)) =
            (best_of_depth(&self.grid, 3), best_of_depth(&self.grid, 1))
        {
            lines.push(format!(
                "Depth: the best three-layer net scores {deep:.4}, the best one-layer net {shallow:.4}: {:+.2} pp.",
                pct(deep - shallow)
            ));
        }
        let lr = learning_rate_effect(&self.grid);
        for (rate, acc, iterations) in &lr.means {
            lines.push(format!(
                "Learning rate {rate}: mean validation accuracy {acc:.4} after {iterations:.1} iterations on average."
            ));
        }
        lines.push(format!(
            "The larger learning rate scores lower for {} of {} architectures.",
            lr.larger_rate_lower, lr.architectures
        ));
        lines.push(format!(
            "Regularisation: the train − validation gap is {:.2} pp for the base model, {:.2} pp with α = {} and early stopping (after {} iterations).",
            self.base.gap_pp(), self.mlp.gap_pp(), self.reg_alpha, self.reg_iterations
        ));
        lines
    }

    /// The report's conclusion (section 6), stated from this run's numbers.
    pub fn conclusion(&self) -> Vec<String> {
        let met = |ours: f64, target: f64| if ours >= target { "met" } else { "NOT met" };
        let (shirt_knn, shirt_mlp) = self.shirt_recall();
        let comparison = self.comparison();
        let rows_met = comparison.entries.iter().filter(|e| e.met()).count();
        vec![
            format!(
                "The neural network {} k-NN: {:.2} % against {:.2} % test accuracy.",
                if self.mlp.test > self.knn.test { "outperformed" } else { "did not outperform" },
                pct(self.mlp.test),
                pct(self.knn.test)
            ),
            format!("Best k-NN configuration: k = {} with Euclidean distance.", self.best_k),
            format!(
                "Best neural network: {} hidden units with learning rate {} (validation {:.4}).",
                layers_text(&self.best.layers),
                self.best.learning_rate,
                self.best.val_accuracy
            ),
            format!(
                "Targets: k-NN ≥ {:.0} % {}; neural network ≥ {:.0} % {}.",
                pct(SAID.knn_target),
                met(self.knn.test, SAID.knn_target),
                pct(SAID.mlp_target),
                met(self.mlp.test, SAID.mlp_target)
            ),
            format!(
                "Shirt: recall {shirt_knn:.2} with k-NN and {shirt_mlp:.2} with the network; the class of lowest F1 is {} and {}.",
                hardest_class(&self.knn_cm),
                hardest_class(&self.mlp_cm)
            ),
            format!(
                "{rows_met} of {} comparisons with the report met ({} protocol).",
                comparison.entries.len(),
                self.protocol
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prep::Scaler;
    use ndarray::Array1;

    #[test]
    fn the_report_protocol_is_the_reports_own_settings() {
        let s = Settings::for_protocol(Protocol::Report);
        assert_eq!(
            (s.mlp_grid_train, s.mlp_grid_val, s.mlp_grid_max_iter),
            (30_000, 5_000, 200)
        );
        assert_eq!(
            (s.knn_grid_train, s.knn_grid_val, s.knn_final_train),
            (10_000, 5_000, 30_000)
        );
        assert_eq!(
            (s.mlp_final_max_iter, s.batch_size, s.images),
            (300, 200, 70_000)
        );
        assert_eq!(s.k_values, TABLE_1.map(|(k, _)| k).to_vec());
        // Algorithm 2's 16 configurations in Table 3's order.
        let configs: Vec<(Vec<usize>, f32)> = s
            .architectures
            .iter()
            .flat_map(|l| s.learning_rates.iter().map(move |&lr| (l.clone(), lr)))
            .collect();
        let table: Vec<(Vec<usize>, f32)> = TABLE_3
            .iter()
            .map(|r| (r.layers.to_vec(), r.learning_rate))
            .collect();
        assert_eq!(configs, table);
        // Quick runs the same experiments, smaller.
        let q = Settings::for_protocol(Protocol::Quick);
        assert_eq!(q.architectures.len() * q.learning_rates.len(), 16);
        assert!(q.mlp_grid_train < s.mlp_grid_train && q.images < s.images);
    }

    #[test]
    fn the_reports_tables_agree_with_its_text() {
        // Table 1's best k and Table 3's best configuration are the ones the text names.
        let best_k = TABLE_1
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|r| r.0);
        assert_eq!(best_k, Some(SAID.best_k));
        let best = TABLE_3
            .iter()
            .max_by(|a, b| a.val_accuracy.total_cmp(&b.val_accuracy))
            .map(|r| (r.layers, r.learning_rate));
        assert_eq!(best, Some((SAID.best_layers, SAID.best_lr)));
        // The final numbers' train − validation gap is the regularised run's 6.96 pp.
        assert!((100.0 * (SAID.mlp_train - SAID.mlp_val) - SAID.reg_gap_pp).abs() < 0.02);
        assert_eq!(
            (TABLE_2[SHIRT].class, TABLE_2[SHIRT].recall),
            ("Shirt", 0.57)
        );
        assert_eq!(TABLE_4[SHIRT].recall, 0.70);
        for (a, b) in TABLE_2.iter().zip(&TABLE_4) {
            assert_eq!((a.class, a.support), (b.class, b.support));
        }
        assert_eq!(layers_text(&[64]), "(64,)");
        assert_eq!(layers_text(&[256, 128, 64]), "(256, 128, 64)");
    }

    #[test]
    fn learning_rate_effect_reads_table_3_as_the_report_does() {
        let e = learning_rate_effect(&table_3_runs());
        // "Learning rate 0.01 ... plateaued at lower accuracy": lower for all eight.
        assert_eq!((e.larger_rate_lower, e.architectures), (8, 8));
        assert_eq!(e.means.len(), 2);
        let (lr_small, acc_small, it_small) = e.means[0];
        let (lr_large, acc_large, it_large) = e.means[1];
        assert_eq!((lr_small, lr_large), (0.001, 0.01));
        assert!(acc_small > acc_large);
        // "... reduced iteration counts": 114.875 against 101.5 on average.
        assert!((it_small - 114.875).abs() < 1e-9 && (it_large - 101.5).abs() < 1e-9);
        // Depth: the best three-layer net beats the best one-layer net by 0.28 pp in Table 3.
        let runs = table_3_runs();
        let gain = best_of_depth(&runs, 3)
            .zip(best_of_depth(&runs, 1))
            .map(|(a, b)| a - b);
        assert!(gain.is_some_and(|g| (g - 0.0028).abs() < 1e-9));
        assert_eq!(best_of_depth(&runs, 4), None);
    }

    /// A confusion matrix where Shirt (6) is mistaken for T-shirt (0) twice and Coat (4) once.
    fn confusion() -> ConfusionMatrix {
        let mut truth: Vec<u8> = (0..10).flat_map(|c| [c; 4]).collect();
        let mut predicted = truth.clone();
        predicted[24] = 0;
        predicted[25] = 0;
        predicted[26] = 4;
        truth.push(2);
        predicted.push(6);
        ConfusionMatrix::fashion(&Array1::from(predicted), &Array1::from(truth)).expect("matrix")
    }

    #[test]
    fn per_class_tables_and_rows_set_ours_beside_the_report() {
        let cm = confusion();
        let table = per_class_table(&cm, &TABLE_2, "Table 2").expect("table");
        assert_eq!(table.frame.height(), 10);
        assert_eq!(table.frame.width(), 9);
        let recall = table.frame.column("recall (ours)").expect("column");
        assert_eq!(recall.f64().expect("f64").get(SHIRT), Some(0.25));
        let report = table.frame.column("recall (report)").expect("column");
        assert_eq!(report.f64().expect("f64").get(SHIRT), Some(0.57));
        assert_eq!(hardest_class(&cm), "Shirt");
        assert_eq!(mistaken_for(&cm, SHIRT, 2), ["T-shirt/top", "Coat"]);
        assert_eq!(mistaken_for(&cm, 0, 2), Vec::<String>::new());
        let c = compare_per_class_f1(Comparison::new(), "Table 2 (k-NN)", &cm, &TABLE_2, 0.03);
        assert_eq!(c.entries.len(), 10);
        assert_eq!(c.entries[SHIRT].metric, "Table 2 (k-NN): F1 of Shirt");
        // Trouser: ours 1.0 against the report's 0.98 is met; Shirt's 0.4 against 0.60 is not.
        assert!(c.entries[1].met() && !c.entries[SHIRT].met());
    }

    #[test]
    fn grid_tables_and_rows_match_records_to_the_reports_rows_by_setting() {
        let k_runs = vec![
            KRun {
                k: 5,
                val_accuracy: 0.83,
                seconds: 1.0,
            },
            KRun {
                k: 2,
                val_accuracy: 0.80,
                seconds: 1.0,
            },
        ];
        let t = k_grid_table(&k_runs, "Table 1").expect("table");
        let report = t.frame.column("val. accuracy (report)").expect("column");
        assert_eq!(report.f64().expect("f64").get(0), Some(0.8274));
        assert_eq!(report.f64().expect("f64").get(1), None); // k = 2 is not in Table 1
        let c = compare_k_grid(Comparison::new(), &k_runs, 0.01);
        assert_eq!(c.entries.len(), 1);
        assert!(c.entries[0].met());
        assert!(k_grid_chart(&k_runs).is_ok());

        let mut runs = table_3_runs();
        runs.reverse();
        runs[0].val_accuracy = 0.80; // (256, 128, 64) lr 0.01, 0.0748 under the report
        let t = mlp_grid_table(&runs, "Table 3").expect("table");
        assert_eq!(t.frame.height(), 16);
        let its = t.frame.column("iterations (report)").expect("column");
        assert_eq!(its.u64().expect("u64").get(0), Some(62));
        let c = compare_mlp_grid(Comparison::new(), &runs, 0.01);
        assert_eq!(c.entries.len(), 16);
        assert_eq!(c.entries.iter().filter(|e| !e.met()).count(), 1);
        assert_eq!(
            c.entries[0].metric,
            "Table 3: (256, 128, 64) lr 0.01 validation accuracy"
        );
    }

    fn findings() -> Findings {
        let grid = table_3_runs();
        let best = grid[14].clone();
        Findings {
            protocol: Protocol::Classroom,
            k_runs: TABLE_1
                .iter()
                .map(|&(k, a)| KRun {
                    k,
                    val_accuracy: a,
                    seconds: 1.0,
                })
                .collect(),
            best_k: 5,
            knn: Scores {
                train: 0.8912,
                validation: 0.8493,
                test: 0.8414,
            },
            knn_stored: 30_000,
            knn_cm: confusion(),
            knn_test_seconds: 2.0,
            knn_all_seconds: 3.0,
            mlp_test_seconds: 0.05,
            n_train: 52_500,
            n_test: 8_750,
            grid,
            best,
            base: Scores {
                train: 0.99,
                validation: 0.89,
                test: 0.89,
            },
            base_losses: vec![0.5244, 0.2, 0.0290],
            mlp: Scores {
                train: 0.9628,
                validation: 0.8931,
                test: 0.8944,
            },
            reg_iterations: 42,
            reg_alpha: 1e-3,
            mlp_cm: confusion(),
        }
    }

    #[test]
    fn findings_compare_every_number_and_state_the_conclusion_from_them() {
        let f = findings();
        let c = f.comparison();
        // 23 headline rows, 8 of Table 1, 16 of Table 3, 10 + 10 per-class F1.
        assert_eq!(c.entries.len(), 23 + 8 + 16 + 20);
        let row = |name: &str| c.entries.iter().find(|e| e.metric == name).expect(name);
        assert!(row("MLP test accuracy").met() && row("best k").met());
        assert!(row("best architecture").met() && row("best learning rate").met());
        assert!(row("regularised run: train − validation gap (pp)").met());
        assert_eq!(row("base MLP: iterations").ours, serde_json::json!(3.0));
        // The toy matrices: Shirt recall 0.25 for both, so no rise and far from the report.
        assert!(!row("Shirt recall, k-NN (Table 2)").met());
        assert!(row("Shirt recall, MLP − k-NN (the report: a rise, 0.57 → 0.70)").met());
        assert!(row("k-NN: Shirt most often taken for (two classes)").met());
        let conclusion = f.conclusion().join("\n");
        assert!(
            conclusion.contains("outperformed k-NN: 89.44 % against 84.14 %"),
            "{conclusion}"
        );
        assert!(
            conclusion.contains("k-NN ≥ 84 % met; neural network ≥ 88 % met"),
            "{conclusion}"
        );
        assert!(
            conclusion.contains("(256, 128, 64) hidden units with learning rate 0.001"),
            "{conclusion}"
        );
        let discussion = f.discussion().join("\n");
        assert!(discussion.contains("+0.28 pp"), "{discussion}");
        assert!(discussion.contains("lower for 8 of 8"), "{discussion}");
        assert!(
            discussion.contains("6.97 pp with α = 0.001"),
            "{discussion}"
        );
    }

    #[test]
    fn a_grid_configuration_trains_and_scores_on_real_images() {
        let data = crate::data::FashionMnist::load().expect("Fashion-MNIST (run `make data`)");
        let images = data.train.stratified_subset(1_200, 1).expect("subset");
        let set = crate::prep::Scale255.labelled(&images).expect("scaled");
        let parts = set.stratified_split(&[0.75, 0.25], 1).expect("split");
        let mut s = Settings::for_protocol(Protocol::Quick);
        s.mlp_grid_max_iter = 3;
        let run = train_grid_config(&[32], 0.001, &s, &parts[0], &parts[1]).expect("trains");
        assert_eq!((run.layers.clone(), run.iterations), (vec![32], 3));
        // Three epochs on 900 images already beat chance (0.1) by far.
        assert!(run.val_accuracy > 0.5, "{run:?}");
    }

    #[test]
    fn sklearn_set_up_trains_with_its_stopping_rule() {
        let config = sklearn_config(0.01, 1e-4, 200, 300, 7);
        assert_eq!(
            (config.epochs, config.batch_size, config.seed),
            (300, 200, 7)
        );
        assert_eq!(
            config.early_stopping,
            Some(EarlyStopping::sklearn_train_loss())
        );
        assert!(sklearn_mlp(&[64, 32], 0).is_ok());
    }
}

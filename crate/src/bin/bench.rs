//! Speed benchmarks on the real data, to compare with the scikit-learn and PyTorch peers
//! (`../shared/peers/`). Each workload prints, as its last line,
//! `<workload> seconds=<s> accuracy=<a>`.
//!
//!     cargo run --release -p fashion-lab --bin bench -- knn-full

use std::process::ExitCode;
use std::time::Instant;

use fashion_lab::error::Result;
use fashion_lab::models::{KnnClassifier, KnnWeights};
use fashion_lab::nn::{Activation, Sequential};
use fashion_lab::train::{fit, Optimizer, TrainConfig};
use fashion_lab::{accuracy, scale_255, FashionMnist};

const WORKLOADS: &[(&str, &str)] = &[
    (
        "knn-full",
        "k-NN k=5 (uniform), all 60k train vs the 10k test set, exact search on pixels (= pixels/255 ranking)",
    ),
    (
        "mlp-epoch",
        "MLP 784-256-128-64-10 ReLU, Adam 1e-3, batch 128, pixels/255: median seconds per epoch over 5, test accuracy after 5",
    ),
];

fn knn_full() -> Result<(f64, f64)> {
    let data = FashionMnist::load()?;
    let model = KnnClassifier::params()
        .k(5)
        .weights(KnnWeights::Uniform)
        .fit_pixels(&data.train)?;
    let started = Instant::now();
    let predicted = model.predict_pixels(&data.test.images)?;
    let seconds = started.elapsed().as_secs_f64();
    Ok((seconds, accuracy(&predicted, &data.test.labels)?))
}

fn mlp_epoch() -> Result<(f64, f64)> {
    let data = FashionMnist::load()?;
    let (x, x_test) = (scale_255(&data.train), scale_255(&data.test));
    let mut model = Sequential::mlp(784, &[256, 128, 64], Activation::Relu, 0.0, 10).build(0)?;
    let config = TrainConfig::default()
        .batch_size(128)
        .optimizer(Optimizer::adam())
        .epochs(5)
        .verbose(true);
    let history = fit(&mut model, &x, &data.train.labels, None, &config)?;
    let mut per_epoch: Vec<f64> = history.epochs.iter().map(|e| e.seconds).collect();
    per_epoch.sort_by(f64::total_cmp);
    let acc = accuracy(&model.predict(&x_test)?, &data.test.labels)?;
    Ok((per_epoch[per_epoch.len() / 2], acc))
}

fn main() -> ExitCode {
    let Some(workload) = std::env::args().nth(1) else {
        eprintln!("usage: bench <workload>\nworkloads:");
        for (name, what) in WORKLOADS {
            eprintln!("  {name:<10} {what}");
        }
        return ExitCode::from(2);
    };
    let result = match workload.as_str() {
        "knn-full" => knn_full(),
        "mlp-epoch" => mlp_epoch(),
        other => {
            eprintln!("unknown workload `{other}`; run without arguments for the list");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok((seconds, acc)) => {
            println!("{workload} seconds={seconds:.3} accuracy={acc:.4}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

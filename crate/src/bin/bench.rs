//! Speed benchmarks on the real data, to compare with the scikit-learn and PyTorch peers
//! (`../shared/peers/`). Each workload prints, as its last line,
//! `<workload> seconds=<s> accuracy=<a>`.
//!
//!     cargo run --release -p fashion-lab --bin bench -- knn-full

use std::process::ExitCode;
use std::time::Instant;

use fashion_lab::models::{KnnClassifier, KnnWeights};
use fashion_lab::{accuracy, FashionMnist, Result};

const WORKLOADS: &[(&str, &str)] = &[(
    "knn-full",
    "k-NN k=5 (uniform), all 60k train vs the 10k test set, exact search on pixels (= pixels/255 ranking)",
)];

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

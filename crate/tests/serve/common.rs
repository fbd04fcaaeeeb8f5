//! What the server tests share: a tiny model trained here on real images (so no test needs
//! `models/` from notebook 02), a models folder holding it and a file that is not a model, and
//! the example pictures.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use fashion_lab::serve::{client, RunningServer, ServeConfig, Server};
use fashion_lab::train::{fit, Optimizer, TrainConfig};
use fashion_lab::{Activation, FashionMnist, Model, Scale255, Scaler, Sequential};

/// The example pictures of `notebooks/examples/` and the class each one shows.
pub const EXAMPLES: [(&str, &str); 4] = [
    ("ankle-boot.png", "Ankle boot"),
    ("bag.png", "Bag"),
    ("pullover.png", "Pullover"),
    ("trouser.png", "Trouser"),
];

/// The tiny model's file name in the models folder (the servers' default).
pub const TINY: &str = "tiny-mlp.safetensors";
/// A file in the models folder that is not a model.
pub const BROKEN: &str = "broken.safetensors";

pub struct Fixture {
    /// This run's scratch folder (under Cargo's target/tmp).
    pub scratch: PathBuf,
    /// Holds [`TINY`] and [`BROKEN`].
    pub models: PathBuf,
    /// The tiny model as trained.
    pub model: Model,
}

pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../notebooks/examples")
}

pub fn example(name: &str) -> PathBuf {
    examples_dir().join(name)
}

/// Trained once per test run: an MLP 784-128-10 on 6,000 real images, 4 epochs (about a second).
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
        remove_old_scratch(root);
        let scratch = root.join(format!("serve-{}", std::process::id()));
        let models = scratch.join("models");
        std::fs::create_dir_all(&models).expect("scratch folder");
        let data = FashionMnist::load().expect("Fashion-MNIST (run `make data`)");
        let train = data.train.stratified_subset(6_000, 0).expect("subset");
        let set = Scale255.labelled(&train).expect("scale");
        let mut model = Sequential::mlp(784, &[128], Activation::Relu, 0.0, 10)
            .build(7)
            .expect("build");
        let config = TrainConfig::default()
            .epochs(4)
            .batch_size(64)
            .optimizer(Optimizer::adam())
            .seed(7)
            .verbose(false);
        fit(&mut model, &set, None, &config).expect("train the tiny model");
        model.save(models.join(TINY)).expect("save the tiny model");
        std::fs::write(models.join(BROKEN), b"this is not a model, only text").expect("write");
        Fixture {
            scratch,
            models,
            model,
        }
    })
}

/// Scratch folders of earlier runs (over an hour old) go.
fn remove_old_scratch(root: &Path) {
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < hour_ago);
        if old && entry.file_name().to_string_lossy().starts_with("serve-") {
            std::fs::remove_dir_all(entry.path()).ok();
        }
    }
}

/// An in-process server on a free loopback port over `models`, the tiny model its default.
pub fn start_server(models: &Path, default_model: &str) -> RunningServer {
    let config = ServeConfig {
        port: 0,
        models_dir: models.to_path_buf(),
        model: PathBuf::from(default_model),
        log_requests: false,
        ..ServeConfig::default()
    };
    Server::bind(config).expect("bind").spawn().expect("start")
}

/// `POST /api/classify<query>` with `body`.
pub fn post(server: &RunningServer, query: &str, body: &[u8]) -> client::HttpResponse {
    client::request(
        &server.address().to_string(),
        "POST",
        &format!("/api/classify{query}"),
        Some("application/octet-stream"),
        body,
        Duration::from_secs(30),
    )
    .expect("the server answers")
}

pub fn get(server: &RunningServer, target: &str) -> client::HttpResponse {
    client::request(
        &server.address().to_string(),
        "GET",
        target,
        None,
        b"",
        Duration::from_secs(30),
    )
    .expect("the server answers")
}

//! Finished trainings kept on disk, so a long protocol survives an interrupt: evcxr's interrupt
//! kills the kernel and every variable, and the report protocol trains for hours.
//!
//! [`super::fit`] looks a training up by its key: a hash of the model (each layer's kind, the
//! architecture, the seed, the weights it starts from, where its dropout streams stand), every
//! setting of the [`TrainConfig`] that changes the numbers, the training and validation data
//! (every feature and label) and the crate's build (`FASHION_LAB_BUILD_HASH`, from build.rs).
//! Found: the model gets the trained weights and the history comes back, nothing is retrained,
//! and one line says so. Not found: it trains, writing a checkpoint between epochs
//! (`checkpoint.rs`), and at the end keeps the result. A checkpoint of the same key resumes the
//! training after its last saved epoch, to the same bits as an uninterrupted run.
//!
//! Files, in `runs/<protocol>/` at the project root (`FASHION_LAB_RUNS=<dir>` chooses another
//! folder, `FASHION_LAB_RUNS=off` turns the store off; off under the quick protocol unless set):
//! `<key>.safetensors` (the weights, with the history and what the key was made of in its
//! metadata), `<key>.json` (the same facts to read) and, while training, `<key>.checkpoint.safetensors`.
//! Every file is written under a name of its own and renamed into place, so an interrupt
//! mid-write or two trainings at once never leave a damaged file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use ndarray::Array2;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{History, TrainConfig};
use crate::error::{Error, Result};
use crate::nn::Model;
use crate::prep::LabelledSet;
use crate::protocol::Protocol;

/// The variable that moves the store (`FASHION_LAB_RUNS=<folder>`) or turns it off (`off`).
pub const RUNS_ENV: &str = "FASHION_LAB_RUNS";

/// This build of the crate: a hash of its sources, Cargo files and compiler (build.rs).
pub const BUILD_HASH: &str = env!("FASHION_LAB_BUILD_HASH");

/// Where finished trainings are kept, or nowhere. [`super::fit`] uses [`RunStore::from_env`];
/// [`super::fit_in`] takes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunStore {
    folder: Option<PathBuf>,
}

impl RunStore {
    /// No store: every training trains.
    pub fn off() -> Self {
        Self { folder: None }
    }

    /// Trainings kept in `folder` (created when first written).
    pub fn at(folder: impl Into<PathBuf>) -> Self {
        Self {
            folder: Some(folder.into()),
        }
    }

    /// The store of this process: `FASHION_LAB_RUNS` when set (a folder, or `off`), else
    /// `runs/<protocol>/` at the project root, except under the quick protocol (the tests),
    /// whose one-epoch trainings are not worth keeping.
    pub fn from_env() -> Self {
        Self::choose(
            Protocol::from_env().ok(),
            std::env::var(RUNS_ENV).ok().as_deref(),
        )
    }

    /// [`RunStore::from_env`]'s rule, given the protocol (`None`: misspelt) and the variable.
    pub fn choose(protocol: Option<Protocol>, runs_env: Option<&str>) -> Self {
        match runs_env.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) if ["off", "0", "false", "no"].contains(&v.to_ascii_lowercase().as_str()) => {
                Self::off()
            }
            Some(folder) => Self::at(folder),
            None => match protocol {
                Some(Protocol::Quick) | None => Self::off(),
                Some(p) => Self::at(Self::default_folder(p)),
            },
        }
    }

    /// `runs/<protocol>/` at the project root (the folder above the crate, wherever the process
    /// runs: notebooks/, the project root, crate/).
    pub fn default_folder(protocol: Protocol) -> PathBuf {
        project_root().join("runs").join(protocol.name())
    }

    /// The folder, or `None` when off.
    pub fn folder(&self) -> Option<&Path> {
        self.folder.as_deref()
    }

    /// The files of the training `model` would make of this data and config, `None` when off.
    pub(crate) fn entry(
        &self,
        model: &Model,
        train: &LabelledSet,
        validation: Option<&LabelledSet>,
        config: &TrainConfig,
    ) -> Option<Entry> {
        let folder = self.folder.as_ref()?;
        let (key, about) = key(model, train, validation, config);
        Some(Entry {
            finished: folder.join(format!("{}.safetensors", &key[..16])),
            checkpoint: folder.join(format!("{}.checkpoint.safetensors", &key[..16])),
            key,
            about,
        })
    }
}

fn project_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// A path as a line shows it: from the project root when inside it.
pub(crate) fn shown(path: &Path) -> String {
    let root = project_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// What a key was made of, in words (kept in the files, for a reader of `runs/`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct KeyParts {
    pub layers: Vec<String>,
    pub model_seed: u64,
    pub config: String,
    pub train: String,
    pub validation: Option<String>,
    pub build: String,
}

/// One training's files in the store, and its key.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// SHA-256 of everything the training's numbers depend on, in hex.
    pub key: String,
    pub about: KeyParts,
    pub finished: PathBuf,
    pub checkpoint: PathBuf,
}

/// The settings of `config` that change a training's numbers, written out. Destructured in
/// full, so a new field cannot be forgotten here; `verbose` and `log_every` only change what
/// is printed, so a quiet re-run still finds a verbose run's result.
fn config_text(config: &TrainConfig) -> String {
    let TrainConfig {
        epochs,
        batch_size,
        optimizer,
        l2,
        seed,
        early_stopping,
        reduce_lr,
        augmentation,
        verbose: _,
        log_every: _,
    } = config;
    format!(
        "epochs {epochs}, batch {batch_size}, {optimizer:?}, l2 {l2:?}, seed {seed}, \
         early stopping {early_stopping:?}, reduce lr {reduce_lr:?}, augmentation {augmentation:?}"
    )
}

/// A hasher fed f32 values through a buffer (one `update` per value would cost more than the hash).
fn hash_f32s(hasher: &mut Sha256, values: impl Iterator<Item = f32>) {
    let mut buffer = Vec::with_capacity(1 << 16);
    for v in values {
        buffer.extend_from_slice(&v.to_le_bytes());
        if buffer.len() == buffer.capacity() {
            hasher.update(&buffer);
            buffer.clear();
        }
    }
    hasher.update(&buffer);
}

fn key(
    model: &Model,
    train: &LabelledSet,
    validation: Option<&LabelledSet>,
    config: &TrainConfig,
) -> (String, KeyParts) {
    let about = KeyParts {
        layers: model.layers.iter().map(|l| l.kind()).collect(),
        model_seed: model.seed,
        config: config_text(config),
        train: train.fingerprint().to_string(),
        validation: validation.map(|v| v.fingerprint().to_string()),
        build: BUILD_HASH.to_string(),
    };
    let mut hasher = Sha256::new();
    // Each part with its length first, so no two different lists of parts hash alike.
    let mut part = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    part(b"fashion-lab training 1");
    part(about.build.as_bytes());
    part(about.layers.join(",").as_bytes());
    // The architecture (Debug: every field of every layer, activations and initialisers too).
    part(format!("{:?}", model.spec).as_bytes());
    part(&about.model_seed.to_le_bytes());
    for at in model.rng_positions() {
        part(&at.to_le_bytes());
    }
    part(about.config.as_bytes());
    // bf16 and f32 convolutions train to different weights (a model without any: no part).
    if let Some(products) = model.products() {
        part(format!("{products:?}").as_bytes());
    }
    part(about.train.as_bytes());
    part(
        about
            .validation
            .as_deref()
            .unwrap_or("no validation")
            .as_bytes(),
    );
    let weights = model.weights();
    let mut weight_hash = Sha256::new();
    for w in &weights {
        weight_hash.update((w.nrows() as u64).to_le_bytes());
        weight_hash.update((w.ncols() as u64).to_le_bytes());
        hash_f32s(&mut weight_hash, w.iter().copied());
    }
    part(&weight_hash.finalize());
    (format!("{:x}", hasher.finalize()), about)
}

/// What a finished training's files say about it (in the `.json` file and the metadata).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub key: String,
    /// When it finished, "YYYY-MM-DD HH:MM" UTC.
    pub trained: String,
    pub epochs: usize,
    pub seconds: f64,
    pub about: KeyParts,
}

/// A finished training read back from the store.
pub(crate) struct Finished {
    pub history: History,
    pub weights: Vec<Array2<f32>>,
    pub rng_positions: Vec<u128>,
    pub meta: Meta,
}

const FINISHED_FORMAT: &str = "fashion-lab training";
pub(crate) const CHECKPOINT_FORMAT: &str = "fashion-lab checkpoint";
const VERSION: &str = "1";

impl Entry {
    /// The finished training of this key: `Ok(None)` when there is none, an error when its
    /// file cannot be read or does not fit `model` (the caller warns and trains).
    pub fn read_finished(&self, model: &Model) -> Result<Option<Finished>> {
        let Some(bytes) = read_if_there(&self.finished)? else {
            return Ok(None);
        };
        let damaged = |reason: String| Error::RunFile {
            path: self.finished.clone(),
            reason,
        };
        let (info, mut groups) = decode(&bytes, &self.key, FINISHED_FORMAT).map_err(damaged)?;
        let history: History = json_field(&info, "history").map_err(damaged)?;
        let meta: Meta = json_field(&info, "meta").map_err(damaged)?;
        let rng_positions =
            positions(json_field(&info, "rng_positions").map_err(damaged)?).map_err(damaged)?;
        let weights = groups.take("weight");
        fits(model, &weights, &rng_positions).map_err(damaged)?;
        if history.epochs.is_empty() {
            return Err(damaged("its history has no epochs".into()));
        }
        Ok(Some(Finished {
            history,
            weights,
            rng_positions,
            meta,
        }))
    }

    /// Keeps a finished training: the weights and random streams of `model` and its history.
    pub fn write_finished(&self, model: &Model, history: &History) -> Result<()> {
        let meta = Meta {
            key: self.key.clone(),
            trained: utc_minutes(now_unix()),
            epochs: history.epochs.len(),
            seconds: history.seconds(),
            about: self.about.clone(),
        };
        let positions: Vec<String> = model.rng_positions().iter().map(u128::to_string).collect();
        let info = HashMap::from([
            ("history".to_string(), serde_json::to_string(history)?),
            ("meta".to_string(), serde_json::to_string(&meta)?),
            (
                "rng_positions".to_string(),
                serde_json::to_string(&positions)?,
            ),
        ]);
        let bytes = encode(
            &self.key,
            FINISHED_FORMAT,
            info,
            &[("weight", &model.weights())],
            &self.finished,
        )?;
        write_atomically(&self.finished, &bytes)?;
        // The same facts to read with `cat`; nothing reads it back.
        let readable = serde_json::json!({ "meta": meta, "history": history });
        let json = self.finished.with_extension("json");
        write_atomically(&json, serde_json::to_string_pretty(&readable)?.as_bytes())
    }
}

/// Whether `weights` and `positions` fit `model` (so applying them cannot fail halfway).
pub(crate) fn fits(
    model: &Model,
    weights: &[Array2<f32>],
    positions: &[u128],
) -> std::result::Result<(), String> {
    let current = model.weights();
    if current.len() != weights.len()
        || current.iter().zip(weights).any(|(c, w)| c.dim() != w.dim())
    {
        return Err(format!(
            "its {} weights do not fit this model's {}",
            weights.len(),
            current.len()
        ));
    }
    if positions.len() != model.rng_positions().len() {
        return Err("its random streams do not fit this model's dropout layers".into());
    }
    Ok(())
}

/// The file's bytes, `None` when it does not exist.
pub(crate) fn read_if_there(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::RunFile {
            path: path.to_path_buf(),
            reason: format!("cannot read it: {e}"),
        }),
    }
}

/// A metadata entry, parsed from JSON.
pub(crate) fn json_field<T: serde::de::DeserializeOwned>(
    info: &HashMap<String, String>,
    name: &str,
) -> std::result::Result<T, String> {
    let text = info.get(name).ok_or_else(|| format!("no `{name}` in it"))?;
    serde_json::from_str(text).map_err(|e| format!("its `{name}` is unreadable: {e}"))
}

/// Random-stream positions written as decimal strings (JSON numbers stop short of u128).
pub(crate) fn positions(written: Vec<String>) -> std::result::Result<Vec<u128>, String> {
    written
        .iter()
        .map(|p| {
            p.parse()
                .map_err(|_| format!("`{p}` is not a random-stream position"))
        })
        .collect()
}

/// Tensors of a store file, by group ("weight", "best", …) in their order.
pub(crate) struct Groups(HashMap<String, Vec<Array2<f32>>>);

impl Groups {
    pub fn take(&mut self, group: &str) -> Vec<Array2<f32>> {
        self.0.remove(group).unwrap_or_default()
    }
}

/// A store file: groups of 2-D f32 tensors named `<group>.<index>`, and string metadata with
/// its format, version and key.
pub(crate) fn encode(
    key: &str,
    format: &str,
    mut info: HashMap<String, String>,
    groups: &[(&str, &[Array2<f32>])],
    path: &Path,
) -> Result<Vec<u8>> {
    let cannot = |reason: String| Error::RunFile {
        path: path.to_path_buf(),
        reason,
    };
    info.insert("format".into(), format.into());
    info.insert("version".into(), VERSION.into());
    info.insert("key".into(), key.into());
    let mut named = Vec::new();
    for (group, tensors) in groups {
        for (i, t) in tensors.iter().enumerate() {
            let bytes: Vec<u8> = t.iter().flat_map(|v| v.to_le_bytes()).collect();
            named.push((format!("{group}.{i:04}"), vec![t.nrows(), t.ncols()], bytes));
        }
    }
    let mut views = Vec::with_capacity(named.len());
    for (name, shape, bytes) in &named {
        let view = TensorView::new(Dtype::F32, shape.clone(), bytes)
            .map_err(|e| cannot(format!("cannot store tensor {name}: {e}")))?;
        views.push((name.clone(), view));
    }
    safetensors::serialize(views, Some(info)).map_err(|e| cannot(format!("cannot encode it: {e}")))
}

/// Reads a file written by [`encode`]: its metadata and tensors, checked to be of `format`,
/// this version and `key`.
pub(crate) fn decode(
    bytes: &[u8],
    key: &str,
    format: &str,
) -> std::result::Result<(HashMap<String, String>, Groups), String> {
    let tensors = SafeTensors::deserialize(bytes)
        .map_err(|e| format!("damaged, or not a store file: {e}"))?;
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| format!("damaged, or not a store file: {e}"))?;
    let info = header.metadata().clone().unwrap_or_default();
    if info.get("format").map(String::as_str) != Some(format)
        || info.get("version").map(String::as_str) != Some(VERSION)
    {
        return Err(format!("not a {format} file of version {VERSION}"));
    }
    if info.get("key").map(String::as_str) != Some(key) {
        return Err("it belongs to another training (its full key differs)".into());
    }
    let mut groups: HashMap<String, Vec<(usize, Array2<f32>)>> = HashMap::new();
    for (name, view) in tensors.tensors() {
        let (group, index) = name
            .rsplit_once('.')
            .and_then(|(g, i)| Some((g.to_string(), i.parse::<usize>().ok()?)))
            .ok_or_else(|| format!("tensor `{name}` is not one of the store's"))?;
        let shape = view.shape();
        if view.dtype() != Dtype::F32 || shape.len() != 2 {
            return Err(format!("tensor `{name}` is not a 2-D f32 tensor"));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let t = Array2::from_shape_vec((shape[0], shape[1]), values)
            .map_err(|e| format!("tensor `{name}`: {e}"))?;
        groups.entry(group).or_default().push((index, t));
    }
    let mut ordered = HashMap::new();
    for (group, mut tensors) in groups {
        tensors.sort_by_key(|(i, _)| *i);
        if tensors.iter().enumerate().any(|(n, (i, _))| n != *i) {
            return Err(format!("the `{group}` tensors are not numbered 0, 1, 2, …"));
        }
        ordered.insert(group, tensors.into_iter().map(|(_, t)| t).collect());
    }
    Ok((info, Groups(ordered)))
}

/// Writes `bytes` to `path` through a file of its own (process and call) renamed into place:
/// an interrupt mid-write leaves at most a `.partial` file, never a damaged `path`, and two
/// trainings writing the same path at once each rename a complete file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let cannot = |what: &str, e: std::io::Error| Error::RunFile {
        path: path.to_path_buf(),
        reason: format!("cannot {what} it: {e}"),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| cannot("make the folder of", e))?;
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let partial = path.with_file_name(format!(
        "{name}.{}-{}.partial",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::write(&partial, bytes).and_then(|()| std::fs::rename(&partial, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(cannot("write", e));
    }
    Ok(())
}

pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// "YYYY-MM-DD HH:MM" (UTC) of a Unix time (Howard Hinnant's days-to-civil algorithm).
pub(crate) fn utc_minutes(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let minutes = (unix % 86_400) / 60;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        minutes / 60,
        minutes % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Sequential};
    use crate::prep::{Augmentation, Scale255, Scaler};
    use crate::train::{fit_in, train_until, EarlyStopping, Monitor, Optimizer, ReduceLrOnPlateau};
    use ndarray::{Array1, Array2};

    /// A folder of the test's own, empty.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("fashion-lab-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn real_data(n_train: usize, n_val: usize) -> (LabelledSet, LabelledSet) {
        let data = crate::data::FashionMnist::load().expect("Fashion-MNIST (make data)");
        let train = data.train.stratified_subset(n_train, 4).expect("subset");
        let val = data.test.stratified_subset(n_val, 4).expect("subset");
        (
            Scale255.labelled(&train).expect("scale"),
            Scale255.labelled(&val).expect("scale"),
        )
    }

    fn synthetic(rows: usize, seed: u64) -> LabelledSet {
        let mut r = crate::base::rng(seed);
        use rand::Rng;
        let x = Array2::from_shape_simple_fn((rows, 12), || r.gen::<f32>());
        let y = Array1::from_shape_fn(rows, |i| (i % 10) as u8);
        LabelledSet::new(x, y).expect("set")
    }

    /// Images in, with dropout: every random stream of a training is in play.
    fn image_mlp() -> Sequential {
        Sequential::new(&[28, 28, 1])
            .flatten()
            .dense(48, Activation::Relu)
            .dropout(0.3)
            .dense(10, Activation::Linear)
    }

    fn small_mlp() -> Sequential {
        Sequential::new(&[12])
            .dense(16, Activation::Relu)
            .dropout(0.2)
            .dense(10, Activation::Linear)
    }

    /// Every number of a history but the seconds, as bits (NaN compares too).
    fn numbers(h: &History) -> Vec<[u64; 7]> {
        let opt = |v: Option<f64>| v.map_or(u64::MAX, f64::to_bits);
        h.epochs
            .iter()
            .map(|e| {
                [
                    e.epoch as u64,
                    e.loss.to_bits(),
                    e.accuracy.to_bits(),
                    opt(e.val_loss),
                    opt(e.val_accuracy),
                    e.lr.to_bits(),
                    (h.best_epoch as u64) << 1 | u64::from(h.stopped_early),
                ]
            })
            .collect()
    }

    #[test]
    fn the_store_is_off_under_quick_and_off_unless_a_folder_is_chosen() {
        use Protocol::*;
        assert_eq!(RunStore::choose(Some(Quick), None), RunStore::off());
        assert_eq!(RunStore::choose(Some(Quick), Some("")), RunStore::off());
        assert_eq!(
            RunStore::choose(Some(Quick), Some("/tmp/r")),
            RunStore::at("/tmp/r")
        );
        for off in ["off", "OFF", " 0 ", "false", "no"] {
            assert_eq!(RunStore::choose(Some(Report), Some(off)), RunStore::off());
        }
        let report = RunStore::choose(Some(Report), None);
        let folder = report.folder().expect("on under report");
        assert!(folder.ends_with("runs/report"), "{folder:?}");
        // runs/ sits beside crate/ and notebooks/, wherever the process runs.
        let root = folder.parent().and_then(Path::parent).expect("a root");
        assert!(root.join("crate/Cargo.toml").exists(), "{folder:?}");
        assert!(RunStore::choose(Some(Classroom), None)
            .folder()
            .is_some_and(|f| f.ends_with("runs/classroom")));
        assert_eq!(RunStore::choose(None, None), RunStore::off());
        // `cargo test` runs with FASHION_LAB_RUNS=off (.cargo/config.toml): tests never fill runs/.
        assert_eq!(RunStore::from_env(), RunStore::off());
    }

    #[test]
    fn the_key_changes_with_the_config_seed_data_weights_and_model_but_not_verbosity() {
        let store = RunStore::at(scratch("keys"));
        let (train, val) = (synthetic(60, 1), synthetic(20, 2));
        let model = small_mlp().build(3).expect("model");
        let config = TrainConfig::default().epochs(2).batch_size(16);
        let key = |m: &Model, t: &LabelledSet, v: Option<&LabelledSet>, c: &TrainConfig| {
            store.entry(m, t, v, c).expect("on").key
        };
        let base = key(&model, &train, Some(&val), &config);
        assert_eq!(base, key(&model, &train, Some(&val), &config), "stable");
        assert_eq!(
            base,
            key(
                &model,
                &train,
                Some(&val),
                &config.verbose(false).log_every(3)
            ),
            "printing is not part of the key"
        );
        let changed_configs = [
            config.seed(1),
            config.epochs(3),
            config.batch_size(17),
            config.l2(1e-4),
            config.optimizer(Optimizer::sgd()),
            config.optimizer(Optimizer::adam().with_lr(0.0011)),
            config.early_stopping(EarlyStopping::val_loss(2)),
            config.reduce_lr_on_plateau(ReduceLrOnPlateau::val_loss(0.5, 2)),
            config.augment(Augmentation::new().rotation(1.0)),
        ];
        let mut keys = vec![base.clone()];
        for c in &changed_configs {
            keys.push(key(&model, &train, Some(&val), c));
        }
        let mut one_feature = train.features().clone();
        one_feature[[7, 3]] += 1e-6;
        let moved = LabelledSet::new(one_feature, train.labels().clone()).expect("set");
        keys.push(key(&model, &moved, Some(&val), &config));
        let mut labels = train.labels().clone();
        labels[0] = 9;
        let relabelled = LabelledSet::new(train.features().clone(), labels).expect("set");
        keys.push(key(&model, &relabelled, Some(&val), &config));
        keys.push(key(&model, &train, None, &config));
        keys.push(key(&model, &train, Some(&synthetic(20, 5)), &config));
        keys.push(key(
            &small_mlp().build(4).expect("model"),
            &train,
            Some(&val),
            &config,
        ));
        let mut nudged = model.clone();
        let mut weights = nudged.weights();
        weights[0][[0, 0]] = f32::from_bits(weights[0][[0, 0]].to_bits() ^ 1);
        nudged.set_weights(&weights).expect("weights");
        keys.push(key(&nudged, &train, Some(&val), &config));
        let wider = Sequential::new(&[12])
            .dense(17, Activation::Relu)
            .dropout(0.2)
            .dense(10, Activation::Linear);
        keys.push(key(
            &wider.build(3).expect("model"),
            &train,
            Some(&val),
            &config,
        ));
        let other_activation = Sequential::new(&[12])
            .dense(16, Activation::Tanh)
            .dropout(0.2)
            .dense(10, Activation::Linear);
        keys.push(key(
            &other_activation.build(3).expect("model"),
            &train,
            Some(&val),
            &config,
        ));
        // The convolutions' arithmetic is part of the key; a model without any has none.
        let conv = Sequential::new(&[2, 6, 1])
            .conv2d(4, 3, Activation::Relu, crate::nn::Padding::Same)
            .flatten()
            .dense(10, Activation::Linear)
            .build(3)
            .expect("model");
        for products in [crate::nn::Products::F32, crate::nn::Products::Bf16] {
            let mut m = conv.clone();
            m.set_products(products);
            assert_eq!(m.products(), Some(products));
            keys.push(key(&m, &train, Some(&val), &config));
        }
        let mut other_products = model.clone();
        other_products.set_products(crate::nn::Products::F32);
        assert_eq!(other_products.products(), None);
        assert_eq!(
            base,
            key(&other_products, &train, Some(&val), &config),
            "an MLP's key does not depend on the convolutions' products"
        );
        let unique: std::collections::BTreeSet<_> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "every change, another key");
    }

    #[test]
    fn a_kept_training_comes_back_with_the_same_weights_history_and_streams() {
        let dir = scratch("reuse");
        let store = RunStore::at(&dir);
        let (train, val) = (synthetic(300, 1), synthetic(100, 2));
        let config = TrainConfig::default()
            .epochs(3)
            .batch_size(32)
            .verbose(false);
        let mut trained = small_mlp().build(3).expect("model");
        let history = fit_in(&store, &mut trained, &train, Some(&val), &config).expect("fit");
        let entry = store
            .entry(
                &small_mlp().build(3).expect("model"),
                &train,
                Some(&val),
                &config,
            )
            .expect("on");
        assert!(entry.finished.exists() && entry.finished.with_extension("json").exists());
        assert!(!entry.checkpoint.exists(), "no checkpoint once finished");

        let mut reused = small_mlp().build(3).expect("model");
        let again = fit_in(&store, &mut reused, &train, Some(&val), &config).expect("reuse");
        assert_eq!(
            again, history,
            "the same history, seconds included: nothing retrained"
        );
        assert_eq!(reused.weights(), trained.weights());
        assert_eq!(reused.rng_positions(), trained.rng_positions());
        assert_ne!(
            reused.rng_positions(),
            small_mlp().build(3).expect("m").rng_positions()
        );
        // The reused model goes on exactly as the trained one (its dropout streams too).
        let more = config.epochs(1);
        let a = fit_in(&RunStore::off(), &mut trained, &train, None, &more).expect("fit");
        let b = fit_in(&RunStore::off(), &mut reused, &train, None, &more).expect("fit");
        assert_eq!(numbers(&a), numbers(&b));
        assert_eq!(reused.weights(), trained.weights());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_interrupted_training_resumes_to_the_same_bits_as_an_uninterrupted_one() {
        let dir = scratch("resume");
        let store = RunStore::at(&dir);
        let (train, val) = real_data(1_000, 300);
        // Every state a training carries between epochs: Adam's moments and step, shuffling,
        // augmentation and dropout streams, a learning rate cut every other epoch (min_delta
        // so large that nothing counts as better), early stopping's best weights.
        let config = TrainConfig::default()
            .epochs(7)
            .batch_size(64)
            .augment(Augmentation::new().rotation(5.0).shift(0.05, 0.05))
            .reduce_lr_on_plateau(ReduceLrOnPlateau {
                min_delta: 1e3,
                ..ReduceLrOnPlateau::val_loss(0.5, 1)
            })
            .early_stopping(EarlyStopping {
                monitor: Monitor::ValAccuracy,
                patience: 5,
                min_delta: 0.0,
                restore_best: true,
            })
            .verbose(false);
        let mut whole = image_mlp().build(9).expect("model");
        let uninterrupted =
            fit_in(&RunStore::off(), &mut whole, &train, Some(&val), &config).expect("fit");
        let lrs: Vec<f64> = uninterrupted.epochs.iter().map(|e| e.lr).collect();
        assert!(
            lrs[0] > lrs[2] && lrs[2] > lrs[4],
            "the rate was cut: {lrs:?}"
        );

        let mut first = image_mlp().build(9).expect("model");
        let stopped = train_until(&store, &mut first, &train, Some(&val), &config, Some(3));
        assert!(stopped.is_err(), "the interrupt");
        let entry = store
            .entry(
                &image_mlp().build(9).expect("m"),
                &train,
                Some(&val),
                &config,
            )
            .expect("on");
        assert!(entry.checkpoint.exists() && !entry.finished.exists());
        let (saved, _) = entry
            .read_checkpoint(&mut image_mlp().build(9).expect("m"), &config)
            .expect("readable")
            .expect("there");
        assert_eq!(saved.epochs_done(), 3);

        // A new kernel: a new model, resumed from the checkpoint after epoch 3.
        let mut resumed = image_mlp().build(9).expect("model");
        let history = fit_in(&store, &mut resumed, &train, Some(&val), &config).expect("resume");
        assert_eq!(numbers(&history), numbers(&uninterrupted));
        assert_eq!(resumed.weights(), whole.weights(), "bit for bit");
        assert_eq!(resumed.rng_positions(), whole.rng_positions());
        // The first three epochs were not trained again: their seconds are the stopped run's.
        assert_eq!(history.epochs[..3], saved.history.epochs[..]);
        assert!(entry.finished.exists() && !entry.checkpoint.exists());

        // A stop at the last-but-one epoch, with SGD's momentum, then a resume: the same.
        let sgd = config.optimizer(Optimizer::Sgd {
            lr: 0.05,
            momentum: 0.9,
            nesterov: true,
        });
        let mut whole = image_mlp().build(9).expect("model");
        let uninterrupted =
            fit_in(&RunStore::off(), &mut whole, &train, Some(&val), &sgd).expect("fit");
        let mut first = image_mlp().build(9).expect("model");
        assert!(train_until(&store, &mut first, &train, Some(&val), &sgd, Some(6)).is_err());
        let mut resumed = image_mlp().build(9).expect("model");
        let history = fit_in(&store, &mut resumed, &train, Some(&val), &sgd).expect("resume");
        assert_eq!(numbers(&history), numbers(&uninterrupted));
        assert_eq!(resumed.weights(), whole.weights());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_damaged_or_foreign_file_is_trained_again_never_a_panic() {
        let dir = scratch("damaged");
        let store = RunStore::at(&dir);
        let (train, val) = (synthetic(200, 1), synthetic(50, 2));
        let config = TrainConfig::default().epochs(3).verbose(false);
        let fresh = || small_mlp().build(5).expect("model");
        let mut model = fresh();
        let history = fit_in(&store, &mut model, &train, Some(&val), &config).expect("fit");
        let entry = store
            .entry(&fresh(), &train, Some(&val), &config)
            .expect("on");
        let good = std::fs::read(&entry.finished).expect("kept");

        let damages: [(&str, Vec<u8>); 4] = [
            ("truncated", good[..good.len() / 2].to_vec()),
            ("empty", Vec::new()),
            (
                "garbage",
                b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}......".to_vec(),
            ),
            ("header only", good[..good.len() - 4].to_vec()),
        ];
        for (what, bytes) in damages {
            std::fs::write(&entry.finished, &bytes).expect("damage");
            let err = entry.read_finished(&fresh()).err().map(|e| e.to_string());
            let text = err.unwrap_or_else(|| panic!("{what}: read as good"));
            assert!(
                text.contains("training store file") && text.contains("clean-runs"),
                "{text}"
            );
            let mut again = fresh();
            let retrained = fit_in(&store, &mut again, &train, Some(&val), &config)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(numbers(&retrained), numbers(&history), "{what}");
            assert_eq!(again.weights(), model.weights(), "{what}");
            assert!(
                matches!(entry.read_finished(&fresh()), Ok(Some(_))),
                "{what}: replaced by a good file"
            );
        }

        // Another training's file under this name (a 64-bit prefix collision) is not used.
        let other = store
            .entry(&fresh(), &train, Some(&val), &config.seed(1))
            .expect("on");
        let mut m = fresh();
        fit_in(&store, &mut m, &train, Some(&val), &config.seed(1)).expect("fit");
        std::fs::copy(&other.finished, &entry.finished).expect("copy");
        let text = entry.read_finished(&fresh()).err().map(|e| e.to_string());
        assert!(text.is_some_and(|t| t.contains("another training")));

        // A damaged checkpoint: the training starts from epoch 1 and finishes.
        std::fs::remove_file(&entry.finished).expect("rm");
        std::fs::write(&entry.checkpoint, &good[..100]).expect("damage");
        let mut again = fresh();
        let retrained = fit_in(&store, &mut again, &train, Some(&val), &config).expect("fit");
        assert_eq!(numbers(&retrained), numbers(&history));
        assert!(!entry.checkpoint.exists());

        // A store that cannot be written (a file where its folder should be): trains anyway.
        let blocked = dir.join("blocked");
        std::fs::write(&blocked, b"a file").expect("file");
        let mut m = fresh();
        let h = fit_in(
            &RunStore::at(blocked.join("runs")),
            &mut m,
            &train,
            Some(&val),
            &config,
        )
        .expect("trains without the store");
        assert_eq!(numbers(&h), numbers(&history));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn dates_are_utc_minutes() {
        assert_eq!(utc_minutes(0), "1970-01-01 00:00");
        assert_eq!(utc_minutes(1_796_613_000), "2026-12-07 03:10");
        assert_eq!(utc_minutes(951_868_740), "2000-02-29 23:59");
    }
}

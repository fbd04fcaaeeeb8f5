//! The crate's one error type. Every message says what went wrong and what to do next.

use std::path::PathBuf;

/// Everything that can go wrong in fashion-lab.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "Fashion-MNIST not found: looked in {looked_in}. \
         Run `make data` (installs the Debian package dataset-fashion-mnist or downloads into data/), \
         or set FASHION_MNIST_DIR to a folder holding train-images-idx3-ubyte.gz and the three other files"
    )]
    DatasetNotFound { looked_in: String },

    #[error("cannot read {path}: {source}. Check the path and its permissions")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{path} is truncated: expected {expected} bytes after decompression, found {found}. \
         The download was cut short: delete the file and run `make data` again"
    )]
    Truncated {
        path: PathBuf,
        expected: usize,
        found: usize,
    },

    #[error(
        "{path} is not a valid gzip file ({detail}). \
         Delete it and run `make data` again"
    )]
    CorruptGzip { path: PathBuf, detail: String },

    #[error(
        "{path} is not an IDX {kind} file: {detail}. \
         Check that the four Fashion-MNIST files have not been renamed or swapped"
    )]
    BadIdx {
        path: PathBuf,
        kind: &'static str,
        detail: String,
    },

    #[error(
        "{path} does not match the official Fashion-MNIST file (SHA-256 {found}, expected {expected}). \
         Delete it and run `make data` again, or pass `verify_checksums(false)` for a modified copy"
    )]
    ChecksumMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },

    #[error("{path}: label {label} at index {index} is outside 0..=9; the labels file is corrupt")]
    LabelOutOfRange {
        path: PathBuf,
        index: usize,
        label: u8,
    },

    /// Two sizes that must agree do not: rows and labels, features a model was fitted on and
    /// features it is given, and the like.
    #[error("{what}: expected {expected}, found {found}. {hint}")]
    ShapeMismatch {
        what: String,
        expected: usize,
        found: usize,
        hint: String,
    },

    /// A setting outside its allowed range; `param` names it as the builder method does.
    #[error("invalid parameter `{param}`: {reason}")]
    InvalidParameter { param: &'static str, reason: String },

    /// Data a model or function cannot work with (empty, NaN, one class, an index out of range).
    #[error("{0}")]
    InvalidInput(String),

    #[error("CSV {path}: {detail}")]
    Csv { path: PathBuf, detail: String },

    #[error("table error: {0}")]
    Table(#[from] polars::error::PolarsError),

    /// A user's picture that cannot be read or converted; `problem` says which way (the server
    /// answers a different HTTP status for each).
    #[error("picture {path}: {reason}")]
    Picture {
        path: PathBuf,
        problem: PictureProblem,
        reason: String,
    },

    /// No model file where one was expected (the server's default or chosen model, the CLI's
    /// `--model`).
    #[error(
        "no model at {path}. Create it by running notebooks/02-logistic-vs-deep-cnn.ipynb \
         (`make reports`, or its cells in Jupyter: the deployment section saves it), \
         or choose another saved model (`--model PATH`; `make serve MODEL=PATH`)"
    )]
    NoModel { path: PathBuf },

    /// The server cannot listen where it was told to.
    #[error(
        "cannot listen on {address}: {reason}. Choose another port (`make serve PORT=8766`, \
         `fashion-lab serve --port 8766`) or stop what uses this one"
    )]
    Listen { address: String, reason: String },

    /// A file that is not a fashion-lab model, or a model that cannot be encoded.
    #[error("model file {path}: {reason}")]
    ModelFile { path: PathBuf, reason: String },

    /// A file of the store of finished trainings (`runs/`, crate/src/train/store.rs) that cannot
    /// be read, written or used. Training never stops for it: it warns and trains.
    #[error(
        "training store file {path}: {reason}. If this repeats, delete it (`make clean-runs` \
         empties runs/) or set FASHION_LAB_RUNS=off to train without the store"
    )]
    RunFile { path: PathBuf, reason: String },

    /// An error raised while building or running layer `layer` (1-based) of a model.
    #[error("layer {layer} ({kind}): {source}")]
    InLayer {
        layer: usize,
        kind: String,
        #[source]
        source: Box<Error>,
    },

    /// A model without class probabilities was asked for them.
    #[error("{model} gives no class probabilities; use predict for its classes")]
    NoProbabilities { model: String },

    /// A library model (linfa, smartcore) failed to fit or predict.
    #[error("{model} failed: {reason}")]
    Library { model: String, reason: String },

    #[error("linfa: {0}")]
    Linfa(#[from] linfa::Error),

    #[error("plot error: {0}")]
    Plot(String),

    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),

    #[error(
        "{path} is empty (0 bytes): a download or copy of it failed. \
         Delete it and run `make data` again"
    )]
    EmptyFile { path: PathBuf },

    #[error(
        "{path} is truncated: it ends inside its {header} header, after {found} bytes, \
         so not even its length can be read. \
         The download was cut short: delete the file and run `make data` again"
    )]
    TruncatedHeader {
        path: PathBuf,
        /// "gzip" (counted in the file's bytes) or "IDX" (counted after decompression).
        header: &'static str,
        found: usize,
    },
}

/// What is wrong with a user's picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PictureProblem {
    /// Zero bytes.
    Empty,
    /// Over a size limit (the server's upload limit, or more pixels than the decoder allows).
    TooLarge,
    /// Not a PNG or JPEG file at all.
    NotAnImage,
    /// A PNG or JPEG that does not decode: truncated or damaged.
    Damaged,
    /// Decodes, but holds no item to classify (one flat shade).
    NoObject,
    /// Could not be written (the example pictures).
    Unwritable,
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Creates the folder a file is about to be written into (no-op for a bare file name).
pub(crate) fn create_parent_dir(path: &std::path::Path) -> Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e)),
        None => Ok(()),
    }
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Data the call cannot work with.
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidInput(msg.into())
    }

    /// A setting out of range.
    pub(crate) fn param(param: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidParameter {
            param,
            reason: reason.into(),
        }
    }

    /// Two sizes that must agree.
    pub(crate) fn shape(
        what: impl Into<String>,
        expected: usize,
        found: usize,
        hint: impl Into<String>,
    ) -> Self {
        Error::ShapeMismatch {
            what: what.into(),
            expected,
            found,
            hint: hint.into(),
        }
    }

    /// The one check of "one label per row" every labelled set goes through.
    pub(crate) fn rows_and_labels(rows: usize, labels: usize) -> Self {
        Error::shape(
            format!("labels for {rows} rows"),
            rows,
            labels,
            "Give one label per row (build the set with LabelledSet::new or a scaler's labelled(&images))",
        )
    }
}

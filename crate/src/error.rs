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

    #[error("{0}")]
    Mismatch(String),

    #[error("invalid parameter: {0}")]
    InvalidParameter(String),

    #[error("CSV {path}: {detail}")]
    Csv { path: PathBuf, detail: String },

    #[error("table error: {0}")]
    Table(#[from] polars::error::PolarsError),

    #[error("model error: {0}")]
    Model(String),

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

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidParameter(msg.into())
    }
}

//! Where the Fashion-MNIST files are: explicit path → `FASHION_MNIST_DIR` → `data/` → Debian's folder.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable that points at a folder holding the four files.
pub const DIR_ENV: &str = "FASHION_MNIST_DIR";
/// Where `apt-get install dataset-fashion-mnist` puts the files.
pub const DEBIAN_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The four official files, by their base names (without `.gz`).
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// SHA-256 of each decompressed file (from the official release).
pub fn official_sha256(base_name: &str) -> Option<&'static str> {
    match base_name {
        TRAIN_IMAGES => Some("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
        TRAIN_LABELS => Some("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
        TEST_IMAGES => Some("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
        TEST_LABELS => Some("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
        _ => None,
    }
}

/// The project's `data/` folder, seen from the repo root, a notebook in `notebooks/`, or the crate.
fn project_data_dirs() -> Vec<PathBuf> {
    vec![
        PathBuf::from("data"),
        PathBuf::from("../data"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../data"),
    ]
}

/// The file for `base_name` inside `dir`: `name.gz` or the uncompressed `name`.
pub fn file_in(dir: &Path, base_name: &str) -> Option<PathBuf> {
    [format!("{base_name}.gz"), base_name.to_string()]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// Picks the folder to load from. An explicit folder or `FASHION_MNIST_DIR` is used as given
/// (so a wrong setting is reported, not silently skipped); otherwise the first folder that has
/// the training images wins.
pub fn find_data_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return checked(dir.to_path_buf(), "the path you passed");
    }
    if let Some(dir) = std::env::var_os(DIR_ENV).filter(|v| !v.is_empty()) {
        return checked(PathBuf::from(dir), DIR_ENV);
    }
    let mut candidates = project_data_dirs();
    candidates.push(PathBuf::from(DEBIAN_DIR));
    candidates
        .iter()
        .find(|d| file_in(d, TRAIN_IMAGES).is_some())
        .cloned()
        .ok_or_else(|| Error::DatasetNotFound {
            looked_in: format!(
                "{} (unset), {}",
                DIR_ENV,
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
}

fn checked(dir: PathBuf, origin: &str) -> Result<PathBuf> {
    if file_in(&dir, TRAIN_IMAGES).is_some() {
        Ok(dir)
    } else {
        Err(Error::DatasetNotFound {
            looked_in: format!(
                "{} (from {origin}), which has no {TRAIN_IMAGES}.gz",
                dir.display()
            ),
        })
    }
}

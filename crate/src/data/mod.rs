//! Fashion-MNIST: loading (IDX, CSV), locating the files, seeded stratified splits.

pub mod csv;
pub mod idx;
pub mod locate;
pub mod split;

use std::path::{Path, PathBuf};

use ndarray::{concatenate, Array1, Array2, Axis};

use crate::error::{Error, Result};
use locate::{TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};

/// Side of a Fashion-MNIST image in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Number of classes.
pub const N_CLASSES: usize = 10;
/// The class names, by label.
pub const CLASS_NAMES: [&str; N_CLASSES] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The class names as owned strings (for tables and plots).
pub fn class_names() -> Vec<String> {
    CLASS_NAMES.iter().map(|s| s.to_string()).collect()
}

/// A set of images with their labels: `images` is `n × 784` (row-major 28×28), `labels` is `n`.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageSet {
    pub images: Array2<u8>,
    pub labels: Array1<u8>,
}

impl ImageSet {
    /// Builds a set, checking that images and labels agree.
    pub fn new(images: Array2<u8>, labels: Array1<u8>) -> Result<Self> {
        if images.nrows() != labels.len() {
            return Err(Error::rows_and_labels(images.nrows(), labels.len()));
        }
        if images.ncols() != IMAGE_PIXELS {
            return Err(Error::shape(
                "pixels per image",
                IMAGE_PIXELS,
                images.ncols(),
                "Fashion-MNIST images are 28×28 = 784 pixels, one row each",
            ));
        }
        if let Some(&bad) = labels.iter().find(|&&l| l as usize >= N_CLASSES) {
            return Err(Error::invalid(format!("label {bad} is outside 0..=9")));
        }
        Ok(Self { images, labels })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The images at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Result<ImageSet> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(Error::invalid(format!(
                "index {bad} is out of range: the set has {} images",
                self.len()
            )));
        }
        Ok(ImageSet {
            images: self.images.select(Axis(0), indices),
            labels: self.labels.select(Axis(0), indices),
        })
    }

    /// This set followed by `other`.
    pub fn concat(&self, other: &ImageSet) -> ImageSet {
        ImageSet {
            images: concatenate![Axis(0), self.images, other.images],
            labels: concatenate![Axis(0), self.labels, other.labels],
        }
    }

    /// How many images of each class (index = label).
    pub fn class_counts(&self) -> [usize; N_CLASSES] {
        let mut counts = [0; N_CLASSES];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// One image as a 28×28 array.
    pub fn image(&self, index: usize) -> Result<Array2<u8>> {
        if index >= self.len() {
            return Err(Error::invalid(format!(
                "image index {index} is out of range: the set has {} images",
                self.len()
            )));
        }
        Ok(self
            .images
            .row(index)
            .to_owned()
            .into_shape_with_order((IMAGE_SIDE, IMAGE_SIDE))
            .expect("784 pixels always reshape to 28×28"))
    }

    /// Pixels as f32 in 0..=255 (no scaling).
    pub fn pixels_f32(&self) -> Array2<f32> {
        self.images.mapv(f32::from)
    }

    /// Labels as `usize` class indices.
    pub fn labels_usize(&self) -> Array1<usize> {
        self.labels.mapv(usize::from)
    }

    /// A seeded, stratified subset of `n` images (all classes in their proportions).
    pub fn stratified_subset(&self, n: usize, seed: u64) -> Result<ImageSet> {
        let idx = split::stratified_subset(&self.labels, n, seed)?;
        self.select(&idx)
    }

    /// Splits into parts of the given fractions (summing to 1), seeded and stratified.
    pub fn stratified_split(&self, fractions: &[f64], seed: u64) -> Result<Vec<ImageSet>> {
        let parts = split::stratified_split(&self.labels, fractions, seed)?;
        parts.iter().map(|idx| self.select(idx)).collect()
    }
}

/// The official split: 60,000 training and 10,000 test images.
#[derive(Clone, Debug)]
pub struct FashionMnist {
    pub train: ImageSet,
    pub test: ImageSet,
    /// The folder the files were read from.
    pub source: PathBuf,
}

impl FashionMnist {
    /// Loads from the first place that has the files (see [`locate::find_data_dir`]),
    /// verifying the official checksums.
    pub fn load() -> Result<Self> {
        FashionMnistLoader::default().load()
    }

    /// Loads from `dir`, verifying the official checksums.
    pub fn load_from(dir: impl AsRef<Path>) -> Result<Self> {
        FashionMnistLoader::default().dir(dir).load()
    }

    /// A loader with options (folder, checksum verification).
    pub fn loader() -> FashionMnistLoader {
        FashionMnistLoader::default()
    }

    /// All 70,000 images: train followed by test (reports 000 and 003 split these themselves).
    pub fn all(&self) -> ImageSet {
        self.train.concat(&self.test)
    }

    /// In quick mode (see [`crate::protocol`]), a stratified 6,000/1,000 subset; otherwise unchanged.
    pub fn for_budget(self) -> Result<Self> {
        if !crate::protocol::quick_mode() {
            return Ok(self);
        }
        Ok(Self {
            train: self.train.stratified_subset(6_000, 0)?,
            test: self.test.stratified_subset(1_000, 0)?,
            source: self.source,
        })
    }
}

/// Options for loading Fashion-MNIST.
#[derive(Clone, Debug)]
pub struct FashionMnistLoader {
    dir: Option<PathBuf>,
    verify_checksums: bool,
}

impl Default for FashionMnistLoader {
    fn default() -> Self {
        Self {
            dir: None,
            verify_checksums: true,
        }
    }
}

impl FashionMnistLoader {
    /// Read from this folder instead of searching.
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Whether to compare each file's SHA-256 with the official one (default: yes).
    pub fn verify_checksums(mut self, verify: bool) -> Self {
        self.verify_checksums = verify;
        self
    }

    pub fn load(&self) -> Result<FashionMnist> {
        let dir = locate::find_data_dir(self.dir.as_deref())?;
        let train = self.read_pair(&dir, TRAIN_IMAGES, TRAIN_LABELS, 60_000)?;
        let test = self.read_pair(&dir, TEST_IMAGES, TEST_LABELS, 10_000)?;
        Ok(FashionMnist {
            train,
            test,
            source: dir,
        })
    }

    fn read_file(&self, dir: &Path, base: &str) -> Result<(PathBuf, Vec<u8>)> {
        let path = locate::file_in(dir, base).ok_or_else(|| Error::DatasetNotFound {
            looked_in: format!("{} (no {base}.gz there)", dir.display()),
        })?;
        let bytes = idx::read_maybe_gz(&path)?;
        Ok((path, bytes))
    }

    fn verify(&self, path: &Path, base: &str, bytes: &[u8]) -> Result<()> {
        if !self.verify_checksums {
            return Ok(());
        }
        let expected = locate::official_sha256(base).unwrap_or_default();
        let found = idx::sha256_hex(bytes);
        if found != expected {
            return Err(Error::ChecksumMismatch {
                path: path.to_path_buf(),
                expected: expected.to_string(),
                found,
            });
        }
        Ok(())
    }

    fn read_pair(
        &self,
        dir: &Path,
        images_name: &str,
        labels_name: &str,
        expected_count: usize,
    ) -> Result<ImageSet> {
        let (ipath, ibytes) = self.read_file(dir, images_name)?;
        // Structure first: a truncated file is reported as truncated, not as a checksum mismatch.
        let (images, _, _) = idx::parse_images(&ibytes, &ipath)?;
        self.verify(&ipath, images_name, &ibytes)?;
        let (lpath, lbytes) = self.read_file(dir, labels_name)?;
        let labels = idx::parse_labels(&lbytes, &lpath)?;
        self.verify(&lpath, labels_name, &lbytes)?;
        if self.verify_checksums && images.nrows() != expected_count {
            return Err(Error::shape(
                format!("images in {}", ipath.display()),
                expected_count,
                images.nrows(),
                "Delete the file and run `make data` again",
            ));
        }
        if images.nrows() != labels.len() {
            return Err(Error::shape(
                format!(
                    "labels in {} for the images in {}",
                    lpath.display(),
                    ipath.display()
                ),
                images.nrows(),
                labels.len(),
                "The two files must come from the same release: run `make data` again",
            ));
        }
        ImageSet::new(images, labels)
    }
}

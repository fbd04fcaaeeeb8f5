//! Loading the real Fashion-MNIST files, and the errors for broken copies of them.

use std::fs;
use std::path::{Path, PathBuf};

use fashion_lab::data::locate::{self, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};
use fashion_lab::{Error, FashionMnist, MinMaxScaler};

fn real_dir() -> PathBuf {
    locate::find_data_dir(None)
        .expect("Fashion-MNIST must be installed for the tests: run `make data`")
}

/// A temp folder holding copies of the four real files, for breaking one of them.
fn copy_of_real_files(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fashion-lab-{tag}-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    let real = real_dir();
    for name in [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS] {
        let src = locate::file_in(&real, name).expect("real file");
        let dst = dir.join(src.file_name().expect("file name"));
        fs::copy(&src, &dst).expect("copy");
    }
    dir
}

fn gz(dir: &Path, name: &str) -> PathBuf {
    locate::file_in(dir, name).expect("file present")
}

#[test]
fn loads_the_official_split_with_valid_checksums() {
    let data = FashionMnist::load().expect("load");
    assert_eq!(data.train.images.dim(), (60_000, 784));
    assert_eq!(data.test.images.dim(), (10_000, 784));
    assert_eq!(data.train.class_counts(), [6_000; 10]);
    assert_eq!(data.test.class_counts(), [1_000; 10]);
    // The first training image is an ankle boot (label 9), as in every copy of the dataset.
    assert_eq!(data.train.labels[0], 9);
    assert_eq!(data.all().len(), 70_000);
}

#[test]
fn truncated_gzip_names_the_file() {
    let dir = copy_of_real_files("truncated");
    let path = gz(&dir, TRAIN_IMAGES);
    let bytes = fs::read(&path).expect("read");
    fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
    let err = FashionMnist::load_from(&dir).expect_err("a truncated file must not load");
    assert!(
        matches!(
            err,
            Error::Truncated {
                expected: 47_040_016,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("train-images-idx3-ubyte.gz") && msg.contains("make data"),
        "{msg}"
    );
    fs::remove_dir_all(&dir).ok();
}

/// `train-images-idx3-ubyte.gz` replaced by `contents`: the error of loading the folder.
fn error_with_train_images(tag: &str, contents: &[u8]) -> Error {
    let dir = copy_of_real_files(tag);
    fs::write(gz(&dir, TRAIN_IMAGES), contents).expect("write");
    let err = FashionMnist::load_from(&dir).expect_err("a broken file must not load");
    fs::remove_dir_all(&dir).ok();
    err
}

/// The message names the file and says to fetch it again.
fn says_what_to_do(err: &Error) -> String {
    let msg = err.to_string();
    assert!(
        msg.contains("train-images-idx3-ubyte.gz") && msg.contains("run `make data`"),
        "{msg}"
    );
    msg
}

#[test]
fn empty_gzip_file_says_it_is_empty() {
    let err = error_with_train_images("empty", b"");
    assert!(matches!(err, Error::EmptyFile { .. }), "{err:?}");
    assert!(says_what_to_do(&err).contains("is empty (0 bytes)"));
}

#[test]
fn empty_uncompressed_file_says_it_is_empty() {
    let dir = copy_of_real_files("empty-raw");
    fs::remove_file(gz(&dir, TEST_LABELS)).expect("remove");
    fs::write(dir.join(TEST_LABELS), b"").expect("write");
    let err = FashionMnist::load_from(&dir).expect_err("empty labels");
    assert!(matches!(err, Error::EmptyFile { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("t10k-labels-idx1-ubyte is empty") && msg.contains("make data"),
        "{msg}"
    );
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn text_file_named_gz_says_it_is_not_gzip() {
    // Short (less than a gzip header) and long: both are text, not a truncated gzip stream.
    for (tag, text) in [
        ("text-short", &b"oops\n"[..]),
        ("text-long", b"<html><body>404 Not Found</body></html>\n"),
    ] {
        let err = error_with_train_images(tag, text);
        assert!(matches!(err, Error::CorruptGzip { .. }), "{err:?}");
        let msg = says_what_to_do(&err);
        assert!(
            msg.contains("not the gzip magic 1f 8b, so it is not a gzip file")
                && msg.contains("looks like text"),
            "{msg}"
        );
    }
}

#[test]
fn uncompressed_idx_named_gz_says_to_drop_the_suffix() {
    let real = fs::read(gz(&real_dir(), TRAIN_IMAGES)).expect("read");
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&real[..]), &mut raw)
        .expect("gunzip");
    let err = error_with_train_images("raw-as-gz", &raw);
    assert!(matches!(err, Error::CorruptGzip { .. }), "{err:?}");
    assert!(says_what_to_do(&err).contains("removing `.gz` from its name"));
}

#[test]
fn gzip_cut_inside_its_header_says_so() {
    let real = fs::read(gz(&real_dir(), TRAIN_IMAGES)).expect("read");
    // The gzip header is 10 bytes: 5 are magic, method, flags and half the time stamp.
    let err = error_with_train_images("cut-gzip-header", &real[..5]);
    assert!(
        matches!(
            err,
            Error::TruncatedHeader {
                header: "gzip",
                found: 5,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = says_what_to_do(&err);
    assert!(msg.contains("ends inside its gzip header") && !msg.contains("expected 0"));
}

#[test]
fn gzip_cut_before_the_idx_header_says_so() {
    let real = fs::read(gz(&real_dir(), TRAIN_IMAGES)).expect("read");
    // The gzip header and two bytes of the deflate stream: not one byte of data comes out.
    let err = error_with_train_images("cut-idx-header", &real[..12]);
    assert!(
        matches!(
            err,
            Error::TruncatedHeader {
                header: "IDX",
                found: 0..16,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = says_what_to_do(&err);
    assert!(msg.contains("ends inside its IDX header") && !msg.contains("expected 0"));
}

#[test]
fn corrupt_mismatched_and_missing_files_give_distinct_errors() {
    let dir = copy_of_real_files("corrupt");
    // Not gzip at all.
    fs::write(gz(&dir, TEST_LABELS), b"this is not gzip").expect("write");
    let err = FashionMnist::load_from(&dir).expect_err("corrupt gzip");
    assert!(matches!(err, Error::CorruptGzip { .. }), "{err:?}");

    // Valid gzip, valid structure, wrong content: one flipped label → checksum mismatch.
    let real_labels = fs::read(gz(&real_dir(), TEST_LABELS)).expect("read");
    let mut raw = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&real_labels[..]),
        &mut raw,
    )
    .expect("gunzip");
    raw[100] = (raw[100] + 1) % 10;
    fs::remove_file(gz(&dir, TEST_LABELS)).expect("remove");
    fs::write(dir.join(TEST_LABELS), &raw).expect("write uncompressed");
    let err = FashionMnist::load_from(&dir).expect_err("modified labels");
    assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err:?}");
    assert!(FashionMnist::loader()
        .dir(&dir)
        .verify_checksums(false)
        .load()
        .is_ok());

    // Swapped files: labels where images should be.
    fs::copy(dir.join(TEST_LABELS), dir.join(TEST_IMAGES)).expect("copy");
    fs::remove_file(gz(&dir, TEST_IMAGES)).ok();
    let err = FashionMnist::load_from(&dir).expect_err("labels as images");
    assert!(
        matches!(err, Error::BadIdx { kind: "image", .. }),
        "{err:?}"
    );

    // A folder without the files.
    let empty = dir.join("empty");
    fs::create_dir_all(&empty).expect("mkdir");
    let err = FashionMnist::load_from(&empty).expect_err("no files");
    assert!(matches!(err, Error::DatasetNotFound { .. }), "{err:?}");
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn same_seed_same_split_and_scaler() {
    let data = FashionMnist::load().expect("load");
    let all = data.all();
    let a = all
        .stratified_split(&[0.75, 0.125, 0.125], 7)
        .expect("split");
    let b = all
        .stratified_split(&[0.75, 0.125, 0.125], 7)
        .expect("split");
    assert_eq!(
        a.iter().map(|s| s.len()).collect::<Vec<_>>(),
        vec![52_500, 8_750, 8_750]
    );
    assert_eq!(a, b);
    assert!(a[1].class_counts().iter().all(|&c| c == 875));
    let fit = |s: &fashion_lab::ImageSet| {
        MinMaxScaler::new(-1.0, 1.0)
            .fit(&s.pixels_f32())
            .expect("fit")
    };
    assert_eq!(fit(&a[0]), fit(&b[0]));
}

#[test]
fn kaggle_csv_round_trip_on_real_images() {
    let data = FashionMnist::load().expect("load");
    let subset = data.test.stratified_subset(500, 3).expect("subset");
    let path = std::env::temp_dir().join(format!("fashion-lab-kaggle-{}.csv", std::process::id()));
    fashion_lab::data::csv::write_csv(&subset, &path).expect("write");
    let back = fashion_lab::data::csv::read_csv(&path).expect("read");
    assert_eq!(back, subset);
    fs::remove_file(&path).ok();
}

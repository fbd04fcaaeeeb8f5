//! FASHION_MNIST_DIR pointing at a broken copy: the error names the broken file.
//! (Its own test binary: it sets a process-wide environment variable.)

use std::fs;

use fashion_lab::data::locate::{
    self, DIR_ENV, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS,
};
use fashion_lab::{Error, FashionMnist};

#[test]
fn fashion_mnist_dir_with_truncated_train_images_names_that_file() {
    let real =
        locate::find_data_dir(None).expect("Fashion-MNIST must be installed: run `make data`");
    let dir = std::env::temp_dir().join(format!("fashion-lab-env-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    for name in [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS] {
        let src = locate::file_in(&real, name).expect("real file");
        fs::copy(&src, dir.join(src.file_name().expect("name"))).expect("copy");
    }
    let truncated = locate::file_in(&dir, TRAIN_IMAGES).expect("copied");
    let bytes = fs::read(&truncated).expect("read");
    fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).expect("truncate");

    std::env::set_var(DIR_ENV, &dir);
    let err = FashionMnist::load().expect_err("a truncated file must not load");
    assert!(matches!(err, Error::Truncated { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&truncated.display().to_string()),
        "{err}"
    );

    // A variable pointing at a folder without the files is reported, not skipped.
    std::env::set_var(DIR_ENV, dir.join("nowhere"));
    let err = FashionMnist::load().expect_err("wrong folder");
    assert!(err.to_string().contains(DIR_ENV), "{err}");
    std::env::remove_var(DIR_ENV);
    fs::remove_dir_all(&dir).ok();
}

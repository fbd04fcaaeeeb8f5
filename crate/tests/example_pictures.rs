//! The example pictures in `notebooks/examples/` are made by this test from test-set images, as a
//! user's photo might look: upscaled, dark on light, off-centre. Without arguments it checks that
//! the committed files are exactly what it makes; to write them again:
//!
//!     FASHION_LAB_WRITE_EXAMPLES=1 cargo test --release --test example_pictures

use std::path::PathBuf;

use fashion_lab::prep::picture::fashion_mnist_to_picture;
use fashion_lab::FashionMnist;

/// File name, class (the first test image of that class is used), side in pixels, offset.
const EXAMPLES: &[(&str, u8, u32, (u32, u32))] = &[
    ("ankle-boot.png", 9, 112, (36, 8)),
    ("trouser.png", 1, 96, (10, 40)),
    ("bag.png", 8, 128, (44, 20)),
    ("pullover.png", 2, 104, (16, 32)),
];

#[test]
fn example_pictures_are_reproducible() {
    let data = FashionMnist::load().expect("load");
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../notebooks/examples");
    let write = std::env::var_os("FASHION_LAB_WRITE_EXAMPLES").is_some();
    let scratch = std::env::temp_dir().join(format!("fashion-lab-examples-{}", std::process::id()));
    for &(name, class, side, offset) in EXAMPLES {
        let index = data
            .test
            .labels
            .iter()
            .position(|&l| l == class)
            .expect("every class is in the test set");
        let pixels: Vec<u8> = data.test.images.row(index).to_vec();
        let made = scratch.join(name);
        fashion_mnist_to_picture(&pixels, side, offset, &made).expect("write picture");
        let bytes = std::fs::read(&made).expect("read picture");
        let committed = examples.join(name);
        if write {
            std::fs::create_dir_all(&examples).expect("examples folder");
            std::fs::write(&committed, &bytes).expect("write example");
        } else {
            let stored = std::fs::read(&committed).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; run with FASHION_LAB_WRITE_EXAMPLES=1 to make it",
                    committed.display()
                )
            });
            assert!(
                stored == bytes,
                "{} differs from what this test makes",
                committed.display()
            );
        }
    }
    std::fs::remove_dir_all(&scratch).ok();
}

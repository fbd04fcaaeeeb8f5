//! Inputs that panicked, or asked for absurd allocations, before the fixes.

use super::*;

// ---------------------------------------------------------------------------------------------
// Regressions: inputs that panicked, or asked for absurd allocations, before the fixes.

/// The real model's file with `spec` as its architecture, loaded through a real file.
fn load_with_architecture(tag: &str, spec: &Sequential) -> fashion_lab::error::Result<Model> {
    let dir = temp_dir(tag);
    let path = dir.join("model.safetensors");
    std::fs::write(&path, model_file_with(spec)).expect("write");
    let result = Model::load(&path);
    std::fs::remove_dir_all(&dir).ok();
    result
}

fn assert_not_a_model(result: fashion_lab::error::Result<Model>, why: &str) {
    match result {
        Err(Error::ModelFile { reason, .. }) => assert!(
            reason.contains("not a fashion-lab model file") && reason.contains(why),
            "{reason}"
        ),
        Err(other) => panic!("expected Error::ModelFile about {why:?}, got {other:?}"),
        Ok(_) => panic!("expected Error::ModelFile about {why:?}, got a model"),
    }
}

#[test]
fn model_architecture_claiming_a_huge_dense_layer() {
    // Was: Sequential::build drew 2^40 × 4 random weights (16 TiB) before any check.
    let spec = Sequential::new(&[4]).dense(1 << 40, Activation::Relu);
    assert_not_a_model(
        load_with_architecture("huge-dense", &spec),
        "needs 5497558138880 weights but the file has room for at most",
    );
    assert_eq!(OVERSIZED.load(Ordering::Relaxed), 0);
}

#[test]
fn model_architecture_whose_input_size_overflows() {
    // Was: the product 2^40 · 2^40 overflowed in Sequential::build (a panic with overflow checks,
    // a wrong size without).
    let spec = Sequential::new(&[1 << 40, 1 << 40])
        .flatten()
        .dense(2, Activation::Linear);
    assert_not_a_model(
        load_with_architecture("overflow-shape", &spec),
        "sizes overflow",
    );
}

#[test]
fn model_architecture_with_overflowing_padding() {
    // Was: h + 2·p overflowed in Geometry::new (a panic with overflow checks).
    let spec = Sequential::new(&[4, 4, 1])
        .conv2d(
            1,
            3,
            Activation::Relu,
            Padding::Explicit(usize::MAX / 2 + 1),
        )
        .flatten()
        .dense(2, Activation::Linear);
    assert_not_a_model(
        load_with_architecture("overflow-padding", &spec),
        "cannot be built: layer 1 (Conv2D): kernel 3, stride 1 and padding",
    );
    // And built directly, the same error rather than a panic.
    assert!(spec.build(0).is_err());
}

#[test]
fn model_architecture_with_negative_uniform_limit() {
    // Was: rand's gen_range(1.0..=-1.0) panicked ("cannot sample empty range") while building
    // initial weights that the file's weights replace anyway.
    let spec = Sequential::new(&[4])
        .init(Initializer::RandomUniform(-1.0))
        .dense(3, Activation::Relu)
        .dense(2, Activation::Linear);
    let loaded = load_with_architecture("negative-limit", &spec).expect("weights are in the file");
    let x = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32);
    assert_eq!(
        loaded.predict_proba(&x).expect("proba"),
        small_model().predict_proba(&x).expect("proba")
    );
    assert_eq!(loaded.spec, spec, "the saved definition is kept");
}

#[test]
fn truncated_gzip_whose_idx_header_sizes_overflow() {
    // Was: n · rows · cols overflowed while reporting the truncation (a panic with overflow
    // checks, a nonsense expected length without).
    let mut data = 0x0803u32.to_be_bytes().to_vec();
    for _ in 0..3 {
        data.extend_from_slice(&u32::MAX.to_be_bytes());
    }
    data.extend((0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    let compressed = gzipped(&data);
    let dir = temp_dir("overflow-gz");
    let path = dir.join("train-images-idx3-ubyte.gz");
    std::fs::write(&path, &compressed[..compressed.len() / 2]).expect("write");
    let err = read_maybe_gz(&path).expect_err("truncated");
    std::fs::remove_dir_all(&dir).ok();
    assert!(matches!(err, Error::CorruptGzip { .. }), "{err:?}");
    assert!(err.to_string().contains("ends early"), "{err}");
}

#[test]
fn idx_header_claiming_4_billion_images_allocates_nothing_big() {
    // Not a panic before either, but the check the properties make, on the extreme case.
    let mut bytes = real().images_short.clone();
    bytes[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    let err = parse_images(&bytes, Path::new("x")).expect_err("short");
    assert!(
        matches!(err, Error::Truncated { expected, found: 316, .. } if expected == 16 + u32::MAX as usize * 784),
        "{err:?}"
    );
    let mut labels = real().labels_short.clone();
    labels[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        parse_labels(&labels, Path::new("y")),
        Err(Error::Truncated { found: 108, .. })
    ));
    assert_eq!(OVERSIZED.load(Ordering::Relaxed), 0);
}

#[test]
fn safetensors_header_claiming_huge_shapes() {
    // Not a panic before either (safetensors checks shapes against the data first): kept as the
    // extreme case of model_reader_on_tensors_claiming_any_shapes.
    let (mut header, data) = real_model_parts();
    header["weight.0000"] = serde_json::json!(
        {"dtype": "F32", "shape": [1u64 << 40, 1u64 << 40], "data_offsets": [0, 48]}
    );
    assert_not_a_model(
        Model::load_from_bytes(&safetensors_file(&header, data), "huge.safetensors"),
        "not a fashion-lab model file",
    );
    assert_eq!(OVERSIZED.load(Ordering::Relaxed), 0);
}

#[test]
fn real_inputs_are_read_back() {
    // The bases of the mutations are themselves valid: the properties start from real files.
    let real = real();
    assert_eq!(
        parse_images(&real.images_two, Path::new("x"))
            .expect("images")
            .0
            .nrows(),
        2
    );
    assert_eq!(
        parse_labels(&real.labels_hundred, Path::new("y"))
            .expect("labels")
            .len(),
        100
    );
    assert_eq!(
        gunzip(&real.images_two_gz, Path::new("x.gz")).expect("gunzip"),
        real.images_two
    );
    assert_eq!(
        read_csv_from_bytes(&real.csv, Path::new("two.csv"))
            .expect("csv")
            .len(),
        2
    );
    let dir = temp_dir("csv-path");
    std::fs::write(dir.join("two.csv"), &real.csv).expect("write");
    assert_eq!(read_csv(dir.join("two.csv")).expect("csv").len(), 2);
    std::fs::remove_dir_all(&dir).ok();
    assert!(Model::load_from_bytes(&real.model, "small.safetensors").is_ok());
}

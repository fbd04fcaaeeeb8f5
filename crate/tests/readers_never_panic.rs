//! The IDX, gzip, CSV and model-file readers answer Ok or Err on any bytes: never a panic, and
//! never an allocation out of proportion to their input (a header that claims 4 billion images
//! must not make a reader reserve 3 TB before it notices the buffer is short).
//!
//! Property tests over arbitrary bytes and over real bytes (Fashion-MNIST's own header and pixels,
//! a small saved model) with bytes flipped, set, inserted, deleted or cut. Each property runs
//! `PROPTEST_CASES` cases (proptest's own variable), by default [`DEFAULT_CASES`]: the whole
//! file then takes a few seconds in release mode on a 2-core machine. The tests at the end are
//! the inputs that did panic or allocate without bound before the fixes, kept as regressions.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use fashion_lab::data::csv::{read_csv, read_csv_from_bytes, write_csv};
use fashion_lab::data::idx::{gunzip, parse_images, parse_labels, read_maybe_gz};
use fashion_lab::data::locate::{self, TRAIN_IMAGES, TRAIN_LABELS};
use fashion_lab::{nn::LayerSpec, Sequential};
use fashion_lab::{
    Activation, Array1, Array2, Classifier, Error, ImageSet, Initializer, Model, Padding,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;

// ---------------------------------------------------------------------------------------------
// Watching allocations

/// No input here is larger than a few KiB: a reader asking for more than this in one allocation
/// has believed a size its input claims rather than one it has.
const ALLOCATION_LIMIT: usize = 64 << 20;

/// The largest request above [`ALLOCATION_LIMIT`] so far (0: none). Such a request is refused
/// (the allocator returns null): the process aborts with "memory allocation of N bytes failed"
/// unless the reader copes with the refusal, and then the property fails on this counter.
static OVERSIZED: AtomicUsize = AtomicUsize::new(0);

struct Watching;

fn allowed(size: usize) -> bool {
    if size > ALLOCATION_LIMIT {
        OVERSIZED.fetch_max(size, Ordering::Relaxed);
        return false;
    }
    true
}

// SAFETY: every call is forwarded unchanged to the system allocator, or refused with null, which
// GlobalAlloc allows.
unsafe impl GlobalAlloc for Watching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if allowed(layout.size()) {
            unsafe { System.alloc(layout) }
        } else {
            std::ptr::null_mut()
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if allowed(layout.size()) {
            unsafe { System.alloc_zeroed(layout) }
        } else {
            std::ptr::null_mut()
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if allowed(new_size) {
            unsafe { System.realloc(ptr, layout, new_size) }
        } else {
            std::ptr::null_mut()
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Watching = Watching;

fn no_oversized_allocation() -> std::result::Result<(), TestCaseError> {
    let largest = OVERSIZED.load(Ordering::Relaxed);
    prop_assert!(
        largest == 0,
        "a reader asked for {largest} bytes in one allocation"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Cases and inputs

/// Cases per property unless `PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 512;

fn config() -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = DEFAULT_CASES;
    }
    config
}

/// Where an edit lands: near the start (the headers) or anywhere.
#[derive(Clone, Debug)]
enum At {
    Near(usize),
    Anywhere(Index),
}

impl At {
    fn position(&self, len: usize) -> usize {
        match self {
            At::Near(i) => (*i).min(len),
            At::Anywhere(i) => i.index(len + 1),
        }
    }
}

#[derive(Clone, Debug)]
enum Edit {
    FlipBit(At, u8),
    SetByte(At, u8),
    /// A big-endian u32 written over four bytes: how IDX headers claim sizes.
    SetU32(At, u32),
    Insert(At, Vec<u8>),
    Delete(At, usize),
    Truncate(At),
}

fn at() -> impl Strategy<Value = At> {
    prop_oneof![
        (0usize..32).prop_map(At::Near),
        any::<Index>().prop_map(At::Anywhere)
    ]
}

/// Bytes that mean something to one of the formats: separators, quotes, digits, signs, NUL, the
/// gzip and IDX magics, JSON punctuation.
fn telling_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        prop::sample::select(
            b",\n\r\"' 0123456789-+.eE\x00\xff\x1f\x8b\x08\x03\x01{}[]:\\".to_vec()
        ),
    ]
}

fn telling_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u32>(),
        prop::sample::select(vec![
            0,
            1,
            2,
            9,
            10,
            28,
            784,
            0x0803,
            0x0801,
            u32::MAX,
            1 << 31
        ]),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (at(), 0u8..8).prop_map(|(a, b)| Edit::FlipBit(a, b)),
        (at(), telling_byte()).prop_map(|(a, b)| Edit::SetByte(a, b)),
        (at(), telling_u32()).prop_map(|(a, v)| Edit::SetU32(a, v)),
        (at(), prop::collection::vec(telling_byte(), 1..16)).prop_map(|(a, b)| Edit::Insert(a, b)),
        (at(), 1usize..64).prop_map(|(a, n)| Edit::Delete(a, n)),
        at().prop_map(Edit::Truncate),
    ]
}

fn apply(base: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for edit in edits {
        let len = bytes.len();
        match edit {
            Edit::FlipBit(a, bit) => {
                if let Some(b) = bytes.get_mut(a.position(len)) {
                    *b ^= 1 << bit;
                }
            }
            Edit::SetByte(a, v) => {
                if let Some(b) = bytes.get_mut(a.position(len)) {
                    *b = *v;
                }
            }
            Edit::SetU32(a, v) => {
                let at = a.position(len).min(len.saturating_sub(4));
                for (b, v) in bytes.iter_mut().skip(at).zip(v.to_be_bytes()) {
                    *b = v;
                }
            }
            Edit::Insert(a, new) => {
                let at = a.position(len);
                bytes.splice(at..at, new.iter().copied());
            }
            Edit::Delete(a, n) => {
                let at = a.position(len);
                bytes.drain(at..(at + n).min(len));
            }
            Edit::Truncate(a) => bytes.truncate(a.position(len)),
        }
    }
    bytes
}

/// `base` with one to eight edits.
fn mutated(base: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(edit(), 1..8).prop_map(move |edits| apply(base, &edits))
}

fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..2048)
}

fn real_dir() -> PathBuf {
    locate::find_data_dir(None)
        .expect("Fashion-MNIST must be installed for the tests: run `make data`")
}

/// The first `len` bytes of a real file, decompressed (only they are read).
fn real_prefix(base_name: &str, len: usize) -> Vec<u8> {
    let path = locate::file_in(&real_dir(), base_name).expect("real file");
    let file = std::fs::File::open(&path).expect("open");
    let mut bytes = Vec::with_capacity(len);
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    reader
        .take(len as u64)
        .read_to_end(&mut bytes)
        .expect("read");
    bytes
}

fn gzipped(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Real inputs, made once per test binary.
struct Real {
    /// The real header claiming 60,000 images, and the first 300 bytes of pixels.
    images_short: Vec<u8>,
    /// A complete IDX image file: the real header with its count set to 2, two real images.
    images_two: Vec<u8>,
    /// The real label header claiming 60,000 labels, and the first 100 labels.
    labels_short: Vec<u8>,
    /// A complete IDX label file of the first 100 labels.
    labels_hundred: Vec<u8>,
    /// `images_two` gzipped.
    images_two_gz: Vec<u8>,
    /// The first 2 KiB of the real `train-images-idx3-ubyte.gz`.
    real_gz_start: Vec<u8>,
    /// A Kaggle-style CSV of the first two training images.
    csv: Vec<u8>,
    /// `Sequential::new(&[4]).dense(3, Relu).dense(2, Linear).build(0)?.save(…)`.
    model: Vec<u8>,
}

fn real() -> &'static Real {
    static REAL: OnceLock<Real> = OnceLock::new();
    REAL.get_or_init(|| {
        let images_short = real_prefix(TRAIN_IMAGES, 16 + 300);
        let mut images_two = real_prefix(TRAIN_IMAGES, 16 + 2 * 784);
        images_two[4..8].copy_from_slice(&2u32.to_be_bytes());
        let labels_short = real_prefix(TRAIN_LABELS, 8 + 100);
        let mut labels_hundred = labels_short.clone();
        labels_hundred[4..8].copy_from_slice(&100u32.to_be_bytes());

        let real_gz = locate::file_in(&real_dir(), TRAIN_IMAGES).expect("real file");
        let mut real_gz_start = Vec::new();
        std::fs::File::open(&real_gz)
            .expect("open")
            .take(2048)
            .read_to_end(&mut real_gz_start)
            .expect("read");

        let dir = temp_dir("real");
        let (pixels, _, _) = parse_images(&images_two, Path::new("images")).expect("images");
        let labels = Array1::from(labels_hundred[8..10].to_vec());
        let set = ImageSet::new(pixels, labels).expect("set");
        write_csv(&set, dir.join("two.csv")).expect("write csv");
        let csv = std::fs::read(dir.join("two.csv")).expect("read csv");

        let model_path = dir.join("small.safetensors");
        small_model().save(&model_path).expect("save");
        let model = std::fs::read(&model_path).expect("read model");
        std::fs::remove_dir_all(&dir).ok();
        Real {
            images_two_gz: gzipped(&images_two),
            images_short,
            images_two,
            labels_short,
            labels_hundred,
            real_gz_start,
            csv,
            model,
        }
    })
}

fn small_model() -> Model {
    Sequential::new(&[4])
        .dense(3, Activation::Relu)
        .dense(2, Activation::Linear)
        .build(0)
        .expect("build")
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "fashion-lab-never-panic-{tag}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

// ---------------------------------------------------------------------------------------------
// What each reader is given

fn idx_readers(bytes: &[u8]) -> std::result::Result<(), TestCaseError> {
    let path = Path::new("fuzzed-idx3-ubyte");
    // Ok or Err are both fine; a panic fails the case (proptest catches it and shrinks).
    let _ = parse_images(bytes, path);
    let _ = parse_labels(bytes, path);
    no_oversized_allocation()
}

fn gzip_then_idx(bytes: &[u8]) -> std::result::Result<(), TestCaseError> {
    let path = Path::new("fuzzed-idx3-ubyte.gz");
    if let Ok(data) = gunzip(bytes, path) {
        idx_readers(&data)?;
    }
    no_oversized_allocation()
}

fn csv_reader(bytes: &[u8]) -> std::result::Result<(), TestCaseError> {
    let _ = read_csv_from_bytes(bytes, Path::new("fuzzed.csv"));
    no_oversized_allocation()
}

fn model_reader(bytes: &[u8]) -> std::result::Result<(), TestCaseError> {
    if let Ok(model) = Model::load_from_bytes(bytes, "fuzzed.safetensors") {
        // A model that loads has weights of the shapes its layers expect: it can predict.
        // (When one sample is small enough to make here.)
        let inputs = model
            .spec
            .input_shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d));
        if let Some(inputs) = inputs.filter(|&n| n <= 4096) {
            let _ = model.predict_proba(&Array2::<f32>::zeros((1, inputs)));
        }
    }
    no_oversized_allocation()
}

/// A safetensors file: `header` as its JSON header, then `data`.
fn safetensors_file(header: &serde_json::Value, data: &[u8]) -> Vec<u8> {
    let json = header.to_string();
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(json.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// A CSV value as a damaged or hand-edited file might have it.
fn csv_field() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "-1",
            "256",
            "10",
            "1e400",
            "NaN",
            "inf",
            "\"",
            "\"7\"",
            "99999999999999999999999",
            "0.5",
            "abc",
            " 3",
            "3 ",
            "\r",
            "\n",
            "\n\n",
            ",",
            "label",
            "pixel1",
            "\u{feff}1",
        ])
        .prop_map(str::to_string),
        any::<i64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| v.to_string()),
    ]
}

/// An IDX magic, zero to three sizes as a damaged header might claim them, real pixels.
fn idx_claiming_any_sizes() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![0x0803u32, 0x0801]),
        prop::collection::vec(telling_u32(), 0..4),
        0usize..1000,
    )
        .prop_map(|(magic, dims, body)| {
            let mut bytes = magic.to_be_bytes().to_vec();
            dims.iter()
                .for_each(|d| bytes.extend_from_slice(&d.to_be_bytes()));
            bytes.extend_from_slice(&real().images_two[16..16 + body]);
            bytes
        })
}

/// The small real model's header and data.
fn real_model_parts() -> (serde_json::Value, &'static [u8]) {
    let bytes = &real().model;
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header = serde_json::from_slice(&bytes[8..8 + n]).expect("header JSON");
    (header, &bytes[8 + n..])
}

/// The small real model's file with its architecture replaced by `spec`.
fn model_file_with(spec: &Sequential) -> Vec<u8> {
    let (mut header, data) = real_model_parts();
    header["__metadata__"]["architecture"] =
        serde_json::Value::String(serde_json::to_string(spec).expect("architecture JSON"));
    safetensors_file(&header, data)
}

/// Sizes as a damaged file might claim them: small, on the edges, or anything.
fn claimed_size() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => 0usize..40,
        1 => prop::sample::select(vec![usize::MAX, usize::MAX / 2 + 1, 1 << 32, 1 << 40, 1 << 62]),
        1 => any::<usize>(),
    ]
}

fn activation() -> impl Strategy<Value = Activation> {
    prop::sample::select(Activation::all())
}

fn initializer() -> impl Strategy<Value = Initializer> {
    prop_oneof![
        Just(Initializer::GlorotUniform),
        Just(Initializer::Zeros),
        any::<f32>().prop_map(Initializer::RandomUniform),
        any::<f32>().prop_map(Initializer::RandomNormal),
    ]
}

fn padding() -> impl Strategy<Value = Padding> {
    prop_oneof![
        Just(Padding::Valid),
        Just(Padding::Same),
        claimed_size().prop_map(Padding::Explicit),
    ]
}

fn layer() -> impl Strategy<Value = LayerSpec> {
    prop_oneof![
        Just(LayerSpec::Flatten),
        (claimed_size(), activation(), initializer()).prop_map(|(units, activation, init)| {
            LayerSpec::Dense {
                units,
                activation,
                init,
            }
        }),
        (-1.0f32..2.0).prop_map(|rate| LayerSpec::Dropout { rate }),
        (
            claimed_size(),
            claimed_size(),
            claimed_size(),
            padding(),
            activation(),
            initializer()
        )
            .prop_map(|(filters, kernel, stride, padding, activation, init)| {
                LayerSpec::Conv2d {
                    filters,
                    kernel,
                    stride,
                    padding,
                    activation,
                    init,
                }
            }),
        (claimed_size(), claimed_size())
            .prop_map(|(size, stride)| LayerSpec::MaxPool2d { size, stride }),
        (claimed_size(), claimed_size())
            .prop_map(|(size, stride)| LayerSpec::AvgPool2d { size, stride }),
        Just(LayerSpec::GlobalAvgPool2d),
        (-1.0f32..2.0, -1.0f32..1.0)
            .prop_map(|(momentum, epsilon)| LayerSpec::BatchNorm { momentum, epsilon }),
    ]
}

/// Any architecture, sensible or not.
fn architecture() -> impl Strategy<Value = Sequential> {
    (
        prop::collection::vec(claimed_size(), 0..4),
        prop::collection::vec(layer(), 0..6),
    )
        .prop_map(|(input_shape, layers)| {
            let mut spec = Sequential::new(&input_shape);
            spec.layers = layers;
            spec
        })
}

/// A small image model that usually builds: image layers, Flatten or global pooling, dense
/// layers.
fn small_architecture() -> impl Strategy<Value = Sequential> {
    let image_layer = prop_oneof![
        (
            1usize..4,
            1usize..4,
            1usize..3,
            prop_oneof![
                Just(Padding::Valid),
                Just(Padding::Same),
                (0usize..3).prop_map(Padding::Explicit),
            ]
        )
            .prop_map(|(filters, kernel, stride, padding)| LayerSpec::Conv2d {
                filters,
                kernel,
                stride,
                padding,
                activation: Activation::Relu,
                init: Initializer::HeUniform,
            }),
        (1usize..3).prop_map(|size| LayerSpec::MaxPool2d { size, stride: size }),
        (1usize..3).prop_map(|size| LayerSpec::AvgPool2d { size, stride: size }),
        Just(LayerSpec::BatchNorm {
            momentum: 0.99,
            epsilon: 1e-3
        }),
        Just(LayerSpec::Dropout { rate: 0.25 }),
    ];
    let flat_layer = prop_oneof![
        (1usize..6).prop_map(|units| LayerSpec::Dense {
            units,
            activation: Activation::Tanh,
            init: Initializer::GlorotUniform,
        }),
        Just(LayerSpec::BatchNorm {
            momentum: 0.9,
            epsilon: 1e-3
        }),
        Just(LayerSpec::Dropout { rate: 0.5 }),
    ];
    (
        (2usize..9, 2usize..9, 1usize..3),
        prop::collection::vec(image_layer, 0..4),
        prop_oneof![Just(LayerSpec::Flatten), Just(LayerSpec::GlobalAvgPool2d)],
        prop::collection::vec(flat_layer, 0..3),
        1usize..4,
    )
        .prop_map(|((h, w, c), image, bridge, flat, outputs)| {
            let mut spec = Sequential::new(&[h, w, c]);
            spec.layers = image;
            spec.layers.push(bridge);
            spec.layers.extend(flat);
            spec.dense(outputs, Activation::Linear)
        })
}

/// A tensor entry as a damaged header might have it.
fn tensor_entry() -> impl Strategy<Value = serde_json::Value> {
    (
        prop::sample::select(vec!["F32", "F16", "U8", "I64", "BOOL", "F64"]),
        prop::collection::vec(claimed_size(), 0..4),
        claimed_size(),
        claimed_size(),
    )
        .prop_map(|(dtype, shape, start, end)| {
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [start, end]})
        })
}

// ---------------------------------------------------------------------------------------------
// The properties

proptest! {
    #![proptest_config(config())]

    #[test]
    fn idx_parsers_on_arbitrary_bytes(bytes in arbitrary_bytes()) {
        idx_readers(&bytes)?;
    }

    #[test]
    fn idx_parsers_on_headers_claiming_any_sizes(bytes in idx_claiming_any_sizes()) {
        idx_readers(&bytes)?;
    }

    #[test]
    fn idx_parsers_on_mutated_real_images(bytes in mutated(&real().images_two)) {
        idx_readers(&bytes)?;
    }

    #[test]
    fn idx_parsers_on_mutated_real_header_claiming_60000_images(
        bytes in mutated(&real().images_short),
    ) {
        idx_readers(&bytes)?;
    }

    #[test]
    fn idx_parsers_on_mutated_real_labels(
        bytes in prop_oneof![mutated(&real().labels_hundred), mutated(&real().labels_short)],
    ) {
        idx_readers(&bytes)?;
    }

    #[test]
    fn gunzip_on_arbitrary_bytes(
        bytes in prop_oneof![
            arbitrary_bytes(),
            // Past the magic, so that the gzip decoder itself is reached.
            arbitrary_bytes().prop_map(|b| [&[0x1f, 0x8b][..], &b].concat()),
        ],
    ) {
        gzip_then_idx(&bytes)?;
    }

    #[test]
    fn gunzip_on_mutated_real_gzip(
        bytes in prop_oneof![mutated(&real().images_two_gz), mutated(&real().real_gz_start)],
    ) {
        gzip_then_idx(&bytes)?;
    }

    #[test]
    fn gunzip_on_cut_gzip_of_headers_claiming_any_sizes(
        bytes in idx_claiming_any_sizes(),
        keep in any::<Index>(),
    ) {
        // Cut anywhere in the stream: the truncation is reported with what the header claims.
        let mut compressed = gzipped(&bytes);
        compressed.truncate(keep.index(compressed.len() + 1));
        gzip_then_idx(&compressed)?;
    }

    #[test]
    fn csv_reader_on_arbitrary_bytes(bytes in arbitrary_bytes()) {
        csv_reader(&bytes)?;
    }

    #[test]
    fn csv_reader_on_mutated_real_csv(bytes in mutated(&real().csv)) {
        csv_reader(&bytes)?;
    }

    #[test]
    fn csv_reader_on_real_csv_with_fields_replaced(
        fields in prop::collection::vec((any::<Index>(), csv_field()), 1..4),
    ) {
        // Whole values swapped for odd ones: the parsing of numbers is reached, not just the
        // splitting into columns.
        let text = String::from_utf8(real().csv.clone()).expect("the CSV is text");
        let mut values: Vec<String> = text.split(',').map(str::to_string).collect();
        for (at, field) in fields {
            let i = at.index(values.len());
            // Keep the line breaks that end rows.
            let tail = values[i].find('\n').map(|n| values[i][n..].to_string()).unwrap_or_default();
            values[i] = format!("{field}{tail}");
        }
        csv_reader(values.join(",").as_bytes())?;
    }

    #[test]
    fn model_reader_on_arbitrary_bytes(
        bytes in prop_oneof![
            arbitrary_bytes(),
            // A plausible header length first, so that the header's JSON is reached.
            (0u64..2048, arbitrary_bytes())
                .prop_map(|(n, b)| [&n.to_le_bytes()[..], &b].concat()),
        ],
    ) {
        model_reader(&bytes)?;
    }

    #[test]
    fn model_reader_on_mutated_real_model(bytes in mutated(&real().model)) {
        model_reader(&bytes)?;
    }

    #[test]
    fn model_reader_on_any_architecture(spec in architecture()) {
        model_reader(&model_file_with(&spec))?;
    }

    #[test]
    fn model_reader_reads_back_every_small_model_it_saves(spec in small_architecture()) {
        // The reader's checks reject no real file: what builds, saves and loads, and predicts
        // the same.
        let Ok(model) = spec.build(7) else {
            return Ok(());
        };
        let dir = temp_dir("round-trip");
        let path = dir.join(format!("{:?}.safetensors", std::thread::current().id()));
        model.save(&path).expect("save");
        let bytes = std::fs::read(&path).expect("read");
        std::fs::remove_file(&path).ok();
        let loaded = Model::load_from_bytes(&bytes, &path);
        prop_assert!(loaded.is_ok(), "{spec:?}: {:?}", loaded.err());
        let inputs: usize = spec.input_shape.iter().product();
        let x = Array2::from_shape_fn((2, inputs), |(i, j)| ((i * 31 + j * 7) % 256) as f32);
        prop_assert_eq!(
            loaded.expect("loaded").predict_proba(&x).expect("proba"),
            model.predict_proba(&x).expect("proba")
        );
    }

    #[test]
    fn model_reader_on_tensors_claiming_any_shapes(
        entries in prop::collection::vec(tensor_entry(), 1..4),
        data in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let (mut header, _) = real_model_parts();
        for (i, entry) in entries.into_iter().enumerate() {
            header[format!("weight.{i:04}")] = entry;
        }
        model_reader(&safetensors_file(&header, &data))?;
    }
}

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

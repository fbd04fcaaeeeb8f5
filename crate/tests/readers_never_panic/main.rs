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
pub(crate) const ALLOCATION_LIMIT: usize = 64 << 20;

/// The largest request above [`ALLOCATION_LIMIT`] so far (0: none). Such a request is refused
/// (the allocator returns null): the process aborts with "memory allocation of N bytes failed"
/// unless the reader copes with the refusal, and then the property fails on this counter.
pub(crate) static OVERSIZED: AtomicUsize = AtomicUsize::new(0);

pub(crate) struct Watching;

pub(crate) fn allowed(size: usize) -> bool {
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

pub(crate) fn no_oversized_allocation() -> std::result::Result<(), TestCaseError> {
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
pub(crate) const DEFAULT_CASES: u32 = 512;

pub(crate) fn config() -> Config {
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

pub(crate) fn at() -> impl Strategy<Value = At> {
    prop_oneof![
        (0usize..32).prop_map(At::Near),
        any::<Index>().prop_map(At::Anywhere)
    ]
}

/// Bytes that mean something to one of the formats: separators, quotes, digits, signs, NUL, the
/// gzip and IDX magics, JSON punctuation.
pub(crate) fn telling_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        prop::sample::select(
            b",\n\r\"' 0123456789-+.eE\x00\xff\x1f\x8b\x08\x03\x01{}[]:\\".to_vec()
        ),
    ]
}

pub(crate) fn telling_u32() -> impl Strategy<Value = u32> {
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

pub(crate) fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (at(), 0u8..8).prop_map(|(a, b)| Edit::FlipBit(a, b)),
        (at(), telling_byte()).prop_map(|(a, b)| Edit::SetByte(a, b)),
        (at(), telling_u32()).prop_map(|(a, v)| Edit::SetU32(a, v)),
        (at(), prop::collection::vec(telling_byte(), 1..16)).prop_map(|(a, b)| Edit::Insert(a, b)),
        (at(), 1usize..64).prop_map(|(a, n)| Edit::Delete(a, n)),
        at().prop_map(Edit::Truncate),
    ]
}

pub(crate) fn apply(base: &[u8], edits: &[Edit]) -> Vec<u8> {
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
pub(crate) fn mutated(base: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(edit(), 1..8).prop_map(move |edits| apply(base, &edits))
}

pub(crate) fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..2048)
}

pub(crate) fn real_dir() -> PathBuf {
    locate::find_data_dir(None)
        .expect("Fashion-MNIST must be installed for the tests: run `make data`")
}

/// The first `len` bytes of a real file, decompressed (only they are read).
pub(crate) fn real_prefix(base_name: &str, len: usize) -> Vec<u8> {
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

pub(crate) fn gzipped(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Real inputs, made once per test binary.
pub(crate) struct Real {
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

pub(crate) fn real() -> &'static Real {
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

pub(crate) fn small_model() -> Model {
    Sequential::new(&[4])
        .dense(3, Activation::Relu)
        .dense(2, Activation::Linear)
        .build(0)
        .expect("build")
}

pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "fashion-lab-never-panic-{tag}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

mod inputs;
mod properties;
mod regressions;

use inputs::*;

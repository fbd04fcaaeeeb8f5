//! What each reader is given, and the generators of its inputs.

use super::*;

// ---------------------------------------------------------------------------------------------
// What each reader is given

pub(super) fn idx_readers(bytes: &[u8]) -> std::result::Result<(), TestCaseError> {
    let path = Path::new("fuzzed-idx3-ubyte");
    // Ok or Err are both fine; a panic fails the case (proptest catches it and shrinks).
    let _ = parse_images(bytes, path);
    let _ = parse_labels(bytes, path);
    no_oversized_allocation()
}

pub(super) fn gzip_then_idx(bytes: &[u8]) -> std::result::Result<(), TestCaseError> {
    let path = Path::new("fuzzed-idx3-ubyte.gz");
    if let Ok(data) = gunzip(bytes, path) {
        idx_readers(&data)?;
    }
    no_oversized_allocation()
}

pub(super) fn csv_reader(bytes: &[u8]) -> std::result::Result<(), TestCaseError> {
    let _ = read_csv_from_bytes(bytes, Path::new("fuzzed.csv"));
    no_oversized_allocation()
}

pub(super) fn model_reader(bytes: &[u8]) -> std::result::Result<(), TestCaseError> {
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
pub(super) fn safetensors_file(header: &serde_json::Value, data: &[u8]) -> Vec<u8> {
    let json = header.to_string();
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(json.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// A CSV value as a damaged or hand-edited file might have it.
pub(super) fn csv_field() -> impl Strategy<Value = String> {
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
pub(super) fn idx_claiming_any_sizes() -> impl Strategy<Value = Vec<u8>> {
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
pub(super) fn real_model_parts() -> (serde_json::Value, &'static [u8]) {
    let bytes = &real().model;
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header = serde_json::from_slice(&bytes[8..8 + n]).expect("header JSON");
    (header, &bytes[8 + n..])
}

/// The small real model's file with its architecture replaced by `spec`.
pub(super) fn model_file_with(spec: &Sequential) -> Vec<u8> {
    let (mut header, data) = real_model_parts();
    header["__metadata__"]["architecture"] =
        serde_json::Value::String(serde_json::to_string(spec).expect("architecture JSON"));
    safetensors_file(&header, data)
}

/// Sizes as a damaged file might claim them: small, on the edges, or anything.
pub(super) fn claimed_size() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => 0usize..40,
        1 => prop::sample::select(vec![usize::MAX, usize::MAX / 2 + 1, 1 << 32, 1 << 40, 1 << 62]),
        1 => any::<usize>(),
    ]
}

pub(super) fn activation() -> impl Strategy<Value = Activation> {
    prop::sample::select(Activation::all())
}

pub(super) fn initializer() -> impl Strategy<Value = Initializer> {
    prop_oneof![
        Just(Initializer::GlorotUniform),
        Just(Initializer::Zeros),
        any::<f32>().prop_map(Initializer::RandomUniform),
        any::<f32>().prop_map(Initializer::RandomNormal),
    ]
}

pub(super) fn padding() -> impl Strategy<Value = Padding> {
    prop_oneof![
        Just(Padding::Valid),
        Just(Padding::Same),
        claimed_size().prop_map(Padding::Explicit),
    ]
}

pub(super) fn layer() -> impl Strategy<Value = LayerSpec> {
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
pub(super) fn architecture() -> impl Strategy<Value = Sequential> {
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
pub(super) fn small_architecture() -> impl Strategy<Value = Sequential> {
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
pub(super) fn tensor_entry() -> impl Strategy<Value = serde_json::Value> {
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

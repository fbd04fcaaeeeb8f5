//! The reports' networks, one function each, as the reports define them: the notebooks, the tests
//! and the bench build from here, so a model is written once.
//!
//! Every network ends in 10 logits (softmax sits in the loss and in `predict_proba`, the same
//! model as Keras' softmax output with categorical cross-entropy). Where a report leaves a value
//! out (a dropout rate its summary table cannot show), the doc comment says which value we chose.

use super::{Activation, Initializer, Padding, Sequential};

/// Report 001's deep CNN (its Table 5.1): conv 32 → pool → conv 64 → pool → conv 128 (3 × 3,
/// ReLU, same padding), flatten (6,272), dense 128 ReLU, dropout 0.5, dense 10.
pub fn report_001_cnn() -> Sequential {
    report_001_cnn_with_dropout(Some(0.5))
}

/// Report 001's CNN with another dropout rate, or none (`None`: the report's claim that dropout
/// prevents a collapse to one class is tested without it).
pub fn report_001_cnn_with_dropout(dropout: Option<f32>) -> Sequential {
    let spec = Sequential::new(&[28, 28, 1])
        .conv2d(32, 3, Activation::Relu, Padding::Same)
        .max_pool(2)
        .conv2d(64, 3, Activation::Relu, Padding::Same)
        .max_pool(2)
        .conv2d(128, 3, Activation::Relu, Padding::Same)
        .flatten()
        .dense(128, Activation::Relu);
    match dropout {
        Some(rate) => spec.dropout(rate),
        None => spec,
    }
    .dense(10, Activation::Linear)
}

/// Report 002's baseline MLP: 784 → 128 ReLU → 64 ReLU → 10.
pub fn report_002_mlp() -> Sequential {
    Sequential::new(&[784])
        .dense(128, Activation::Relu)
        .dense(64, Activation::Relu)
        .dense(10, Activation::Linear)
}

/// Report 002's grid-search MLP (its first grid): two hidden layers of `hidden` ReLU units, each
/// followed by dropout at `dropout`.
pub fn report_002_dropout_mlp(hidden: usize, dropout: f32) -> Sequential {
    Sequential::new(&[784])
        .dense(hidden, Activation::Relu)
        .dropout(dropout)
        .dense(hidden, Activation::Relu)
        .dropout(dropout)
        .dense(10, Activation::Linear)
}

/// Report 002's second grid's MLP: one hidden layer of 128 ReLU units.
pub fn report_002_one_hidden_mlp() -> Sequential {
    Sequential::new(&[784])
        .dense(128, Activation::Relu)
        .dense(10, Activation::Linear)
}

/// Report 002's CNN attempts 1–4 (its model summaries); another `attempt` is an error.
/// Parameters (total / trainable): 1: 120,170; 2: 840,586 / 838,154; 3: 246,154 / 243,850;
/// 4: 120,234 / 119,978. The summaries show where dropout sits but not its rate: 2 uses Keras'
/// usual 0.25 after convolutions and 0.5 before the output; 3 keeps those with dropout after every
/// block ("increased the presence of dropout"); 4 lowers them to 0.1 and 0.2 ("decreased the
/// dropout rate a bit"). Those rates are ours.
pub fn report_002_cnn(attempt: usize) -> crate::error::Result<Sequential> {
    let relu = Activation::Relu;
    let same = Padding::Same;
    let input = Sequential::new(&[28, 28, 1]);
    let spec = match attempt {
        1 => input
            .conv2d(64, 3, relu, same)
            .max_pool(2)
            .conv2d(32, 3, relu, same)
            .max_pool(2)
            .flatten()
            .dense(64, relu),
        2 => input
            .conv2d(32, 3, relu, same)
            .max_pool(2)
            .conv2d(64, 3, relu, same)
            .max_pool(2)
            .dropout(0.25)
            .batch_norm()
            .conv2d(128, 3, relu, same)
            .conv2d(128, 3, relu, same)
            .max_pool(2)
            .dropout(0.25)
            .flatten()
            .batch_norm()
            .dense(512, relu)
            .dropout(0.5),
        3 => input
            .conv2d(32, 3, relu, same)
            .max_pool(2)
            .dropout(0.25)
            .conv2d(64, 3, relu, same)
            .max_pool(2)
            .dropout(0.25)
            .conv2d(128, 3, relu, same)
            .max_pool(2)
            .dropout(0.25)
            .flatten()
            .batch_norm()
            .dense(128, relu)
            .dropout(0.5),
        4 => input
            .conv2d(32, 3, relu, same)
            .max_pool(2)
            .dropout(0.1)
            .conv2d(32, 3, relu, same)
            .max_pool(2)
            .dropout(0.1)
            .conv2d(64, 3, relu, same)
            .max_pool(2)
            .dropout(0.1)
            .conv2d(128, 3, relu, same)
            .max_pool(2)
            .dropout(0.1)
            .flatten()
            .batch_norm()
            .dense(128, relu)
            .dropout(0.2),
        _ => {
            return Err(crate::error::Error::param(
                "attempt",
                format!("report 002 has CNN attempts 1 to 4, not {attempt}"),
            ))
        }
    };
    Ok(spec.dense(10, Activation::Linear))
}

/// Report 003's initialisation rule for a layer's activation: He for ReLU-like units, Xavier
/// (LeCun normal, variance 1 / fan-in) for the others.
pub fn report_003_init(activation: Activation) -> Initializer {
    match activation {
        Activation::Relu | Activation::LeakyRelu(_) => Initializer::HeNormal,
        _ => Initializer::LecunNormal,
    }
}

/// Report 003's MLP: `inputs` → one dense layer per entry of `hidden` (with the activation at the
/// same place in `activations`, initialised by [`report_003_init`], inverted dropout after each
/// when `dropout` > 0) → 10 logits (Xavier).
pub fn report_003_mlp(
    inputs: usize,
    hidden: &[usize],
    activations: &[Activation],
    dropout: f32,
) -> Sequential {
    let mut spec = Sequential::new(&[inputs]);
    for (&units, &activation) in hidden.iter().zip(activations) {
        spec = spec
            .init(report_003_init(activation))
            .dense(units, activation);
        if dropout > 0.0 {
            spec = spec.dropout(dropout);
        }
    }
    spec.init(Initializer::LecunNormal)
        .dense(10, Activation::Linear)
}

/// How report 003's backbone reduces its feature maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    /// 2 × 2 max pooling after each of the first three convolutions.
    Max,
    /// 2 × 2 average pooling after each of the first three convolutions (the report's choice).
    Average,
    /// Global average pooling after the last convolution instead of flattening.
    GlobalAverage,
}

/// Report 003's CNN backbone (its Table 3: 3 × 3 convolutions doubling 32 → 512, ReLU, average
/// pooling, He) with a dense 10 output: one convolution per entry of `filters`, pooling after
/// each of the first three, then flatten (or global average pooling) and the output layer.
pub fn report_003_backbone(
    filters: &[usize],
    kernel: usize,
    pooling: Pooling,
    padding: Padding,
    init: Initializer,
) -> Sequential {
    let spec = backbone_convolutions(filters, kernel, pooling, padding, init);
    match pooling {
        Pooling::GlobalAverage => spec.global_avg_pool(),
        Pooling::Max | Pooling::Average => spec.flatten(),
    }
    .dense(10, Activation::Linear)
}

/// The backbone's convolutions and pooling, without what follows them.
fn backbone_convolutions(
    filters: &[usize],
    kernel: usize,
    pooling: Pooling,
    padding: Padding,
    init: Initializer,
) -> Sequential {
    let mut spec = Sequential::new(&[28, 28, 1]).init(init);
    for (i, &f) in filters.iter().enumerate() {
        spec = spec.conv2d(f, kernel, Activation::Relu, padding);
        if i < 3 {
            spec = match pooling {
                Pooling::Max => spec.max_pool(2),
                Pooling::Average | Pooling::GlobalAverage => spec.avg_pool(2),
            };
        }
    }
    spec
}

/// The report's own backbone, Table 3: five 3 × 3 convolutions 32, 64, 128, 256, 512 with same
/// padding, average pooling, He initialisation.
pub fn report_003_table3_backbone() -> Sequential {
    report_003_backbone(
        &[32, 64, 128, 256, 512],
        3,
        Pooling::Average,
        Padding::Same,
        Initializer::HeNormal,
    )
}

/// Report 003's feature CNN: the Table 3 backbone with an "inbuilt MLP" on top instead of its
/// output layer (flatten, dense 256 ReLU, dropout 0.5, dense 10; the report gives no sizes: ours),
/// trained end to end. Its layers but the last give the features the custom MLP is trained on.
pub fn report_003_feature_cnn() -> Sequential {
    backbone_convolutions(
        &[32, 64, 128, 256, 512],
        3,
        Pooling::Average,
        Padding::Same,
        Initializer::HeNormal,
    )
    .flatten()
    .dense(256, Activation::Relu)
    .dropout(0.5)
    .dense(10, Activation::Linear)
}

/// Report 004's base model, TensorFlow's "basic classification": Flatten (28 × 28), dense 128
/// ReLU, dense 10 (Glorot uniform, Keras' default), with `dropout` after the hidden layer when
/// set (the report's dropout sweep) and `init` for every layer (its initialiser sweep).
pub fn report_004_base(
    hidden: usize,
    activation: Activation,
    dropout: Option<f32>,
    init: Initializer,
) -> Sequential {
    let mut spec = Sequential::new(&[28, 28])
        .init(init)
        .flatten()
        .dense(hidden, activation);
    if let Some(rate) = dropout {
        spec = spec.dropout(rate);
    }
    spec.dense(10, Activation::Linear)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (total, trainable) parameters of a built spec.
    fn params(spec: &Sequential) -> (usize, usize) {
        let model = spec.build(0).expect("the zoo's specs build");
        (model.n_params(), model.n_trainable())
    }

    #[test]
    fn parameter_counts_are_the_reports() {
        // Report 001's Table 5.1 lists the layers, not their sizes: 320 + 18,496 + 73,856
        // convolution, 6,272 · 128 + 128 dense, 1,290 output.
        assert_eq!(params(&report_001_cnn()), (896_906, 896_906));
        assert_eq!(
            params(&report_001_cnn_with_dropout(None)),
            (896_906, 896_906)
        );
        assert_eq!(
            report_001_cnn().layers.len(),
            report_001_cnn_with_dropout(None).layers.len() + 1
        );
        // Report 002's model summaries.
        assert_eq!(params(&report_002_mlp()), (109_386, 109_386));
        let cnn = |n| report_002_cnn(n).expect("attempts 1-4 exist");
        assert_eq!(params(&cnn(1)), (120_170, 120_170));
        assert_eq!(params(&cnn(2)), (840_586, 838_154));
        assert_eq!(params(&cnn(3)), (246_154, 243_850));
        assert_eq!(params(&cnn(4)), (120_234, 119_978));
        assert!(report_002_cnn(5).is_err());
        // Report 003's Table 3 backbone: 3·3·(1·32 + 32·64 + 64·128 + 128·256 + 256·512) weights
        // and 992 biases, then 3·3·512 → 10; with the inbuilt MLP 4,608 → 256 → 10 instead.
        assert_eq!(params(&report_003_table3_backbone()).0, 1_568_000 + 46_090);
        assert_eq!(
            params(&report_003_feature_cnn()).0,
            1_568_000 + 1_179_904 + 2_570
        );
        // Report 004: 784 · 128 + 128 + 128 · 10 + 10.
        let base = report_004_base(128, Activation::Relu, None, Initializer::GlorotUniform);
        assert_eq!(params(&base).0, 101_770);
    }
}

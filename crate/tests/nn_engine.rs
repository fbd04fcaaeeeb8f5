//! The network engine: gradients against finite differences, learning on real images,
//! divergence that finishes, determinism.

use fashion_lab::nn::{softmax_cross_entropy, Activation, Initializer, Sequential};
use fashion_lab::train::{
    fit, side_by_side, EarlyStopping, Optimizer, ReduceLrOnPlateau, TrainConfig,
};
use fashion_lab::{Array1, Array2, Classifier, Error, FashionMnist, LabelledSet, Scale255, Scaler};

/// Loss of the model on a fixed batch, in f64 for the finite differences.
fn batch_loss(model: &mut fashion_lab::Model, x: &Array2<f32>, y: &Array1<u8>) -> f64 {
    f64::from(softmax_cross_entropy(&model.logits(x).expect("logits"), y).0)
}

#[test]
fn backprop_matches_finite_differences_for_every_activation() {
    let x = Array2::from_shape_fn((6, 5), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 11.0 - 0.4);
    let y = Array1::from(vec![0u8, 1, 2, 1, 0, 2]);
    for act in Activation::all() {
        let mut model = Sequential::new(&[5])
            .init(Initializer::GlorotNormal)
            .dense(7, act)
            .dense(4, act)
            .dense(3, Activation::Linear)
            .build(3)
            .expect("build");
        let logits = model.forward_train(&x);
        let (_, grad) = softmax_cross_entropy(&logits, &y);
        model.backward(&grad);
        let analytic: Vec<Vec<f32>> = model
            .params()
            .iter()
            .map(|p| p.grad.iter().copied().collect())
            .collect();
        let h = 1e-2f32;
        // Whole-gradient relative error ‖num − ana‖ / (‖num‖ + ‖ana‖), as in CS231n's check.
        let (mut diff2, mut num2, mut ana2) = (0.0f64, 0.0f64, 0.0f64);
        for (pi, grads) in analytic.iter().enumerate() {
            for (k, &g) in grads.iter().enumerate() {
                let bump = |model: &mut fashion_lab::Model, delta: f32| {
                    let mut params = model.params_mut();
                    let v = params[pi].value.as_slice_mut().expect("contiguous");
                    v[k] += delta;
                };
                bump(&mut model, h);
                let up = batch_loss(&mut model, &x, &y);
                bump(&mut model, -2.0 * h);
                let down = batch_loss(&mut model, &x, &y);
                bump(&mut model, h);
                let numeric = (up - down) / (2.0 * f64::from(h));
                diff2 += (numeric - f64::from(g)).powi(2);
                num2 += numeric.powi(2);
                ana2 += f64::from(g).powi(2);
            }
        }
        let rel = diff2.sqrt() / (num2.sqrt() + ana2.sqrt());
        assert!(rel < 1e-2, "{}: relative gradient error {rel}", act.name());
        assert!(ana2 > 0.0, "{}: gradient is all zero", act.name());
    }
}

#[test]
fn mlp_learns_real_images_and_same_seed_gives_same_numbers() {
    let data = FashionMnist::load().expect("load");
    let train = data.train.stratified_subset(6_000, 0).expect("subset");
    let test = data.test.stratified_subset(1_000, 0).expect("subset");
    let (train, test) = (
        Scale255.labelled(&train).expect("scale"),
        Scale255.labelled(&test).expect("scale"),
    );
    let spec = Sequential::mlp(784, &[128, 64], Activation::Relu, 0.1, 10);
    let config = TrainConfig::default()
        .epochs(4)
        .batch_size(64)
        .seed(7)
        .verbose(false);
    let run = || {
        let mut model = spec.build(1).expect("build");
        let history = fit(&mut model, &train, Some(&test), &config).expect("fit");
        let acc = model.score(&test).expect("acc");
        (history, acc)
    };
    let (h1, acc1) = run();
    let (h2, acc2) = run();
    assert!(
        acc1 > 0.80,
        "4 epochs on 6k images should pass 80%, got {acc1}"
    );
    let numbers = |h: &fashion_lab::History| -> Vec<(f64, f64, Option<f64>)> {
        h.epochs
            .iter()
            .map(|e| (e.loss, e.accuracy, e.val_loss))
            .collect()
    };
    assert_eq!(numbers(&h1), numbers(&h2), "same seed, same history");
    assert_eq!(acc1, acc2);
    assert!(h1.epochs[3].loss < h1.epochs[0].loss);
}

#[test]
fn diverging_run_finishes_with_nan_and_chance_accuracy() {
    let data = FashionMnist::load().expect("load");
    let train = data.train.stratified_subset(2_000, 0).expect("subset");
    let train = Scale255.labelled(&train).expect("scale");
    let mut model = Sequential::mlp(784, &[64], Activation::Relu, 0.0, 10)
        .build(0)
        .expect("build");
    let config = TrainConfig::default()
        .epochs(3)
        .optimizer(Optimizer::adam().with_lr(5.0))
        .verbose(false);
    let history = fit(&mut model, &train, None, &config).expect("a diverging run is not an error");
    let acc = model.score(&train).expect("acc");
    assert_eq!(history.epochs.len(), 3);
    assert!(acc < 0.3, "lr 5 must not learn, got {acc}");
}

#[test]
fn bad_hyperparameters_are_errors() {
    let mut model = Sequential::mlp(4, &[3], Activation::Relu, 0.0, 2)
        .build(0)
        .expect("build");
    let set = LabelledSet::new(
        Array2::<f32>::zeros((4, 4)),
        Array1::from(vec![0u8, 1, 0, 1]),
    )
    .expect("set");
    for config in [
        TrainConfig::default().epochs(0),
        TrainConfig::default().batch_size(0),
        TrainConfig::default().optimizer(Optimizer::sgd().with_lr(-1.0)),
        TrainConfig::default().early_stopping(EarlyStopping::val_loss(3)),
        TrainConfig::default().reduce_lr_on_plateau(ReduceLrOnPlateau::val_loss(0.5, 2)),
    ] {
        assert!(
            fit(&mut model, &set, None, &config.verbose(false)).is_err(),
            "{config:?}"
        );
    }
    assert!(Sequential::mlp(4, &[3], Activation::Relu, 1.5, 2)
        .build(0)
        .is_err());
    let wide = LabelledSet::new(Array2::zeros((4, 5)), set.labels().clone()).expect("set");
    assert!(matches!(
        fit(&mut model, &wide, None, &TrainConfig::default()),
        Err(Error::ShapeMismatch {
            expected: 4,
            found: 5,
            ..
        })
    ));
    assert!(matches!(
        LabelledSet::new(Array2::zeros((3, 4)), set.labels().clone()),
        Err(Error::ShapeMismatch {
            expected: 3,
            found: 4,
            ..
        })
    ));
    let mut nan = Array2::<f32>::zeros((4, 4));
    nan[[2, 1]] = f32::NAN;
    assert!(matches!(
        LabelledSet::new(nan, set.labels().clone()),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn summary_counts_match_keras() {
    // Report 002's baseline MLP: 784 → 128 → 64 → 10 = 109,386 parameters.
    let model = Sequential::new(&[784])
        .dense(128, Activation::Relu)
        .dense(64, Activation::Relu)
        .dense(10, Activation::Linear)
        .build(0)
        .expect("build");
    assert_eq!(model.n_params(), 109_386);
    assert_eq!(model.summary().expect("summary").frame.height(), 3);
}

#[test]
fn trainings_side_by_side_give_the_serial_numbers_and_pass_errors_on() {
    let data = FashionMnist::load().expect("load");
    let train = data.train.stratified_subset(3_000, 1).expect("subset");
    let train = Scale255.labelled(&train).expect("scale");
    let widths = [32usize, 64, 16];
    let train_one = |&width: &usize| -> fashion_lab::error::Result<(Vec<f64>, f64)> {
        let mut model = Sequential::mlp(784, &[width], Activation::Relu, 0.0, 10).build(3)?;
        let config = TrainConfig::default()
            .epochs(2)
            .batch_size(64)
            .seed(5)
            .verbose(false);
        let history = fit(&mut model, &train, None, &config)?;
        let acc = model.score(&train)?;
        Ok((history.epochs.iter().map(|e| e.loss).collect(), acc))
    };
    let serial: Vec<(Vec<f64>, f64)> = widths
        .iter()
        .map(train_one)
        .collect::<fashion_lab::error::Result<_>>()
        .expect("serial");
    let parallel = side_by_side(&widths, train_one).expect("side by side");
    assert_eq!(parallel, serial, "same trainings, same numbers, same order");
    assert!(serial.iter().all(|(_, acc)| *acc > 0.7));
    let bad = side_by_side(&[16usize, 0], train_one);
    assert!(bad.is_err(), "a layer of 0 units is an error, not a panic");
}

/// Seeded stratified subsets of real images, pixels / 255: 2,000 for training, 1,000 to validate.
fn small_split(seed: u64) -> (LabelledSet, LabelledSet) {
    let data = FashionMnist::load().expect("load");
    let train = data.train.stratified_subset(2_000, seed).expect("subset");
    let val = data.test.stratified_subset(1_000, seed).expect("subset");
    (
        Scale255.labelled(&train).expect("scale"),
        Scale255.labelled(&val).expect("scale"),
    )
}

#[test]
fn learning_rate_drops_exactly_when_validation_loss_stalls() {
    let (train, val) = small_split(2);
    let mut model = Sequential::mlp(784, &[128], Activation::Relu, 0.0, 10)
        .build(2)
        .expect("build");
    // A large step on a small set: the validation loss soon stops improving.
    let rule = ReduceLrOnPlateau::val_loss(0.5, 2);
    let config = TrainConfig::default()
        .epochs(14)
        .optimizer(Optimizer::adam().with_lr(0.01))
        .reduce_lr_on_plateau(rule)
        .verbose(false);
    let history = fit(&mut model, &train, Some(&val), &config).expect("fit");
    // Keras' rule replayed on the recorded validation losses.
    let (mut best, mut wait, mut lr) = (f64::INFINITY, 0, 0.01f64);
    let mut expected = Vec::new();
    for epoch in &history.epochs {
        expected.push(lr);
        let loss = epoch.val_loss.expect("validation loss");
        if loss < best - rule.min_delta {
            (best, wait) = (loss, 0);
        } else {
            wait += 1;
            if wait >= rule.patience {
                (lr, wait) = (lr * 0.5, 0);
            }
        }
    }
    let recorded: Vec<f64> = history.epochs.iter().map(|e| e.lr).collect();
    for (r, e) in recorded.iter().zip(&expected) {
        assert!(
            (r - e).abs() < 1e-9,
            "recorded {recorded:?}, expected {expected:?}"
        );
    }
    assert!(
        recorded.last() < recorded.first(),
        "the rate must have dropped at least once in this run: {recorded:?}"
    );
    let bad = TrainConfig::default()
        .reduce_lr_on_plateau(ReduceLrOnPlateau::val_loss(1.5, 2))
        .verbose(false);
    let err = fit(&mut model, &train, Some(&val), &bad).expect_err("factor 1.5 is not a reduction");
    assert!(
        matches!(
            err,
            Error::InvalidParameter {
                param: "factor",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn best_validation_epoch_is_the_one_kept() {
    let (train, val) = small_split(3);
    let mut model = Sequential::mlp(784, &[64], Activation::Relu, 0.0, 10)
        .build(3)
        .expect("build");
    // A large plain-SGD step: validation accuracy goes up and down from epoch to epoch.
    let config = TrainConfig::default()
        .epochs(11)
        .batch_size(32)
        .optimizer(Optimizer::sgd().with_lr(0.3))
        .early_stopping(EarlyStopping::best_val_accuracy_epoch())
        .verbose(false);
    let history = fit(&mut model, &train, Some(&val), &config).expect("fit");
    assert_eq!(history.epochs.len(), 11, "it never stops early");
    let accs: Vec<f64> = history
        .epochs
        .iter()
        .map(|e| e.val_accuracy.expect("validation accuracy"))
        .collect();
    let best = accs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let first_best = accs.iter().position(|&a| a == best).expect("a best epoch") + 1;
    assert_eq!(history.best_epoch, first_best, "{accs:?}");
    assert_eq!(
        history.kept().and_then(|e| e.val_accuracy),
        Some(best),
        "kept() is the best epoch's record"
    );
    let (_, kept) = model.evaluate(&val).expect("evaluate");
    assert!((kept - best).abs() < 1e-12, "kept {kept}, best {best}");
    // Only a run that peaks before its last epoch shows that weights were put back.
    assert!(
        first_best < 11 && accs[10] < best,
        "pick a setting whose validation accuracy peaks earlier: {accs:?}"
    );
    assert!(best > 0.7, "{accs:?}");
}

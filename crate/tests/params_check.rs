//! Parameters are validated one way (linfa's `ParamGuard`): every params type has `check()`,
//! which `fit` calls first. One test per rule, matching the parameter the error names.

use fashion_lab::models::{ClassicalModel, KnnClassifier, LogisticClassifier};
use fashion_lab::train::{EarlyStopping, Optimizer, ReduceLrOnPlateau, TrainConfig};
use fashion_lab::{Augmentation, Error, MinMaxScaler, ParamGuard};

fn refused<P: ParamGuard<Error = Error>>(params: P) -> &'static str {
    match params.check() {
        Err(Error::InvalidParameter { param, .. }) => param,
        Err(other) => panic!("expected an invalid parameter, got {other:?}"),
        Ok(_) => panic!("expected check() to refuse"),
    }
}

#[test]
fn knn_k_at_least_one() {
    assert_eq!(refused(KnnClassifier::params().k(0)), "k");
    assert!(KnnClassifier::params().k(1).check().is_ok());
}

#[test]
fn logistic_max_iterations_at_least_one() {
    assert_eq!(
        refused(LogisticClassifier::params().max_iterations(0)),
        "max_iterations"
    );
}

#[test]
fn logistic_alpha_finite_and_not_negative() {
    assert_eq!(refused(LogisticClassifier::params().alpha(-1.0)), "alpha");
    assert_eq!(
        refused(LogisticClassifier::params().alpha(f32::NAN)),
        "alpha"
    );
    assert!(LogisticClassifier::params().alpha(0.0).check().is_ok());
}

#[test]
fn logistic_gradient_tolerance_positive() {
    assert_eq!(
        refused(LogisticClassifier::params().gradient_tolerance(0.0)),
        "gradient_tolerance"
    );
}

#[test]
fn min_max_range_low_below_high() {
    assert_eq!(refused(MinMaxScaler::new(1.0, -1.0)), "low/high");
    assert_eq!(refused(MinMaxScaler::new(0.0, f32::INFINITY)), "low/high");
    assert!(MinMaxScaler::new(-1.0, 1.0).check().is_ok());
}

#[test]
fn classical_models_need_trees_depth_and_k() {
    assert_eq!(
        refused(ClassicalModel::RandomForest {
            n_trees: 0,
            seed: 0
        }),
        "n_trees"
    );
    assert_eq!(
        refused(ClassicalModel::DecisionTree { max_depth: Some(0) }),
        "max_depth"
    );
    assert_eq!(refused(ClassicalModel::Knn { k: 0 }), "k");
    assert!(ClassicalModel::GaussianNaiveBayes.check().is_ok());
}

#[test]
fn training_epochs_at_least_one() {
    assert_eq!(refused(TrainConfig::default().epochs(0)), "epochs");
}

#[test]
fn training_batch_size_at_least_one() {
    assert_eq!(refused(TrainConfig::default().batch_size(0)), "batch_size");
}

#[test]
fn training_l2_not_negative() {
    assert_eq!(refused(TrainConfig::default().l2(-0.1)), "l2");
}

#[test]
fn optimizer_learning_rate_positive() {
    assert_eq!(refused(Optimizer::sgd().with_lr(-1.0)), "lr");
    assert_eq!(
        refused(TrainConfig::default().optimizer(Optimizer::adam().with_lr(0.0))),
        "lr"
    );
}

#[test]
fn optimizer_moments_in_range() {
    let heavy = Optimizer::Sgd {
        lr: 0.01,
        momentum: 1.5,
        nesterov: false,
    };
    assert_eq!(refused(heavy), "optimizer");
}

#[test]
fn augmentation_rotation_zoom_and_shift_in_range() {
    assert_eq!(refused(Augmentation::new().rotation(200.0)), "rotation");
    assert_eq!(refused(Augmentation::new().zoom(1.5)), "zoom");
    assert_eq!(refused(Augmentation::new().shift(-0.1, 0.0)), "shift");
    assert_eq!(
        refused(TrainConfig::default().augment(Augmentation::new().zoom(2.0))),
        "zoom"
    );
}

#[test]
fn reduce_lr_factor_patience_and_floor() {
    assert_eq!(refused(ReduceLrOnPlateau::val_loss(1.5, 2)), "factor");
    assert_eq!(refused(ReduceLrOnPlateau::val_loss(0.5, 0)), "patience");
    let mut rule = ReduceLrOnPlateau::val_loss(0.5, 2);
    rule.min_lr = -1.0;
    assert_eq!(refused(rule), "min_lr");
    assert_eq!(
        refused(TrainConfig::default().reduce_lr_on_plateau(ReduceLrOnPlateau::val_loss(0.0, 2))),
        "factor"
    );
}

#[test]
fn early_stopping_patience_and_min_delta() {
    assert_eq!(refused(EarlyStopping::val_loss(0)), "patience");
    let mut rule = EarlyStopping::sklearn();
    rule.min_delta = -1.0;
    assert_eq!(refused(rule), "min_delta");
    assert_eq!(
        refused(TrainConfig::default().early_stopping(EarlyStopping::val_loss(0))),
        "patience"
    );
    assert!(EarlyStopping::best_val_accuracy_epoch().check().is_ok());
}

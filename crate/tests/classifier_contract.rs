//! One contract, every classifier (scikit-learn's `check_estimator` idea): the same checks run
//! over k-NN, logistic regression, nearest centroid, the smartcore models and the network, on a
//! real subset of Fashion-MNIST. Plus linfa's own cross-validation on our k-NN and logistic
//! regression, through linfa's `Fit` / `PredictInplace`.

use fashion_lab::models::{ClassicalModel, KnnClassifier, LogisticClassifier};
use fashion_lab::nn::Sequential;
use fashion_lab::train::{fit, TrainConfig};
use fashion_lab::{
    Activation, Array1, Array2, Classifier, Error, FashionMnist, LabelledSet, Model,
    NearestCentroid, ParamGuard, Scale255, Scaler,
};

type Fitted = Box<dyn Classifier>;
type FitOne = Box<dyn Fn(&LabelledSet) -> Result<Fitted, Error>>;

/// Each implementor by name, with how it is fitted.
fn implementors() -> Vec<(&'static str, FitOne)> {
    vec![
        (
            "k-NN",
            Box::new(|s| Ok(Box::new(KnnClassifier::params().k(3).fit(s)?) as Fitted)),
        ),
        (
            "logistic regression",
            Box::new(|s| {
                Ok(Box::new(LogisticClassifier::params().max_iterations(30).fit(s)?) as Fitted)
            }),
        ),
        (
            "nearest centroid",
            Box::new(|s| Ok(Box::new(NearestCentroid::fit(s)?) as Fitted)),
        ),
        (
            "decision tree (smartcore)",
            Box::new(|s| {
                Ok(Box::new(ClassicalModel::DecisionTree { max_depth: Some(8) }.fit(s)?) as Fitted)
            }),
        ),
        (
            "random forest (smartcore)",
            Box::new(|s| {
                Ok(Box::new(
                    ClassicalModel::RandomForest {
                        n_trees: 5,
                        seed: 1,
                    }
                    .fit(s)?,
                ) as Fitted)
            }),
        ),
        (
            "network",
            Box::new(|s| {
                let mut model =
                    Sequential::mlp(s.n_features(), &[32], Activation::Relu, 0.0, 10).build(4)?;
                fit(
                    &mut model,
                    s,
                    None,
                    &TrainConfig::default().epochs(2).seed(4).verbose(false),
                )?;
                Ok(Box::new(model) as Fitted)
            }),
        ),
    ]
}

fn real_sets() -> (LabelledSet, LabelledSet) {
    let data = FashionMnist::load().expect("load");
    let train = data.train.stratified_subset(1_000, 9).expect("subset");
    let test = data.test.stratified_subset(300, 9).expect("subset");
    (
        Scale255.labelled(&train).expect("scale"),
        Scale255.labelled(&test).expect("scale"),
    )
}

#[test]
fn every_classifier_keeps_the_contract() {
    let (train, test) = real_sets();
    for (name, fit_one) in implementors() {
        let model = fit_one(&train).unwrap_or_else(|e| panic!("{name}: fit: {e}"));

        // It learns: well above chance (10 %) on held-out real images.
        let acc = model
            .score(&test)
            .unwrap_or_else(|e| panic!("{name}: score: {e}"));
        assert!(acc > 0.5, "{name}: accuracy {acc}");

        // Wrong widths: a shape error naming both widths.
        let narrow = Array2::<f32>::zeros((2, 783));
        assert!(
            matches!(
                model.predict(&narrow),
                Err(Error::ShapeMismatch {
                    expected: 784,
                    found: 783,
                    ..
                })
            ),
            "{name}: wrong width"
        );

        // NaN in the rows: an input error, not garbage predictions.
        let mut nan = test.features().slice(ndarray::s![..3, ..]).to_owned();
        nan[[1, 100]] = f32::NAN;
        assert!(
            matches!(model.predict(&nan), Err(Error::InvalidInput(_))),
            "{name}: NaN"
        );

        // Probabilities where the model has them: rows of ten that sum to one; else a clear error.
        match model.predict_proba(test.features()) {
            Ok(p) => {
                assert_eq!(p.dim(), (test.len(), 10), "{name}");
                assert!(
                    p.rows().into_iter().all(|r| (r.sum() - 1.0).abs() < 1e-4),
                    "{name}"
                );
            }
            Err(Error::NoProbabilities { .. }) => {}
            Err(e) => panic!("{name}: predict_proba: {e}"),
        }

        // Same seed, same predictions.
        let again = fit_one(&train).expect("refit");
        assert_eq!(
            model.predict(test.features()).expect("predict"),
            again.predict(test.features()).expect("predict"),
            "{name}: same seed, same predictions"
        );

        // Empty training set: an input error.
        let empty = LabelledSet::new(Array2::zeros((0, 784)), Array1::zeros(0)).expect("empty set");
        assert!(
            matches!(fit_one(&empty), Err(Error::InvalidInput(_))),
            "{name}: empty"
        );

        // A single class: either a clear error or a model that predicts that class.
        let ones = train
            .select(
                &(0..train.len())
                    .filter(|&i| train.labels()[i] == 1)
                    .collect::<Vec<_>>(),
            )
            .expect("class 1");
        match fit_one(&ones) {
            Ok(m) => match m.predict(test.features()) {
                Ok(p) => assert!(
                    p.iter().all(|&c| c == 1),
                    "{name}: one class, other predictions"
                ),
                Err(e) => panic!("{name}: predict after a one-class fit: {e}"),
            },
            Err(Error::InvalidInput(_) | Error::Library { .. }) => {}
            Err(e) => panic!("{name}: one class: unexpected {e:?}"),
        }
    }
}

#[test]
fn rows_and_labels_are_checked_once_with_one_message() {
    let err = LabelledSet::new(Array2::zeros((5, 784)), Array1::zeros(4)).expect_err("mismatch");
    assert!(
        matches!(
            err,
            Error::ShapeMismatch {
                expected: 5,
                found: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("one label per row"), "{err}");
}

#[test]
fn the_network_predicts_the_same_after_save_and_load() {
    let (train, test) = real_sets();
    let mut model = Sequential::mlp(784, &[32], Activation::Relu, 0.0, 10)
        .build(1)
        .expect("build");
    fit(
        &mut model,
        &train,
        None,
        &TrainConfig::default().epochs(1).verbose(false),
    )
    .expect("fit");
    let path = std::env::temp_dir().join(format!("contract-{}.safetensors", std::process::id()));
    model.save(&path).expect("save");
    let loaded = Model::load(&path).expect("load");
    std::fs::remove_file(&path).ok();
    assert_eq!(
        loaded.predict(test.features()).expect("predict"),
        model.predict(test.features()).expect("predict")
    );
}

#[test]
fn linfa_cross_validation_runs_on_our_knn_and_logistic_regression() {
    use linfa::metrics::ToConfusionMatrix;
    use linfa::traits::{Fit, Predict};
    let (train, _) = real_sets();
    let mut dataset = train.to_linfa();
    // linfa's own k-fold cross-validation over two settings of each model.
    let knn = [KnnClassifier::params().k(1), KnnClassifier::params().k(5)];
    let knn_acc = dataset
        .cross_validate_single(4, &knn, |predicted, truth| {
            Ok(predicted.confusion_matrix(truth)?.accuracy())
        })
        .expect("k-NN cross-validation");
    assert_eq!(knn_acc.len(), 2);
    assert!(knn_acc.iter().all(|&a| a > 0.7), "{knn_acc:?}");

    let logistic = [LogisticClassifier::params().max_iterations(20)];
    let lr_acc = dataset
        .cross_validate_single(3, &logistic, |predicted, truth| {
            Ok(predicted.confusion_matrix(truth)?.accuracy())
        })
        .expect("logistic cross-validation");
    assert!(lr_acc[0] > 0.7, "{lr_acc:?}");

    // linfa's fold + Fit + Predict give what our own fit and predict give on the same split.
    let folds = train.to_linfa().fold(4);
    let (fold_train, fold_val) = &folds[0];
    let params = KnnClassifier::params().k(5);
    let via_linfa = Fit::fit(&params, fold_train).expect("linfa fit");
    let linfa_pred: Array1<usize> = Predict::predict(&via_linfa, fold_val.records());
    let ours = params
        .fit(&LabelledSet::from_linfa(fold_train).expect("set"))
        .expect("fit");
    let our_pred = Classifier::predict(&ours, fold_val.records()).expect("predict");
    assert_eq!(linfa_pred, our_pred.mapv(usize::from));

    // The guard is linfa's: check() refuses what fit would.
    assert!(matches!(
        KnnClassifier::params().k(0).check(),
        Err(Error::InvalidParameter { param: "k", .. })
    ));
}

#[test]
fn logistic_regression_reaches_its_accuracy_on_a_real_subset() {
    // scikit-learn's defaults (lbfgs, C = 1, 100 iterations) on 5,000 / 1,000 real images; on the
    // full set the bench compares with scikit-learn itself (`bench -- logistic`).
    let data = FashionMnist::load().expect("load");
    let train = Scale255
        .labelled(&data.train.stratified_subset(5_000, 9).expect("subset"))
        .expect("scale");
    let test = Scale255
        .labelled(&data.test.stratified_subset(1_000, 9).expect("subset"))
        .expect("scale");
    let model = LogisticClassifier::params().fit(&train).expect("fit");
    let accuracy = model.score(&test).expect("score");
    assert!(accuracy > 0.80, "test accuracy {accuracy}");
    assert!(
        model.iterations > 10 && model.iterations <= 100,
        "{} iterations",
        model.iterations
    );
    // The same data and settings give the same weights.
    let again = LogisticClassifier::params().fit(&train).expect("fit");
    assert_eq!(again.weights(), model.weights());
}

//! k-NN on real Fashion-MNIST subsets: the search paths agree, and accuracy is what k-NN gets.

use fashion_lab::models::{KnnClassifier, KnnWeights, LinfaIndex, NeighbourSearch};
use fashion_lab::{scale_255, Classifier, Error, FashionMnist, MinMaxScaler, Scale255, Scaler};

#[test]
fn blocked_linfa_and_integer_searches_agree_on_real_images() {
    let data = FashionMnist::load().expect("load");
    let train = data.train.stratified_subset(4_000, 1).expect("subset");
    let test = data.test.stratified_subset(400, 2).expect("subset");

    // Report 000's preprocessing: min-max to [-1, 1] fitted on train.
    let scaler = MinMaxScaler::new(-1.0, 1.0)
        .fit(&train.pixels_f32())
        .expect("fit");
    let train_set = scaler.labelled(&train).expect("scale");
    let test_set = scaler.labelled(&test).expect("scale");
    for weights in [KnnWeights::Uniform, KnnWeights::Distance] {
        let params = KnnClassifier::params().k(5).weights(weights);
        let blocked = params.fit(&train_set).expect("fit");
        let linfa = params
            .search(NeighbourSearch::Linfa(LinfaIndex::Linear))
            .fit(&train_set)
            .expect("fit");
        let x_test = test_set.features();
        let nb_blocked = blocked.kneighbors(x_test).expect("search");
        let nb_linfa = linfa.kneighbors(x_test).expect("search");
        assert_eq!(nb_blocked.indices, nb_linfa.indices, "{weights:?}");
        let pred = blocked.predict(x_test).expect("predict");
        assert_eq!(pred, linfa.predict(x_test).expect("predict"));
        let acc = blocked.score(&test_set).expect("acc");
        assert!(acc > 0.78, "k-NN on 4k images should reach ~80%, got {acc}");
    }

    // /255 floats and the exact integer search on raw pixels rank neighbours identically.
    let params = KnnClassifier::params().k(3);
    let float = params
        .fit(&Scale255.labelled(&train).expect("scale"))
        .expect("fit");
    let pixels = params.fit_pixels(&train).expect("fit");
    assert_eq!(
        float.kneighbors(&scale_255(&test)).expect("search").indices,
        pixels
            .kneighbors_pixels(&test.images)
            .expect("search")
            .indices
    );
}

#[test]
fn smartcore_models_run_on_real_images() {
    use fashion_lab::models::ClassicalModel;
    let data = FashionMnist::load().expect("load");
    let train = Scale255
        .labelled(&data.train.stratified_subset(1_000, 4).expect("subset"))
        .expect("scale");
    let test = Scale255
        .labelled(&data.test.stratified_subset(300, 4).expect("subset"))
        .expect("scale");
    for (model, floor) in [
        (ClassicalModel::GaussianNaiveBayes, 0.45),
        (
            ClassicalModel::DecisionTree {
                max_depth: Some(10),
            },
            0.6,
        ),
        (ClassicalModel::Knn { k: 5 }, 0.7),
    ] {
        let fitted = model.fit(&train).expect("fit");
        let acc = fitted.score(&test).expect("score");
        assert!(acc > floor, "{}: {acc}", fitted.name());
        // fit_predict is the same fit, timed.
        let run = model
            .fit_predict(&train, test.features())
            .expect("fit/predict");
        assert_eq!(
            run.predictions,
            fitted.predict(test.features()).expect("predict")
        );
    }
    assert!(matches!(
        ClassicalModel::Knn { k: 0 }.fit(&train),
        Err(Error::InvalidParameter { param: "k", .. })
    ));
}

//! A trained network as a run record: the numbers the reports compare per model.

use super::runs::Run;
use crate::error::Result;
use crate::nn::Model;
use crate::prep::LabelledSet;
use crate::train::History;

impl Run {
    /// `model` (trained as `history` says) tested on `test`, labelled `("model", name)`: metrics
    /// `test_loss`, `test_accuracy`, `params`, `non_trainable`, `epochs`, `train_seconds`, and the
    /// last epoch's `train_accuracy` and `val_accuracy` (NaN without validation). Prints them in
    /// one line, as Keras' `evaluate` and the report's summaries.
    pub fn of_network(
        name: &str,
        seed: u64,
        model: &Model,
        history: &History,
        test: &LabelledSet,
    ) -> Result<Run> {
        let (loss, accuracy) = model.evaluate(test)?;
        let last = history.last();
        let epochs = history.epochs.len();
        let run = Run::new(seed)
            .label("model", name)
            .metric("test_loss", f64::from(loss))
            .metric("test_accuracy", accuracy)
            .metric("params", model.n_params() as f64)
            .metric(
                "non_trainable",
                (model.n_params() - model.n_trainable()) as f64,
            )
            .metric("epochs", epochs as f64)
            .metric("train_seconds", history.seconds())
            .metric("train_accuracy", last.map_or(f64::NAN, |e| e.accuracy))
            .metric(
                "val_accuracy",
                last.and_then(|e| e.val_accuracy).unwrap_or(f64::NAN),
            )
            .with_history(history.clone());
        println!(
            "{name}: Test loss: {loss:.4} · Test accuracy: {accuracy:.4} · {} params ({} non-trainable) · {epochs} epochs in {:.0} s",
            model.n_params(),
            model.n_params() - model.n_trainable(),
            history.seconds()
        );
        Ok(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::zoo;
    use crate::prep::Scaler;
    use crate::train::{fit, TrainConfig};

    #[test]
    fn a_trained_network_records_its_test_numbers_and_sizes() {
        let data = crate::data::FashionMnist::load().expect("Fashion-MNIST (make data)");
        let train = crate::prep::Scale255
            .labelled(&data.train.stratified_subset(600, 1).expect("subset"))
            .expect("scaled");
        let test = crate::prep::Scale255
            .labelled(&data.test.stratified_subset(200, 1).expect("subset"))
            .expect("scaled");
        let mut model = zoo::report_002_mlp().build(1).expect("built");
        let history =
            fit(&mut model, &train, None, &TrainConfig::default().epochs(2)).expect("fit");
        let run = Run::of_network("MLP", 1, &model, &history, &test).expect("tested");
        let (loss, acc) = model.evaluate(&test).expect("evaluated");
        assert_eq!(run.value("test_accuracy"), Some(acc));
        assert_eq!(run.value("test_loss"), Some(f64::from(loss)));
        assert_eq!(run.value("params"), Some(109_386.0));
        assert_eq!(run.value("non_trainable"), Some(0.0));
        assert_eq!(run.value("epochs"), Some(2.0));
        assert!(run.value("val_accuracy").is_some_and(f64::is_nan));
        assert_eq!(run.get("model"), Some("MLP"));
    }
}

//! Tables and figures of the domain types (models, histories, confusion matrices,
//! comparisons): presentation lives here, so the layers below never import viz.

use polars::prelude::*;

use super::{confusion_heatmap, learning_curves, Figure, Series, Table};
use crate::error::Result;
use crate::eval::results::{Entry, Kind};
use crate::eval::{Comparison, ConfusionMatrix};
use crate::nn::Model;
use crate::train::{EpochRecord, History};

impl Model {
    /// Keras-style summary: layer, output shape, parameter count, and the totals.
    pub fn summary(&self) -> Result<Table> {
        let mut names = Vec::new();
        let mut shapes = Vec::new();
        let mut counts = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            names.push(format!("{} {}", layer.kind(), i + 1));
            let dims: Vec<String> = layer.output_shape().iter().map(|d| d.to_string()).collect();
            shapes.push(format!("(None, {})", dims.join(", ")));
            counts.push(
                (layer.params().iter().map(|p| p.value.len()).sum::<usize>()
                    + layer.non_trainable()) as u64,
            );
        }
        let frame = DataFrame::new(
            names.len(),
            vec![
                Column::new("layer".into(), names),
                Column::new("output shape".into(), shapes),
                Column::new("params".into(), counts),
            ],
        )?;
        Ok(Table::new(frame).titled(format!(
            "Total params: {} · trainable: {} · non-trainable: {}",
            self.n_params(),
            self.n_trainable(),
            self.n_params() - self.n_trainable()
        )))
    }
}

impl ConfusionMatrix {
    /// scikit-learn's `classification_report` as a table: one row per class, then accuracy,
    /// macro avg and weighted avg.
    pub fn classification_report(&self) -> Result<Table> {
        let rows = self.per_class();
        let total = self.total();
        let mut names: Vec<String> = self.class_names.clone();
        let mut precision: Vec<Option<f64>> = rows.iter().map(|r| Some(r.0)).collect();
        let mut recall: Vec<Option<f64>> = rows.iter().map(|r| Some(r.1)).collect();
        let mut f1: Vec<Option<f64>> = rows.iter().map(|r| Some(r.2)).collect();
        let mut support: Vec<u64> = rows.iter().map(|r| r.3 as u64).collect();

        let k = rows.len() as f64;
        let macro_avg = |f: fn(&(f64, f64, f64, usize)) -> f64| rows.iter().map(f).sum::<f64>() / k;
        let weighted = |f: fn(&(f64, f64, f64, usize)) -> f64| {
            rows.iter().map(|r| f(r) * r.3 as f64).sum::<f64>() / total.max(1) as f64
        };
        names.push("accuracy".into());
        precision.push(None);
        recall.push(None);
        f1.push(Some(self.accuracy()));
        support.push(total as u64);
        for (name, avg) in [
            ("macro avg", &macro_avg as &dyn Fn(_) -> f64),
            ("weighted avg", &weighted),
        ] {
            names.push(name.into());
            precision.push(Some(avg(|r| r.0)));
            recall.push(Some(avg(|r| r.1)));
            f1.push(Some(avg(|r| r.2)));
            support.push(total as u64);
        }
        let frame = DataFrame::new(
            names.len(),
            vec![
                Column::new("class".into(), names),
                Column::new("precision".into(), precision),
                Column::new("recall".into(), recall),
                Column::new("f1-score".into(), f1),
                Column::new("support".into(), support),
            ],
        )?;
        Ok(Table::new(frame))
    }

    /// The matrix as a heatmap with counts and class names.
    pub fn heatmap(&self, title: &str) -> Result<Figure> {
        confusion_heatmap(self, title)
    }
}

impl Comparison {
    fn text(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::Number(n) => match n.as_f64() {
                Some(f) if f.fract() != 0.0 => format!("{f:.4}"),
                _ => n.to_string(),
            },
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "NaN".into(),
            other => other.to_string(),
        }
    }

    /// The comparison as a table: metric, report, ours, kind, met.
    pub fn table(&self) -> Result<Table> {
        let col =
            |f: &dyn Fn(&Entry) -> String| self.entries.iter().map(f).collect::<Vec<String>>();
        let frame = DataFrame::new(
            self.entries.len(),
            vec![
                Column::new("metric".into(), col(&|e| e.metric.clone())),
                Column::new("report says".into(), col(&|e| Self::text(&e.report))),
                Column::new("we got".into(), col(&|e| Self::text(&e.ours))),
                Column::new(
                    "kind".into(),
                    col(&|e| match e.kind {
                        Kind::AtLeast => "at least".into(),
                        Kind::About => format!("about (±{})", e.tolerance.unwrap_or(0.0)),
                        Kind::Exact => "exact".into(),
                    }),
                ),
                Column::new(
                    "met".into(),
                    col(&|e| if e.met() { "yes".into() } else { "NO".into() }),
                ),
            ],
        )?;
        let met = self.entries.iter().filter(|e| e.met()).count();
        Ok(Table::new(frame).titled(format!(
            "Report says / we got: {met} of {} met",
            self.entries.len()
        )))
    }
}

impl History {
    fn column(&self, f: impl Fn(&EpochRecord) -> Option<f64>) -> Vec<f64> {
        self.epochs
            .iter()
            .map(|e| f(e).unwrap_or(f64::NAN))
            .collect()
    }

    /// One figure of a trained model: the confusion heatmap of its test predictions beside its
    /// learning curves, titled `"{name} — test set"` and `"{name}: learning curves"`.
    pub fn curves_and_heatmap(&self, name: &str, cm: &ConfusionMatrix) -> Result<Figure> {
        super::compose(
            &[
                cm.heatmap(&format!("{name} — test set"))?,
                self.curves(&format!("{name}: learning curves"))?,
            ],
            2,
        )
    }

    /// Loss and accuracy curves, train and validation.
    pub fn curves(&self, title: &str) -> Result<Figure> {
        let mut loss = vec![Series::per_epoch("train", &self.column(|e| Some(e.loss)))];
        let mut acc = vec![Series::per_epoch(
            "train",
            &self.column(|e| Some(e.accuracy)),
        )];
        if self.epochs.iter().any(|e| e.val_loss.is_some()) {
            loss.push(Series::per_epoch(
                "validation",
                &self.column(|e| e.val_loss),
            ));
            acc.push(Series::per_epoch(
                "validation",
                &self.column(|e| e.val_accuracy),
            ));
        }
        learning_curves(title, &loss, &acc)
    }

    /// One row per epoch.
    pub fn table(&self) -> Result<Table> {
        let frame = DataFrame::new(
            self.epochs.len(),
            vec![
                Column::new(
                    "epoch".into(),
                    self.epochs
                        .iter()
                        .map(|e| e.epoch as u64)
                        .collect::<Vec<_>>(),
                ),
                Column::new("loss".into(), self.column(|e| Some(e.loss))),
                Column::new("accuracy".into(), self.column(|e| Some(e.accuracy))),
                Column::new(
                    "val_loss".into(),
                    self.epochs.iter().map(|e| e.val_loss).collect::<Vec<_>>(),
                ),
                Column::new(
                    "val_accuracy".into(),
                    self.epochs
                        .iter()
                        .map(|e| e.val_accuracy)
                        .collect::<Vec<_>>(),
                ),
                Column::new("learning_rate".into(), self.column(|e| Some(e.lr))),
                Column::new("seconds".into(), self.column(|e| Some(e.seconds))),
            ],
        )?;
        Ok(Table::new(frame))
    }
}

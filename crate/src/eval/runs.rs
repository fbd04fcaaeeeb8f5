//! Run records: one [`Run`] per training (its labels, seed and metrics), a collection [`Runs`]
//! grouped by labels into mean, sd, count and diverged count, and the report's numbers beside
//! ours ([`ReportNumbers`], keyed by the same labels) as "report says / we got" rows.
//!
//! ```
//! use fashion_lab::eval::runs::{ReportNumbers, Run, Runs, Tolerance};
//! let mut runs = Runs::new();
//! for (seed, acc) in [(1, 0.88), (2, 0.89), (3, 0.87)] {
//!     runs.push(Run::new(seed).label("sweep", "dropout").label("value", "0.3").metric("test_accuracy", acc));
//! }
//! let groups = runs.groups(&["sweep", "value"]);
//! assert_eq!(groups[0].count, 3);
//! assert!((groups[0].stats("test_accuracy").unwrap().mean - 0.88).abs() < 1e-12);
//! let report = ReportNumbers::new(&["test_accuracy"])
//!     .tolerance("test_accuracy", Tolerance::Absolute(0.01))
//!     .row(&[("sweep", "dropout"), ("value", "0.3")], &[0.8837]);
//! assert!(report.comparison(&runs).entries[0].met());
//! ```

use crate::error::{Error, Result};
use crate::eval::Comparison;
use crate::train::sweep::{describe_labels, labels, Labels, Trial};
use crate::train::{EpochRecord, History};

pub use crate::train::sweep::Stats;

/// One training's record: which configuration (labels), which seed, what it measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// Names and values of the configuration, in the order given (`sweep`, `value`, …).
    pub labels: Labels,
    pub seed: u64,
    /// Named numbers (`test_loss`, `test_accuracy`, `train_seconds`, …), in the order given.
    pub metrics: Vec<(String, f64)>,
    pub history: Option<History>,
    /// Which training the numbers come from: itself, or the run it reuses (a base run shown
    /// again as the base row of another sweep, nothing retrained).
    pub trained_in: String,
}

impl Run {
    pub fn new(seed: u64) -> Run {
        Run {
            labels: Vec::new(),
            seed,
            metrics: Vec::new(),
            history: None,
            trained_in: String::new(),
        }
    }

    /// Sets label `name` (replacing its value if it has one).
    pub fn label(mut self, name: &str, value: &str) -> Run {
        match self.labels.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.labels.push((name.to_string(), value.to_string())),
        }
        self
    }

    /// Sets metric `name`.
    pub fn metric(mut self, name: &str, value: f64) -> Run {
        match self.metrics.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => self.metrics.push((name.to_string(), value)),
        }
        self
    }

    pub fn with_history(mut self, history: History) -> Run {
        self.history = Some(history);
        self
    }

    /// The value of label `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of metric `name`.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
    }

    /// Whether every pair of `labels` is one of this run's.
    pub fn matches(&self, labels: &[(&str, &str)]) -> bool {
        labels.iter().all(|(k, v)| self.get(k) == Some(*v))
    }

    /// A run that diverged: one of its metrics is NaN or infinite (a NaN test loss is a result).
    pub fn diverged(&self) -> bool {
        self.metrics.iter().any(|(_, v)| !v.is_finite())
    }

    /// This run's numbers under other labels (`labels` replace or add to its own); `trained_in`
    /// still names the training they come from.
    pub fn reused_as(&self, labels: &[(&str, &str)]) -> Run {
        let mut run = self.clone();
        for (k, v) in labels {
            run = run.label(k, v);
        }
        run
    }
}

impl From<Trial> for Run {
    /// Labels, seed, and the metrics `test_loss`, `test_accuracy`, `train_seconds`; the history kept.
    fn from(trial: Trial) -> Run {
        let trained_in = trial.trained_in;
        Run {
            labels: trial.labels,
            seed: trial.seed,
            metrics: vec![
                ("test_loss".into(), trial.test_loss),
                ("test_accuracy".into(), trial.test_accuracy),
                ("train_seconds".into(), trial.train_seconds),
            ],
            history: Some(trial.history),
            trained_in,
        }
    }
}

/// The runs that share the values of some labels, and their statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The grouping labels' values.
    pub labels: Labels,
    /// Labels every run of the group has with the same value (the grouping ones and others).
    pub common: Labels,
    pub count: usize,
    /// How many of its runs diverged ([`Run::diverged`]).
    pub diverged: usize,
    /// Each metric's statistics over the group's runs (metrics in first-seen order).
    pub metrics: Vec<(String, Stats)>,
}

impl Group {
    pub fn stats(&self, metric: &str) -> Option<Stats> {
        self.metrics
            .iter()
            .find(|(k, _)| k == metric)
            .map(|(_, s)| *s)
    }

    /// The mean of `metric` over the group (NaN when it has no such metric).
    pub fn mean(&self, metric: &str) -> f64 {
        self.stats(metric).map_or(f64::NAN, |s| s.mean)
    }
}

/// A collection of runs, in the order they were added.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Runs {
    pub runs: Vec<Run>,
}

impl Runs {
    pub fn new() -> Runs {
        Runs::default()
    }

    pub fn push(&mut self, run: Run) {
        self.runs.push(run);
    }

    /// Adds runs, or trials (`runs.extend(repeat(…)?)`).
    pub fn extend<I>(&mut self, items: I)
    where
        I: IntoIterator,
        I::Item: Into<Run>,
    {
        self.runs.extend(items.into_iter().map(Into::into));
    }

    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Run> {
        self.runs.iter()
    }

    /// The runs having every pair of `labels`, in order.
    pub fn only(&self, labels: &[(&str, &str)]) -> Runs {
        Runs {
            runs: self
                .runs
                .iter()
                .filter(|r| r.matches(labels))
                .cloned()
                .collect(),
        }
    }

    /// Copies of the runs having `from` under the labels `as_labels` (the base runs as the base
    /// row of another sweep: nothing retrained, `trained_in` names the original). An error when
    /// no run has `from`, so a typo does not leave a sweep without its base row.
    pub fn reused(&self, from: &[(&str, &str)], as_labels: &[(&str, &str)]) -> Result<Vec<Run>> {
        let found: Vec<Run> = self
            .runs
            .iter()
            .filter(|r| r.matches(from))
            .map(|r| r.reused_as(as_labels))
            .collect();
        if found.is_empty() {
            return Err(Error::invalid(format!(
                "no run has {} to reuse: train those runs first",
                describe_labels(&labels(from))
            )));
        }
        Ok(found)
    }

    /// The number of distinct trainings (reused runs count once).
    pub fn trainings(&self) -> usize {
        self.runs
            .iter()
            .map(|r| r.trained_in.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    }

    /// Every metric name, in first-seen order.
    pub fn metric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (k, _) in self.runs.iter().flat_map(|r| &r.metrics) {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
        names
    }

    /// Every label name, in first-seen order.
    pub fn label_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (k, _) in self.runs.iter().flat_map(|r| &r.labels) {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
        names
    }

    /// The runs grouped by the values of labels `by`, groups in the order their first run came
    /// (a run without one of the labels groups under an empty value).
    pub fn groups(&self, by: &[&str]) -> Vec<Group> {
        let key = |r: &Run| -> Labels {
            by.iter()
                .map(|k| (k.to_string(), r.get(k).unwrap_or("").to_string()))
                .collect()
        };
        let mut keys: Vec<Labels> = Vec::new();
        for r in &self.runs {
            let k = key(r);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        let metric_names = self.metric_names();
        keys.into_iter()
            .map(|k| {
                let members: Vec<&Run> = self.runs.iter().filter(|r| key(r) == k).collect();
                let common: Labels = members[0]
                    .labels
                    .iter()
                    .filter(|(name, value)| members.iter().all(|r| r.get(name) == Some(value)))
                    .cloned()
                    .collect();
                let metrics = metric_names
                    .iter()
                    .filter(|m| members.iter().any(|r| r.value(m).is_some()))
                    .map(|m| {
                        let values: Vec<f64> = members.iter().filter_map(|r| r.value(m)).collect();
                        (m.clone(), Stats::of(&values))
                    })
                    .collect();
                Group {
                    labels: k,
                    common,
                    count: members.len(),
                    diverged: members.iter().filter(|r| r.diverged()).count(),
                    metrics,
                }
            })
            .collect()
    }

    /// The statistics of `metric` over the runs having `labels`; an error naming what exists
    /// when no run has them.
    pub fn stats(&self, labels: &[(&str, &str)], metric: &str) -> Result<Stats> {
        let values: Vec<f64> = self
            .runs
            .iter()
            .filter(|r| r.matches(labels))
            .filter_map(|r| r.value(metric))
            .collect();
        if values.is_empty() {
            return Err(Error::invalid(format!(
                "no run has {} with a `{metric}`: the runs have metrics {:?}",
                describe_labels(&self::labels(labels)),
                self.metric_names()
            )));
        }
        Ok(Stats::of(&values))
    }

    /// The mean of `metric` over the runs having `labels` (see [`Runs::stats`]).
    pub fn mean(&self, labels: &[(&str, &str)], metric: &str) -> Result<f64> {
        Ok(self.stats(labels, metric)?.mean)
    }

    /// Per epoch, the mean over the runs' histories of one number of the epoch's record
    /// (`|e| e.val_loss`, `|e| Some(e.accuracy)`), as far as the shortest history goes; runs
    /// without a history are left out.
    pub fn mean_per_epoch(&self, number: fn(&EpochRecord) -> Option<f64>) -> Vec<f64> {
        let histories: Vec<&History> = self
            .runs
            .iter()
            .filter_map(|r| r.history.as_ref())
            .collect();
        let epochs = histories.iter().map(|h| h.epochs.len()).min().unwrap_or(0);
        (0..epochs)
            .map(|i| {
                let values: Vec<f64> = histories
                    .iter()
                    .map(|h| number(&h.epochs[i]).unwrap_or(f64::NAN))
                    .collect();
                Stats::of(&values).mean
            })
            .collect()
    }
}

impl<'a> IntoIterator for &'a Runs {
    type Item = &'a Run;
    type IntoIter = std::slice::Iter<'a, Run>;
    fn into_iter(self) -> Self::IntoIter {
        self.runs.iter()
    }
}

/// How far ours may be from the report's number and still match it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tolerance {
    /// At most this far (0.01: one percentage point of accuracy).
    Absolute(f64),
    /// At most this share of the report's number (0.10: within 10 %).
    Relative(f64),
}

impl Tolerance {
    /// The largest difference allowed from `report` (rounded to 4 decimals, as the table shows).
    pub fn around(self, report: f64) -> f64 {
        match self {
            Tolerance::Absolute(t) => t,
            Tolerance::Relative(share) => (share * report.abs() * 1e4).round() / 1e4,
        }
    }
}

/// One row of the report's numbers: the labels of the runs it describes, one value per metric
/// (NaN: the report gives none), and whether it is compared (a repeat of a number compared
/// elsewhere, such as the report's base row printed again in each sweep, is only shown).
#[derive(Clone, Debug, PartialEq)]
pub struct ReportRow {
    pub labels: Labels,
    pub values: Vec<f64>,
    pub compared: bool,
}

/// A report's numbers, keyed by the same labels as the runs, written once as data in a cell.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportNumbers {
    /// The metrics of every row's values, in order.
    pub metrics: Vec<String>,
    pub tolerances: Vec<(String, Tolerance)>,
    pub rows: Vec<ReportRow>,
}

impl ReportNumbers {
    /// Numbers of these metrics (each row gives one value per metric, in this order).
    pub fn new(metrics: &[&str]) -> ReportNumbers {
        ReportNumbers {
            metrics: metrics.iter().map(|m| m.to_string()).collect(),
            tolerances: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// How near ours must be for `metric` (default: 0.01 absolute).
    pub fn tolerance(mut self, metric: &str, tolerance: Tolerance) -> ReportNumbers {
        self.tolerances.retain(|(m, _)| m != metric);
        self.tolerances.push((metric.to_string(), tolerance));
        self
    }

    /// The report's numbers for the runs having `labels`, compared with ours.
    pub fn row(mut self, labels: &[(&str, &str)], values: &[f64]) -> ReportNumbers {
        self.rows.push(ReportRow {
            labels: self::labels(labels),
            values: values.to_vec(),
            compared: true,
        });
        self
    }

    /// A number the report prints again (its base row in another sweep): shown beside ours in
    /// tables, not compared a second time.
    pub fn repeated(mut self, labels: &[(&str, &str)], values: &[f64]) -> ReportNumbers {
        self.rows.push(ReportRow {
            labels: self::labels(labels),
            values: values.to_vec(),
            compared: false,
        });
        self
    }

    fn tolerance_of(&self, metric: &str) -> Tolerance {
        self.tolerances
            .iter()
            .find(|(m, _)| m == metric)
            .map_or(Tolerance::Absolute(0.01), |(_, t)| *t)
    }

    /// The report's value of `metric` for a group whose runs share `common` labels: the first
    /// row whose labels are all among them.
    pub fn value_for(&self, common: &[(String, String)], metric: &str) -> Option<f64> {
        let column = self.metrics.iter().position(|m| m == metric)?;
        self.rows
            .iter()
            .find(|row| row.labels.iter().all(|pair| common.contains(pair)))
            .and_then(|row| row.values.get(column).copied())
            .filter(|v| !v.is_nan())
    }

    /// The value of `metric` in the compared row with exactly these labels.
    pub fn get(&self, labels: &[(&str, &str)], metric: &str) -> Option<f64> {
        let column = self.metrics.iter().position(|m| m == metric)?;
        let wanted = self::labels(labels);
        self.rows
            .iter()
            .find(|row| row.labels == wanted)
            .and_then(|row| row.values.get(column).copied())
    }

    /// "Report says / we got": for every compared row and metric, our mean over the runs having
    /// the row's labels, within the metric's tolerance. A row no run has is listed with NaN as
    /// ours (not met), so a shortened sweep shows what it left out.
    pub fn comparison(&self, runs: &Runs) -> Comparison {
        let mut out = Comparison::new();
        for row in self.rows.iter().filter(|r| r.compared) {
            let pairs: Vec<(&str, &str)> = row
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let name: String = row
                .labels
                .iter()
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            for (metric, &report) in self.metrics.iter().zip(&row.values) {
                if report.is_nan() {
                    continue;
                }
                let ours = runs.mean(&pairs, metric).unwrap_or(f64::NAN);
                let tolerance = self.tolerance_of(metric).around(report);
                out = out.about(&format!("{name}: {metric}"), report, ours, tolerance);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64, sweep: &str, value: &str, loss: f64, acc: f64) -> Run {
        Run::new(seed)
            .label("sweep", sweep)
            .label("value", value)
            .metric("test_loss", loss)
            .metric("test_accuracy", acc)
    }

    fn sample() -> Runs {
        let mut runs = Runs::new();
        for (seed, loss, acc) in [(1, 0.30, 0.88), (2, 0.34, 0.89), (3, 0.32, 0.90)] {
            let mut r = run(seed, "epochs", "10 (base)", loss, acc);
            r.trained_in = format!("base, seed {seed}");
            runs.push(r);
        }
        runs.push(run(1, "learning rate", "5", f64::NAN, 0.10));
        runs.push(run(2, "learning rate", "5", 2.31, 0.10));
        runs
    }

    #[test]
    fn groups_have_mean_sample_sd_count_and_diverged_in_first_seen_order() {
        let runs = sample();
        let groups = runs.groups(&["sweep", "value"]);
        assert_eq!(groups.len(), 2);
        let base = &groups[0];
        assert_eq!(
            base.labels,
            labels(&[("sweep", "epochs"), ("value", "10 (base)")])
        );
        assert_eq!((base.count, base.diverged), (3, 0));
        let acc = base.stats("test_accuracy").expect("accuracy");
        assert!((acc.mean - 0.89).abs() < 1e-12 && (acc.sd - 0.01).abs() < 1e-12);
        let lr = &groups[1];
        assert_eq!((lr.count, lr.diverged), (2, 1));
        assert!(
            lr.mean("test_loss").is_nan(),
            "a NaN loss makes the mean NaN"
        );
        assert!((lr.mean("test_accuracy") - 0.10).abs() < 1e-12);
        assert_eq!(runs.groups(&["sweep"]).len(), 2);
        assert!(runs.mean(&[("sweep", "dropout")], "test_loss").is_err());
        assert_eq!(runs.label_names(), ["sweep", "value"]);
    }

    #[test]
    fn base_runs_are_reused_under_other_labels_without_retraining() {
        let mut runs = sample();
        let from = [("sweep", "epochs"), ("value", "10 (base)")];
        let reused = runs
            .reused(&from, &[("sweep", "dropout"), ("value", "none (base)")])
            .expect("base runs");
        assert_eq!(reused.len(), 3);
        assert_eq!(reused[0].get("sweep"), Some("dropout"));
        assert_eq!(reused[0].trained_in, "base, seed 1");
        let trainings = runs.trainings();
        runs.extend(reused);
        assert_eq!(runs.trainings(), trainings, "nothing new trained");
        assert_eq!(
            runs.mean(&[("sweep", "dropout")], "test_accuracy").ok(),
            runs.mean(&from, "test_accuracy").ok()
        );
        assert!(runs.reused(&[("sweep", "nope")], &[]).is_err());
    }

    #[test]
    fn per_epoch_means_run_over_the_histories() {
        let record = |epoch, loss| EpochRecord {
            epoch,
            loss,
            accuracy: 0.5,
            val_loss: Some(loss + 0.1),
            val_accuracy: None,
            seconds: 1.0,
            lr: 1e-3,
        };
        let history = |losses: &[f64]| History {
            epochs: losses
                .iter()
                .enumerate()
                .map(|(i, &l)| record(i + 1, l))
                .collect(),
            best_epoch: losses.len(),
            stopped_early: false,
        };
        let mut runs = Runs::new();
        runs.push(Run::new(1).with_history(history(&[1.0, 0.5, 0.25])));
        runs.push(Run::new(2).with_history(history(&[2.0, 1.5])));
        runs.push(Run::new(3));
        assert_eq!(runs.mean_per_epoch(|e| Some(e.loss)), vec![1.5, 1.0]);
        let val = runs.mean_per_epoch(|e| e.val_loss);
        assert!((val[0] - 1.6).abs() < 1e-12);
        assert!(runs.mean_per_epoch(|e| e.val_accuracy)[0].is_nan());
    }

    #[test]
    fn trials_become_runs_with_three_metrics() {
        let trial = Trial {
            labels: labels(&[("sweep", "optimizer"), ("value", "SGD")]),
            seed: 2,
            test_loss: 0.41,
            test_accuracy: 0.855,
            train_seconds: 9.5,
            history: History::default(),
            tested_each_epoch: true,
            trained_in: "sweep=optimizer value=SGD, seed 2".into(),
        };
        let run = Run::from(trial);
        assert_eq!(run.value("test_accuracy"), Some(0.855));
        assert_eq!(run.value("train_seconds"), Some(9.5));
        assert_eq!(run.trained_in, "sweep=optimizer value=SGD, seed 2");
        assert!(!run.diverged());
    }

    #[test]
    fn report_numbers_compare_each_metric_within_its_tolerance() {
        let runs = sample();
        let report = ReportNumbers::new(&["test_loss", "test_accuracy"])
            .tolerance("test_loss", Tolerance::Relative(0.10))
            .tolerance("test_accuracy", Tolerance::Absolute(0.01))
            .row(
                &[("sweep", "epochs"), ("value", "10 (base)")],
                &[0.3386, 0.8857],
            )
            .row(
                &[("sweep", "learning rate"), ("value", "5")],
                &[3.0267, 0.1],
            )
            .row(
                &[("sweep", "dropout"), ("value", "0.3")],
                &[0.3403, f64::NAN],
            )
            .repeated(
                &[("sweep", "optimizer"), ("value", "Adam (base)")],
                &[0.3386, 0.8857],
            );
        let c = report.comparison(&runs);
        let metrics: Vec<&str> = c.entries.iter().map(|e| e.metric.as_str()).collect();
        assert_eq!(
            metrics,
            [
                "epochs 10 (base): test_loss",
                "epochs 10 (base): test_accuracy",
                "learning rate 5: test_loss",
                "learning rate 5: test_accuracy",
                "dropout 0.3: test_loss"
            ]
        );
        let met: Vec<bool> = c.entries.iter().map(|e| e.met()).collect();
        // 0.32 vs 0.3386 ± 0.0339: met; 0.89 vs 0.8857 ± 0.01: met; NaN loss: not met; 0.10: met;
        // no dropout runs: not met.
        assert_eq!(met, [true, true, false, true, false]);
        assert_eq!(c.entries[0].tolerance, Some(0.0339));
        let common = labels(&[("sweep", "learning rate"), ("value", "5"), ("x", "y")]);
        assert_eq!(report.value_for(&common, "test_accuracy"), Some(0.1));
        assert_eq!(
            report.get(&[("sweep", "dropout"), ("value", "0.3")], "test_loss"),
            Some(0.3403)
        );
    }
}

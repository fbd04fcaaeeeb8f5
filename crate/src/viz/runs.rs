//! Tables and bars of run records ([`crate::eval::runs`]): one row per group with mean and sd
//! beside the report's numbers, one row per run for the spreadsheet, a sweep's bars.

use polars::prelude::*;

use super::{bar_chart, line_chart, Figure, Series, Table};
use crate::error::{Error, Result};
use crate::eval::runs::{ReportNumbers, Runs};
use crate::train::EpochRecord;

/// The runs grouped by labels `by`: the labels, each metric's mean and sample sd with the
/// report's number beside it where `report` gives one for any of these groups, the number of runs
/// and, when any diverged, of diverged runs. When every group is one run, a metric is one column
/// (no sd, no run count): a table narrow enough to read on a page.
pub fn runs_table(runs: &Runs, by: &[&str], report: Option<&ReportNumbers>) -> Result<Table> {
    if runs.is_empty() {
        return Err(Error::invalid(
            "no runs to show: run the sweep's cell first (or check the labels given to `only`)",
        ));
    }
    let groups = runs.groups(by);
    let repeated = groups.iter().any(|g| g.count > 1);
    let mut columns: Vec<Column> = Vec::new();
    for (i, name) in by.iter().enumerate() {
        columns.push(Column::new(
            (*name).into(),
            groups
                .iter()
                .map(|g| g.labels[i].1.clone())
                .collect::<Vec<_>>(),
        ));
    }
    if repeated {
        columns.push(Column::new(
            "runs".into(),
            groups.iter().map(|g| g.count as u64).collect::<Vec<_>>(),
        ));
    }
    if groups.iter().any(|g| g.diverged > 0) {
        columns.push(Column::new(
            "diverged".into(),
            groups.iter().map(|g| g.diverged as u64).collect::<Vec<_>>(),
        ));
    }
    let report_column = |metric: &str| -> Option<Column> {
        let report = report?;
        let values: Vec<Option<f64>> = groups
            .iter()
            .map(|g| report.value_for(&g.common, metric))
            .collect();
        values
            .iter()
            .any(Option::is_some)
            .then(|| Column::new(format!("report {metric}").into(), values))
    };
    let metrics = runs.metric_names();
    for metric in &metrics {
        let stats: Vec<_> = groups.iter().map(|g| g.stats(metric)).collect();
        let means: Vec<Option<f64>> = stats.iter().map(|s| s.map(|s| s.mean)).collect();
        if repeated {
            columns.push(Column::new(format!("{metric} mean").into(), means));
            columns.push(Column::new(
                format!("{metric} sd").into(),
                stats
                    .iter()
                    .map(|s| s.map(|s| s.sd).filter(|v| !v.is_nan()))
                    .collect::<Vec<_>>(),
            ));
        } else {
            columns.push(Column::new(metric.as_str().into(), means));
        }
        columns.extend(report_column(metric));
    }
    // The report's numbers of metrics these runs did not record, last.
    if let Some(report) = report {
        for metric in report.metrics.iter().filter(|m| !metrics.contains(m)) {
            columns.extend(report_column(metric));
        }
    }
    Ok(Table::new(DataFrame::new(groups.len(), columns)?))
}

/// One row per run: every label, the seed, every metric, whether it diverged and which training
/// its numbers come from (the report's spreadsheet; save it with [`Table::save_csv`]).
pub fn runs_list(runs: &Runs) -> Result<Table> {
    let mut columns: Vec<Column> = Vec::new();
    for name in runs.label_names() {
        columns.push(Column::new(
            name.as_str().into(),
            runs.iter()
                .map(|r| r.get(&name).unwrap_or("").to_string())
                .collect::<Vec<_>>(),
        ));
    }
    columns.push(Column::new(
        "seed".into(),
        runs.iter().map(|r| r.seed).collect::<Vec<_>>(),
    ));
    for name in runs.metric_names() {
        columns.push(Column::new(
            name.as_str().into(),
            runs.iter().map(|r| r.value(&name)).collect::<Vec<_>>(),
        ));
    }
    columns.push(Column::new(
        "diverged".into(),
        runs.iter().map(|r| r.diverged()).collect::<Vec<_>>(),
    ));
    columns.push(Column::new(
        "trained_in".into(),
        runs.iter()
            .map(|r| r.trained_in.clone())
            .collect::<Vec<_>>(),
    ));
    Ok(Table::new(DataFrame::new(runs.len(), columns)?))
}

/// Bars of `metric`'s mean over the runs of each value of label `by`, ± one sample sd; a value
/// whose mean is NaN (a diverged run) has no bar, and the title says so.
pub fn sweep_bars(runs: &Runs, by: &str, metric: &str, title: &str) -> Result<Figure> {
    let groups = runs.groups(&[by]);
    let names: Vec<String> = groups.iter().map(|g| g.labels[0].1.clone()).collect();
    let means: Vec<f64> = groups.iter().map(|g| g.mean(metric)).collect();
    let sds: Vec<f64> = groups
        .iter()
        .map(|g| g.stats(metric).map_or(f64::NAN, |s| s.sd))
        .collect();
    let missing: Vec<&str> = names
        .iter()
        .zip(&means)
        .filter(|(_, m)| !m.is_finite())
        .map(|(n, _)| n.as_str())
        .collect();
    let title = if missing.is_empty() {
        format!("{title} (mean ± sd)")
    } else {
        format!(
            "{title} (mean ± sd; no bar: NaN for {})",
            missing.join(", ")
        )
    };
    bar_chart(
        &title,
        &metric.replace('_', " "),
        &names,
        &means,
        Some(&sds),
    )
}

/// One line per run through its epochs: `number` of each epoch (the training loss, the
/// validation accuracy), each line named by the run's values of labels `by`. A run without a
/// history is an error (it was not trained here).
pub fn runs_curves(
    runs: &Runs,
    by: &[&str],
    number: fn(&EpochRecord) -> Option<f64>,
    title: &str,
    y_label: &str,
) -> Result<Figure> {
    let series = runs
        .iter()
        .map(|run| {
            let history = run.history.as_ref().ok_or_else(|| {
                Error::invalid(format!(
                    "run {:?} has no history to draw: pass runs trained in this notebook",
                    run.labels
                ))
            })?;
            let name: Vec<&str> = by.iter().map(|k| run.get(k).unwrap_or("?")).collect();
            let ys: Vec<f64> = history
                .epochs
                .iter()
                .map(|e| number(e).unwrap_or(f64::NAN))
                .collect();
            Ok(Series::per_epoch(name.join(" "), &ys))
        })
        .collect::<Result<Vec<_>>>()?;
    line_chart(title, "epoch", y_label, &series)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::runs::{Run, Tolerance};

    fn runs() -> Runs {
        let mut runs = Runs::new();
        for (seed, acc) in [(1, 0.80), (2, 0.90)] {
            runs.push(
                Run::new(seed)
                    .label("sweep", "dropout")
                    .label("value", "0.3")
                    .metric("test_loss", 0.4)
                    .metric("test_accuracy", acc),
            );
        }
        runs.push(
            Run::new(1)
                .label("sweep", "dropout")
                .label("value", "0.999")
                .metric("test_loss", f64::NAN)
                .metric("test_accuracy", 0.1),
        );
        runs
    }

    #[test]
    fn a_curve_per_run_and_an_error_for_a_run_without_history() {
        let mut trained = Runs::new();
        let history = crate::train::History {
            epochs: (1..=3)
                .map(|epoch| EpochRecord {
                    epoch,
                    loss: 1.0 / epoch as f64,
                    accuracy: 0.5,
                    val_loss: None,
                    val_accuracy: None,
                    seconds: 0.1,
                    lr: 0.01,
                })
                .collect(),
            ..crate::train::History::default()
        };
        trained.push(Run::new(1).label("model", "a").with_history(history));
        let figure = runs_curves(&trained, &["model"], |e| Some(e.loss), "t", "loss");
        assert!(figure.is_ok_and(|f| f.svg().contains("<svg")));
        let err = runs_curves(&runs(), &["value"], |e| Some(e.loss), "t", "loss");
        assert!(err.is_err_and(|e| e.to_string().contains("no history")));
    }

    fn column_names(table: &Table) -> Vec<&str> {
        table
            .frame
            .get_column_names()
            .iter()
            .map(|n| n.as_str())
            .collect()
    }

    fn column(table: &Table, name: &str) -> Vec<Option<f64>> {
        table
            .frame
            .column(name)
            .expect("column")
            .f64()
            .expect("floats")
            .iter()
            .collect()
    }

    #[test]
    fn a_row_per_group_with_the_reports_numbers_beside_ours() {
        let report = ReportNumbers::new(&["test_loss", "test_accuracy"])
            .tolerance("test_loss", Tolerance::Relative(0.1))
            .row(
                &[("sweep", "dropout"), ("value", "0.999")],
                &[2.3028, 0.1088],
            );
        let table = runs_table(&runs(), &["value"], Some(&report)).expect("table");
        assert_eq!(table.frame.height(), 2);
        let names = column_names(&table);
        assert_eq!(
            names,
            [
                "value",
                "runs",
                "diverged",
                "test_loss mean",
                "test_loss sd",
                "report test_loss",
                "test_accuracy mean",
                "test_accuracy sd",
                "report test_accuracy"
            ]
        );
        let acc = column(&table, "test_accuracy mean");
        assert!((acc[0].unwrap_or(0.0) - 0.85).abs() < 1e-12);
        assert_eq!(
            column(&table, "test_accuracy sd")[1],
            None,
            "one run: no sd"
        );
        assert_eq!(column(&table, "report test_accuracy"), [None, Some(0.1088)]);
        assert!(runs_table(&Runs::new(), &["value"], None).is_err());
    }

    #[test]
    fn one_run_per_group_gives_one_column_per_metric() {
        let mut runs = Runs::new();
        for (model, acc) in [("CNN 1", 0.90), ("CNN 2", 0.92)] {
            runs.push(
                Run::new(42)
                    .label("model", model)
                    .metric("test_accuracy", acc),
            );
        }
        let report = ReportNumbers::new(&["test_accuracy", "params"])
            .row(&[("model", "CNN 1")], &[0.9077, 120_170.0]);
        let table = runs_table(&runs, &["model"], Some(&report)).expect("table");
        let names = column_names(&table);
        assert_eq!(
            names,
            [
                "model",
                "test_accuracy",
                "report test_accuracy",
                "report params"
            ]
        );
        assert_eq!(column(&table, "test_accuracy"), [Some(0.90), Some(0.92)]);
    }

    #[test]
    fn a_row_per_run_and_bars_per_value() {
        let list = runs_list(&runs()).expect("list");
        assert_eq!(list.frame.height(), 3);
        assert_eq!(list.frame.width(), 7);
        let bars = sweep_bars(&runs(), "value", "test_loss", "Dropout").expect("bars");
        assert!(bars.svg().contains("NaN for 0.999"));
    }
}

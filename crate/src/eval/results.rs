//! "Report says / we got": the table every report notebook ends with, and its JSON file.

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};

/// How our number is compared with the report's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Ours must reach the target (e.g. test accuracy ≥ 84%).
    AtLeast,
    /// Ours should be near the report's (within the tolerance given to [`Comparison::about`]).
    About,
    /// Must be equal (parameter counts, chosen hyperparameters).
    Exact,
}

/// One compared number. `report` and `ours` are numbers or text (e.g. the best architecture).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry {
    pub metric: String,
    pub report: serde_json::Value,
    pub ours: serde_json::Value,
    pub kind: Kind,
    /// For `about`: the largest difference still called a match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
}

impl Entry {
    /// Whether ours meets the report (text compares equal; NaN never matches).
    pub fn met(&self) -> bool {
        match (self.report.as_f64(), self.ours.as_f64()) {
            (Some(r), Some(o)) => match self.kind {
                Kind::AtLeast => o >= r,
                Kind::About => (o - r).abs() <= self.tolerance.unwrap_or(0.01),
                Kind::Exact => o == r,
            },
            _ => self.report == self.ours,
        }
    }
}

fn number(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// The list of compared numbers of one notebook.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    pub entries: Vec<Entry>,
}

impl Comparison {
    pub fn new() -> Self {
        Self::default()
    }

    /// Ours must be at least `target` (the report's goal, e.g. 0.84).
    pub fn at_least(mut self, metric: &str, target: f64, ours: f64) -> Self {
        self.entries.push(Entry {
            metric: metric.into(),
            report: number(target),
            ours: number(ours),
            kind: Kind::AtLeast,
            tolerance: None,
        });
        self
    }

    /// Ours should be within `tolerance` of the report's number.
    pub fn about(mut self, metric: &str, report: f64, ours: f64, tolerance: f64) -> Self {
        self.entries.push(Entry {
            metric: metric.into(),
            report: number(report),
            ours: number(ours),
            kind: Kind::About,
            tolerance: Some(tolerance),
        });
        self
    }

    /// Ours must equal the report's (a count, a chosen setting).
    pub fn exact(
        mut self,
        metric: &str,
        report: impl Into<serde_json::Value>,
        ours: impl Into<serde_json::Value>,
    ) -> Self {
        self.entries.push(Entry {
            metric: metric.into(),
            report: report.into(),
            ours: ours.into(),
            kind: Kind::Exact,
            tolerance: None,
        });
        self
    }

    /// Writes the entries as a JSON list of `{metric, report, ours, kind, tolerance?, met}`
    /// (`met` by each row's own rule; the notebook runner counts them into run-summary.json).
    pub fn save_json(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        crate::error::create_parent_dir(path)?;
        let mut rows = Vec::with_capacity(self.entries.len());
        for entry in &self.entries {
            let mut row = serde_json::to_value(entry)?;
            if let Some(fields) = row.as_object_mut() {
                fields.insert("met".into(), entry.met().into());
            }
            rows.push(row);
        }
        let text = serde_json::to_string_pretty(&rows)?;
        std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_decide_met_and_json_has_the_fields() {
        let c = Comparison::new()
            .at_least("k-NN test accuracy", 0.84, 0.8412)
            .about("MLP test accuracy", 0.8944, 0.87, 0.01)
            .exact("best k", 5, 5)
            .exact("best architecture", "(256, 128, 64)", "(256, 128)")
            .about("diverged loss", 0.5, f64::NAN, 0.1);
        let met: Vec<bool> = c.entries.iter().map(Entry::met).collect();
        assert_eq!(met, vec![true, false, true, false, false]);
        let json = serde_json::to_value(&c.entries).expect("json");
        assert_eq!(json[0]["kind"], "at_least");
        assert_eq!(json[2]["ours"], 5);
        assert!(json[0].get("tolerance").is_none());
        assert_eq!(c.table().expect("table").frame.height(), 5);
        let path = std::env::temp_dir().join(format!("fl-results-{}.json", std::process::id()));
        c.save_json(&path).expect("written");
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        let _ = std::fs::remove_file(&path);
        let saved_met: Vec<bool> = (0..5).map(|i| saved[i]["met"] == true).collect();
        assert_eq!(saved_met, met);
    }
}

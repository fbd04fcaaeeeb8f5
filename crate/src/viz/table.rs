//! A polars DataFrame that shows as an HTML table in a notebook and as text elsewhere.

use std::fmt;
use std::path::Path;

use polars::prelude::*;

use super::escape;
use crate::error::Result;

/// A result table: a DataFrame plus an optional title.
#[derive(Clone, Debug)]
pub struct Table {
    pub frame: DataFrame,
    pub title: Option<String>,
}

impl Table {
    pub fn new(frame: DataFrame) -> Self {
        Self { frame, title: None }
    }

    pub fn titled(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    fn cell_text(value: &AnyValue) -> String {
        match value {
            AnyValue::Null => String::new(),
            AnyValue::Float64(v) => format_float(*v),
            AnyValue::Float32(v) => format_float(f64::from(*v)),
            AnyValue::String(s) => s.to_string(),
            AnyValue::StringOwned(s) => s.to_string(),
            other => other.to_string(),
        }
    }

    /// The table as an HTML `<table>` (numbers right-aligned, floats to 4 decimals).
    pub fn to_html(&self) -> String {
        let mut html = String::from(
            "<table style=\"border-collapse:collapse;font-family:sans-serif;font-size:13px\">",
        );
        if let Some(title) = &self.title {
            html.push_str(&format!(
                "<caption style=\"font-weight:bold;padding:4px\">{}</caption>",
                escape(title)
            ));
        }
        // Numbers right, text left, each heading over its column the same way (Jupyter's own
        // style would put every heading right).
        let align = |col: &Column| {
            if col.dtype().is_primitive_numeric() {
                "right"
            } else {
                "left"
            }
        };
        html.push_str("<thead><tr>");
        for col in self.frame.columns() {
            html.push_str(&format!(
                "<th style=\"border-bottom:2px solid #444;padding:3px 10px;text-align:{}\">{}</th>",
                align(col),
                escape(col.name())
            ));
        }
        html.push_str("</tr></thead><tbody>");
        // A float column of whole numbers only (parameter counts) prints them without decimals.
        let whole: Vec<bool> = self
            .frame
            .columns()
            .iter()
            .map(|col| {
                col.dtype().is_float()
                    && (0..self.frame.height()).all(|row| match col.get(row) {
                        Ok(AnyValue::Float64(v)) => v.fract() == 0.0 && v.abs() < 1e15,
                        Ok(AnyValue::Float32(v)) => v.fract() == 0.0 && v.abs() < 1e7,
                        Ok(AnyValue::Null) => true,
                        _ => false,
                    })
            })
            .collect();
        for row in 0..self.frame.height() {
            html.push_str("<tr>");
            for (col, &whole) in self.frame.columns().iter().zip(&whole) {
                let value = col.get(row).unwrap_or(AnyValue::Null);
                let text = match value {
                    AnyValue::Float64(v) if whole => format!("{v:.0}"),
                    AnyValue::Float32(v) if whole => format!("{v:.0}"),
                    _ => Self::cell_text(&value),
                };
                html.push_str(&format!(
                    "<td style=\"border-bottom:1px solid #ddd;padding:3px 10px;text-align:{}\">{}</td>",
                    align(col),
                    escape(&text)
                ));
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table>");
        html
    }

    /// Writes the table as CSV.
    pub fn save_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        crate::error::create_parent_dir(path)?;
        crate::data::csv::write_frame(&mut self.frame.clone(), path)
    }

    /// evcxr calls this to show the value of a cell.
    pub fn evcxr_display(&self) {
        println!(
            "EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT\n{}",
            self.to_html(),
            super::figure::table_shown()
        );
    }
}

fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e6) {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(title) = &self.title {
            writeln!(f, "{title}")?;
        }
        write!(f, "{}", self.frame)
    }
}

impl From<DataFrame> for Table {
    fn from(frame: DataFrame) -> Self {
        Table::new(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_number_columns_print_without_decimals_and_headings_align() {
        let frame = DataFrame::new(
            2,
            vec![
                Column::new("model".into(), ["CNN 1", "CNN 2"]),
                Column::new("params".into(), [120_170.0f64, 2_432.0]),
                Column::new("accuracy".into(), [0.9077f64, 1.0]),
            ],
        )
        .expect("frame");
        let html = Table::new(frame).titled("t").to_html();
        assert!(
            html.contains(">120170<") && html.contains(">2432<"),
            "{html}"
        );
        assert!(
            html.contains(">0.9077<") && html.contains(">1.0000<"),
            "{html}"
        );
        assert!(html.contains("text-align:left\">model</th>"), "{html}");
        assert!(html.contains("text-align:right\">params</th>"), "{html}");
    }
}

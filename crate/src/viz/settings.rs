//! The table at the top of a notebook: where the classroom protocol differs from the report.

use polars::prelude::*;

use super::Table;
use crate::error::Result;
use crate::protocol::{Protocol, Setting};

/// The settings where classroom differs from the report, or where this run differs from its
/// protocol (a cell changed it), with the value of each protocol and the one this run uses.
/// Settings the classroom protocol keeps as the report's are left out; the title says how many.
pub fn settings_table(protocol: Protocol, settings: &[Setting]) -> Result<Table> {
    let index = protocol.pick(0, 1, 2); // the order of Setting::values
    let shown: Vec<&Setting> = settings
        .iter()
        .filter(|s| s.classroom_differs() || s.this_run != s.values[index])
        .collect();
    let column = |name: &str, f: &dyn Fn(&Setting) -> String| {
        Column::new(
            name.into(),
            shown.iter().map(|s| f(s)).collect::<Vec<String>>(),
        )
    };
    let frame = DataFrame::new(
        shown.len(),
        vec![
            column("setting", &|s| s.name.to_string()),
            column("what it sets", &|s| s.about.clone()),
            column("report", &|s| s.values[2].clone()),
            column("classroom", &|s| s.values[1].clone()),
            column("quick", &|s| s.values[0].clone()),
            column(&format!("this run ({protocol})"), &|s| s.this_run.clone()),
        ],
    )?;
    let same = settings.len() - shown.len();
    Ok(Table::new(frame).titled(format!(
        "Settings: where the classroom protocol differs from the report ({same} other settings are the report's in both)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(name: &'static str, values: [&str; 3], this_run: &str) -> Setting {
        Setting {
            name,
            about: format!("about {name}"),
            values: values.map(String::from),
            this_run: this_run.to_string(),
        }
    }

    #[test]
    fn lists_classroom_differences_and_a_cells_change_only() {
        let settings = [
            setting("epochs", ["1", "12", "20"], "12"),
            setting("batch", ["32", "32", "32"], "32"),
            setting("lr", ["0.001", "0.001", "0.001"], "0.01"),
        ];
        let table = settings_table(Protocol::Classroom, &settings).expect("a table");
        let names: Vec<String> = table
            .frame
            .column("setting")
            .expect("setting column")
            .str()
            .expect("strings")
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect();
        assert_eq!(names, ["epochs", "lr"]);
        assert!(table.title.unwrap_or_default().contains("1 other settings"));
    }
}

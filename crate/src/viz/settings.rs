//! The table at the top of a notebook: where the classroom protocol differs from the report.

use polars::prelude::*;

use super::Table;
use crate::error::Result;
use crate::protocol::{Protocol, Setting};

/// The settings where classroom differs from the report, or where this run differs from its
/// protocol (a cell changed it), with the value of each protocol and the one this run uses.
/// Settings the classroom protocol keeps as the report's are left out; the title says how many.
/// Where classroom keeps every setting of the report (report 000's notebook), the table lists
/// where quick differs instead, so it is never an empty header.
pub fn settings_table(protocol: Protocol, settings: &[Setting]) -> Result<Table> {
    let index = protocol.pick(0, 1, 2); // the order of Setting::values
    let changed = |s: &Setting| s.this_run != s.values[index];
    let mut shown: Vec<&Setting> = settings
        .iter()
        .filter(|s| s.classroom_differs() || changed(s))
        .collect();
    let classroom_is_report = settings.iter().all(|s| !s.classroom_differs());
    if classroom_is_report {
        shown = settings
            .iter()
            .filter(|s| s.values[0] != s.values[2] || changed(s))
            .collect();
    }
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
    let title = if classroom_is_report {
        format!(
            "Settings: classroom runs the report's own {} settings; where quick (the tests) differs",
            settings.len()
        )
    } else {
        format!(
            "Settings: where the classroom protocol differs from the report ({same} other settings are the report's in both)"
        )
    };
    Ok(Table::new(frame).titled(title))
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

    #[test]
    fn lists_quicks_differences_when_classroom_is_the_report() {
        let settings = [
            setting("images", ["7000", "70000", "70000"], "70000"),
            setting("k", ["5", "5", "5"], "5"),
        ];
        let table = settings_table(Protocol::Classroom, &settings).expect("a table");
        assert_eq!(
            table.frame.height(),
            1,
            "the images row, where quick differs"
        );
        let title = table.title.unwrap_or_default();
        assert!(title.contains("report's own 2 settings"), "{title}");
    }
}

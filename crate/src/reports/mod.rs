//! Each report notebook's settings: one type per notebook, made by [`crate::protocol_settings!`],
//! whose every field gives its quick, classroom and report values (the notebook reads them in
//! its cells and shows where classroom differs from the report in its first table).

pub mod report_004;

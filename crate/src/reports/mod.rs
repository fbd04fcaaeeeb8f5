//! One module per report: the settings a notebook runs with under each protocol, the report's own
//! numbers, and the records and tables that set this run's numbers beside them. Only notebooks
//! (and their tests) use these; nothing else in the crate imports them.

pub mod report_000;

//! Each report's settings under the three protocols (see [`crate::protocol`]), one file per
//! report: a notebook reads its values from here, and the table at its top is made from them.

pub mod report_000;
pub mod report_001;
pub mod report_002;
pub mod report_003;
pub mod report_004;

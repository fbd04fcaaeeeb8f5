//! Figures (SVG, drawn with plotters) and tables (polars DataFrames) that show inline in evcxr.
//!
//! Figures are emitted as `image/svg+xml`, not plotters' `text/html`-wrapped SVG, so that the
//! HTML and PDF exports keep them.

mod class_plots;
mod figure;
mod grid;
mod images;
mod plots;
mod runs;
mod settings;
mod summaries;
mod table;

pub use class_plots::{
    augmentation_examples, class_distribution, classified_folder, classified_picture,
    confusion_heatmap, confusion_zones, samples_per_class,
};
pub use figure::{compose, Figure, DISPLAY_COUNT_MIME};
pub use images::{encode_png_gray, image_grid};
pub use plots::{bar_chart, learning_curves, line_chart, Series};
pub use runs::{runs_curves, runs_list, runs_table, sweep_bars};
pub use settings::settings_table;
pub use table::Table;

/// Escapes text for SVG/HTML.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

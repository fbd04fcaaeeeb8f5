//! Figures (SVG, drawn with plotters) and tables (polars DataFrames) that show inline in evcxr.
//!
//! Figures are emitted as `image/svg+xml`, not plotters' `text/html`-wrapped SVG, so that the
//! HTML and PDF exports keep them.

mod class_plots;
mod images;
mod plots;
mod summaries;
mod table;

pub use class_plots::{class_distribution, confusion_heatmap, samples_per_class};
pub use images::{encode_png_gray, image_grid};
pub use plots::{bar_chart, learning_curves, line_chart, Series};
pub use table::Table;

use std::path::Path;

use crate::error::{Error, Result};

/// An SVG figure: shows inline in a notebook, saves to a file.
#[derive(Clone, Debug)]
pub struct Figure {
    svg: String,
}

impl Figure {
    pub fn from_svg(svg: String) -> Self {
        Self { svg }
    }

    /// The SVG document.
    pub fn svg(&self) -> &str {
        &self.svg
    }

    /// Writes the figure as an `.svg` file, creating the folder if needed.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        crate::error::create_parent_dir(path)?;
        std::fs::write(path, &self.svg).map_err(|e| Error::io(path, e))
    }

    /// evcxr calls this to show the value of a cell.
    pub fn evcxr_display(&self) {
        println!(
            "EVCXR_BEGIN_CONTENT image/svg+xml\n{}\nEVCXR_END_CONTENT",
            self.svg
        );
    }
}

/// Escapes text for SVG/HTML.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

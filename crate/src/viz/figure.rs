//! The figure type, figures composed into one, and the display count the notebook runner reads.
//!
//! evcxr 0.22 keeps only the last output of each MIME type per cell (evcxr issue #510): a cell
//! that shows two figures loses the first. So a cell shows one figure, and several views of one
//! thing are composed into one figure (`compose`). Every display also sends, as a MIME type of
//! its own, how many figures and tables this kernel has shown so far; the runner compares the
//! count's growth in a cell with the figures and tables that reached the notebook, and fails the
//! cell when one was lost.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};

/// The MIME type of the display count: `{"figures": n, "tables": m}`, totals for this kernel.
pub const DISPLAY_COUNT_MIME: &str = "application/vnd.fashion-lab.displays+json";

static FIGURES_SHOWN: AtomicUsize = AtomicUsize::new(0);
static TABLES_SHOWN: AtomicUsize = AtomicUsize::new(0);

fn display_count() -> String {
    format!(
        "EVCXR_BEGIN_CONTENT {DISPLAY_COUNT_MIME}\n{{\"figures\": {}, \"tables\": {}}}\nEVCXR_END_CONTENT",
        FIGURES_SHOWN.load(Ordering::Relaxed),
        TABLES_SHOWN.load(Ordering::Relaxed)
    )
}

/// Counts a table shown in the notebook and returns the count's display block.
pub(super) fn table_shown() -> String {
    TABLES_SHOWN.fetch_add(1, Ordering::Relaxed);
    display_count()
}

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

    /// Width and height in pixels, read from the root element (plotters and the crate's own
    /// drawings always write both).
    pub fn size(&self) -> Result<(f64, f64)> {
        let start = self.svg.find("<svg").ok_or_else(|| {
            Error::Plot(
                "a figure's SVG has no <svg> element; make it with the crate's viz functions"
                    .into(),
            )
        })?;
        let tag = &self.svg[start..];
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        let attribute = |name: &str| -> Result<f64> {
            let key = format!(" {name}=\"");
            tag.find(&key)
                .and_then(|i| {
                    let rest = &tag[i + key.len()..];
                    rest[..rest.find('"')?].trim_end_matches("px").parse().ok()
                })
                .ok_or_else(|| {
                    Error::Plot(format!(
                        "a figure's <svg> element has no numeric {name}; give the drawing a size in pixels"
                    ))
                })
        };
        Ok((attribute("width")?, attribute("height")?))
    }

    /// Writes the figure as an `.svg` file, creating the folder if needed.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        crate::error::create_parent_dir(path)?;
        std::fs::write(path, &self.svg).map_err(|e| Error::io(path, e))
    }

    /// evcxr calls this to show the value of a cell.
    pub fn evcxr_display(&self) {
        FIGURES_SHOWN.fetch_add(1, Ordering::Relaxed);
        println!(
            "EVCXR_BEGIN_CONTENT image/svg+xml\n{}\nEVCXR_END_CONTENT\n{}",
            self.svg,
            display_count()
        );
    }
}

/// Figures laid out in one, `cols` per row, left to right then top to bottom; each keeps its
/// size, a row is as tall as its tallest figure. The one way to show several figures in a cell.
pub fn compose(figures: &[Figure], cols: usize) -> Result<Figure> {
    if figures.is_empty() || cols == 0 {
        return Err(Error::invalid(
            "compose needs at least one figure and cols ≥ 1",
        ));
    }
    let sizes: Vec<(f64, f64)> = figures.iter().map(Figure::size).collect::<Result<_>>()?;
    let rows: Vec<&[(f64, f64)]> = sizes.chunks(cols).collect();
    let width = rows
        .iter()
        .map(|r| r.iter().map(|s| s.0).sum::<f64>())
        .fold(0.0, f64::max);
    let heights: Vec<f64> = rows
        .iter()
        .map(|r| r.iter().map(|s| s.1).fold(0.0, f64::max))
        .collect();
    let height: f64 = heights.iter().sum();
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"><rect width="100%" height="100%" fill="white"/>"#
    );
    let mut y = 0.0;
    for (r, row) in figures.chunks(cols).enumerate() {
        let mut x = 0.0;
        for (c, figure) in row.iter().enumerate() {
            let (w, _) = sizes[r * cols + c];
            // A nested <svg> is its own viewport: place it, keep its own coordinates.
            let inner = figure.svg.trim_start();
            let inner = match inner.strip_prefix("<?xml") {
                Some(rest) => rest[rest.find("?>").map_or(0, |i| i + 2)..].trim_start(),
                None => inner,
            };
            let body = inner.strip_prefix("<svg").unwrap_or(inner);
            let _ = write!(svg, r#"<svg x="{x}" y="{y}""#);
            // The inner root's own x / y, if any, would override the placement: plotters and
            // the crate write none.
            svg.push_str(body);
            x += w;
        }
        y += heights[r];
    }
    svg.push_str("</svg>");
    Ok(Figure::from_svg(svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(w: u32, h: u32) -> Figure {
        Figure::from_svg(format!(
            r#"<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg"><rect width="{w}" height="{h}"/></svg>"#
        ))
    }

    #[test]
    fn compose_lays_figures_out_in_rows() {
        let figure = compose(&[rect(100, 50), rect(200, 80), rect(120, 40)], 2).unwrap();
        assert_eq!(figure.size().unwrap(), (300.0, 120.0));
        assert_eq!(figure.svg().matches("<svg").count(), 4);
        assert!(figure.svg().contains(r#"<svg x="100" y="0""#));
        assert!(figure.svg().contains(r#"<svg x="0" y="80""#));
    }

    #[test]
    fn compose_refuses_nothing_and_sizeless_svg() {
        assert!(matches!(compose(&[], 2), Err(Error::InvalidInput(_))));
        assert!(matches!(
            compose(&[rect(1, 1)], 0),
            Err(Error::InvalidInput(_))
        ));
        let sizeless = Figure::from_svg("<svg viewBox=\"0 0 1 1\"></svg>".into());
        assert!(matches!(compose(&[sizeless], 1), Err(Error::Plot(_))));
    }
}

//! Charts of the classes: sample images per class, class counts per split, the confusion heatmap.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::plots::{category_formatter, color, plot_err, svg_figure};
use super::{bar_chart, compose, image_grid, Figure};
use crate::data::{ImageSet, CLASS_NAMES, N_CLASSES};
use crate::error::{Error, Result};
use crate::eval::ConfusionMatrix;
use crate::nn::Model;
use crate::prep::{picture, Augmentation, LabelledSet};
use polars::prelude::{Column, DataFrame};

/// One (or more) sample image per class, captioned with the class name.
pub fn samples_per_class(set: &ImageSet, per_class: usize) -> Result<Figure> {
    if per_class == 0 {
        return Err(Error::invalid("per_class must be at least 1"));
    }
    let mut images = Vec::new();
    let mut captions = Vec::new();
    for (class, name) in CLASS_NAMES.iter().enumerate() {
        let found: Vec<usize> = set
            .labels
            .iter()
            .enumerate()
            .filter(|(_, &l)| l as usize == class)
            .map(|(i, _)| i)
            .take(per_class)
            .collect();
        for i in found {
            images.push(set.image(i)?);
            captions.push(name.to_string());
        }
    }
    image_grid(
        "One sample per class",
        &images,
        &captions,
        N_CLASSES.min(images.len()).max(1),
        3,
    )
}

/// `n` training images (spread over the set) above one random draw of `augmentation` of each,
/// captioned with their class: what the network sees in an epoch.
pub fn augmentation_examples(
    set: &LabelledSet,
    augmentation: &Augmentation,
    n: usize,
    seed: u64,
) -> Result<Figure> {
    if n == 0 || set.is_empty() {
        return Err(Error::invalid(
            "augmentation_examples needs n ≥ 1 and a non-empty set",
        ));
    }
    // Spread over the set: consecutive images of a shuffled set would do too, a sorted one not.
    let shown: Vec<usize> = (0..n).map(|i| i * 997 % set.len()).collect();
    let originals = set.features().select(ndarray::Axis(0), &shown);
    let augmented = augmentation.apply(&originals, (28, 28, 1), &mut crate::base::rng(seed))?;
    let mut images = Vec::with_capacity(2 * n);
    let mut captions = Vec::with_capacity(2 * n);
    for (rows, what) in [(&originals, "original"), (&augmented, "augmented")] {
        for (k, row) in rows.rows().into_iter().enumerate() {
            images.push(ndarray::Array2::from_shape_fn((28, 28), |(r, c)| {
                (row[r * 28 + c] * 255.0).round().clamp(0.0, 255.0) as u8
            }));
            let class = set.labels()[shown[k]] as usize;
            captions.push(format!("{what}: {}", CLASS_NAMES[class]));
        }
    }
    image_grid(
        "Augmentation: originals (top) and augmented (bottom)",
        &images,
        &captions,
        n,
        3,
    )
}

/// Report 001's Table 6.2 read off confusion matrices: for each zone (a group of classes) and
/// each pair in it, the test images of one class predicted as the other, per model.
pub fn confusion_zones(
    models: &[(&str, &ConfusionMatrix)],
    zones: &[(&str, &[usize])],
) -> Result<super::Table> {
    let mut zone_col = Vec::new();
    let mut pair_col = Vec::new();
    let mut counts: Vec<Vec<u64>> = vec![Vec::new(); 2 * models.len()];
    for (zone, members) in zones {
        for (i, &a) in members.iter().enumerate() {
            for &b in &members[i + 1..] {
                if a.max(b) >= N_CLASSES {
                    return Err(Error::invalid(format!(
                        "zone {zone}: class {} does not exist (0-9)",
                        a.max(b)
                    )));
                }
                zone_col.push(zone.to_string());
                pair_col.push(format!("{} ↔ {}", CLASS_NAMES[a], CLASS_NAMES[b]));
                for (m, (_, cm)) in models.iter().enumerate() {
                    counts[2 * m].push(cm.count(a, b) as u64);
                    counts[2 * m + 1].push(cm.count(b, a) as u64);
                }
            }
        }
    }
    let mut columns = vec![
        Column::new("zone".into(), zone_col),
        Column::new("pair (a ↔ b)".into(), pair_col),
    ];
    for (m, (name, _)) in models.iter().enumerate() {
        columns.push(Column::new(
            format!("{name}: a → b").into(),
            counts[2 * m].clone(),
        ));
        columns.push(Column::new(
            format!("{name}: b → a").into(),
            counts[2 * m + 1].clone(),
        ));
    }
    let height = columns[0].len();
    Ok(super::Table::new(DataFrame::new(height, columns)?)
        .titled("Table 6.2: confusion zones, test images"))
}

/// Every PNG or JPEG picture of a folder, sorted by name, classified by `model`: one
/// [`classified_picture`] each, composed in one column.
pub fn classified_folder(model: &Model, dir: impl AsRef<std::path::Path>) -> Result<Figure> {
    let dir = dir.as_ref();
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    if files.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{} holds no PNG or JPEG picture: put some there, or classify one with classified_picture",
            dir.display()
        )));
    }
    files.sort();
    let figures = files
        .iter()
        .map(|f| classified_picture(model, f))
        .collect::<Result<Vec<_>>>()?;
    compose(&figures, 1)
}

/// A picture classified by `model`, as one figure: the picture as it is, the 28×28 image the
/// model sees (after the dataset's conversion steps, drawn 4× larger), and the ten class
/// probabilities; the title names the predicted class and its confidence.
pub fn classified_picture(model: &Model, path: impl AsRef<std::path::Path>) -> Result<Figure> {
    let path = path.as_ref();
    // One read: the picture as it is and what the model makes of it come from the same bytes.
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let original = picture::bytes_as_gray(&bytes, path)?;
    let c = model.classify_picture(&bytes, path)?;
    let seen =
        ndarray::Array2::from_shape_fn((112, 112), |(r, col)| c.input[(r / 4) * 28 + col / 4]);
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let pictures = image_grid(
        &format!("{name} → {} ({:.1} %)", c.name, 100.0 * c.confidence),
        &[original.clone(), seen],
        &[
            format!("the picture ({}×{})", original.ncols(), original.nrows()),
            "what the model sees (28×28, ×4)".to_string(),
        ],
        2,
        1,
    )?;
    let probabilities: Vec<f64> = c.probabilities.iter().map(|&p| f64::from(p)).collect();
    let names: Vec<String> = CLASS_NAMES.iter().map(|s| s.to_string()).collect();
    let bars = bar_chart(
        "class probabilities",
        "probability",
        &names,
        &probabilities,
        None,
    )?;
    compose(&[pictures, bars], 2)
}

/// Images per class in each named split (grouped bars).
pub fn class_distribution(splits: &[(&str, &ImageSet)]) -> Result<Figure> {
    if splits.is_empty() {
        return Err(Error::invalid(
            "class_distribution needs at least one split",
        ));
    }
    let counts: Vec<[usize; N_CLASSES]> = splits.iter().map(|(_, s)| s.class_counts()).collect();
    // Headroom above the tallest bar for the legend, which would otherwise cover the last bars.
    let top = counts.iter().flatten().copied().max().unwrap_or(1) as f64 * 1.4;
    let names: Vec<String> = CLASS_NAMES.iter().map(|s| s.to_string()).collect();
    let width = 0.8 / splits.len() as f64;
    svg_figure((900, 440), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Class distribution per split", ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5..(N_CLASSES as f64 - 0.5), 0.0..top)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 16))
            .disable_x_mesh()
            .x_labels(N_CLASSES)
            .x_label_formatter(&category_formatter(&names))
            .x_label_style(("sans-serif", 14))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("images")
            .draw()
            .map_err(plot_err)?;
        for (s, ((name, _), row)) in splits.iter().zip(&counts).enumerate() {
            let c = color(s);
            chart
                .draw_series(row.iter().enumerate().map(|(class, &n)| {
                    let x0 = class as f64 - 0.4 + s as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width * 0.95, n as f64)], c.filled())
                }))
                .map_err(plot_err)?
                .label(format!("{name} ({})", row.iter().sum::<usize>()))
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        }
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 15))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(plot_err)?;
        Ok(())
    })
}

/// The confusion matrix as a heatmap: true class down, predicted class across, counts in cells.
pub fn confusion_heatmap(cm: &ConfusionMatrix, title: &str) -> Result<Figure> {
    let k = cm.n_classes();
    if k == 0 {
        return Err(Error::invalid("the confusion matrix has no classes"));
    }
    let max = cm.counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let names = cm.class_names.clone();
    let kf = k as f64;
    svg_figure((820, 720), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 22))
            .margin(14)
            .x_label_area_size(70)
            .y_label_area_size(100)
            .build_cartesian_2d(-0.5..(kf - 0.5), (kf - 0.5)..-0.5)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 16))
            .disable_mesh()
            .x_labels(k)
            .y_labels(k)
            .x_label_formatter(&category_formatter(&names))
            .y_label_formatter(&category_formatter(&names))
            .x_label_style(("sans-serif", 14))
            .y_label_style(("sans-serif", 14))
            .x_desc("predicted")
            .y_desc("true")
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(cm.counts.indexed_iter().map(|((t, p), &n)| {
                // White → blue, as matplotlib's Blues.
                let s = (n as f64 / max).sqrt();
                let fill = RGBColor(
                    (247.0 - s * (247.0 - 8.0)) as u8,
                    (251.0 - s * (251.0 - 48.0)) as u8,
                    (255.0 - s * (255.0 - 107.0)) as u8,
                );
                let (x, y) = (p as f64, t as f64);
                Rectangle::new([(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)], fill.filled())
            }))
            .map_err(plot_err)?;
        chart
            .draw_series(cm.counts.indexed_iter().map(|((t, p), &n)| {
                let dark = (n as f64 / max).sqrt() > 0.55;
                let style = ("sans-serif", 15)
                    .into_font()
                    .color(if dark { &WHITE } else { &BLACK })
                    .pos(Pos::new(HPos::Center, VPos::Center));
                Text::new(n.to_string(), (p as f64, t as f64), style)
            }))
            .map_err(plot_err)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn heatmap_shows_counts_and_class_names() {
        let truth = array![0u8, 1, 2, 2];
        let pred = array![0u8, 2, 2, 2];
        let cm = ConfusionMatrix::fashion(&pred, &truth).expect("cm");
        let fig = confusion_heatmap(&cm, "test").expect("heatmap");
        assert!(fig.svg().contains("Pullover") && fig.svg().contains("Ankle boot"));
        assert!(fig.svg().contains(">\n2\n</text>"), "the count 2 is drawn");
    }
}

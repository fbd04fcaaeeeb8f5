//! The reports' charts, drawn with plotters into SVG.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Figure;
use crate::error::{Error, Result};

/// matplotlib's `tab10`, so charts look like the reports' figures.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub(super) fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

pub(super) fn plot_err(e: impl std::fmt::Display) -> Error {
    Error::Plot(e.to_string())
}

/// A named line of (x, y) points. Non-finite points (a diverged run's NaN loss) are skipped.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
        }
    }

    /// y values against 1, 2, 3, … (epochs).
    pub fn per_epoch(name: impl Into<String>, ys: &[f64]) -> Self {
        Self::new(
            name,
            ys.iter()
                .enumerate()
                .map(|(i, &y)| ((i + 1) as f64, y))
                .collect(),
        )
    }

    fn finite(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    }
}

pub(super) fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = (hi - lo) * 0.06;
    (lo - pad, hi + pad)
}

pub(super) fn svg_figure(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<()>,
) -> Result<Figure> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        draw(&root)?;
        root.present().map_err(plot_err)?;
    }
    Ok(Figure::from_svg(svg))
}

pub(super) fn draw_lines(
    area: &DrawingArea<SVGBackend, Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    let all: Vec<(f64, f64)> = series.iter().flat_map(|s| s.finite()).collect();
    let (x0, x1) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.0), b.max(p.0))
        });
    let (y0, y1) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    let ((x0, x1), (y0, y1)) = (padded(x0, x1), padded(y0, y1));
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(plot_err)?;
    let plot_px = chart.plotting_area().dim_in_pixel();
    chart
        .configure_mesh()
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&|x: &f64| {
            if (x - x.round()).abs() < 1e-9 {
                format!("{x:.0}")
            } else {
                format!("{x:.2}")
            }
        })
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(plot_err)?;
    for (i, s) in series.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(LineSeries::new(s.finite(), c.stroke_width(2)))
            .map_err(plot_err)?
            .label(s.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart
            .draw_series(s.finite().map(|p| Circle::new(p, 3, c.filled())))
            .map_err(plot_err)?;
    }
    if series.iter().any(|s| !s.name.is_empty()) {
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 15))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .position(legend_corner(series, (x0, x1), (y0, y1), plot_px))
            .draw()
            .map_err(plot_err)?;
    }
    Ok(())
}

/// The corner where the legend box covers the fewest points and line pieces of any series; on
/// a tie the usual place wins: lower right under a rising first curve (accuracy), upper right
/// under a falling one (loss).
fn legend_corner(
    series: &[Series],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    (width_px, height_px): (u32, u32),
) -> SeriesLabelPosition {
    use SeriesLabelPosition::{LowerLeft, LowerRight, UpperLeft, UpperRight};
    let longest_name = series.iter().map(|s| s.name.chars().count()).max();
    // The box's size as a fraction of the plotting area, from the 15 px label font.
    let box_w = (longest_name.unwrap_or(0) as f64 * 8.0 + 45.0) / f64::from(width_px.max(1));
    let box_h = (series.len() as f64 * 20.0 + 15.0) / f64::from(height_px.max(1));
    let unit = |(x, y): (f64, f64)| ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0));
    // Points along each segment too: sparse lines (three dropout rates) cross a box between points.
    const STEPS: usize = 16;
    let mut inked = Vec::new();
    for s in series {
        let points: Vec<(f64, f64)> = s.finite().map(unit).collect();
        inked.extend(points.iter().copied());
        for pair in points.windows(2) {
            let ((ua, va), (ub, vb)) = (pair[0], pair[1]);
            inked.extend((1..STEPS).map(|k| {
                let t = k as f64 / STEPS as f64;
                (ua + (ub - ua) * t, va + (vb - va) * t)
            }));
        }
    }
    let covered = |corner: &SeriesLabelPosition| {
        let (right, upper) = match corner {
            UpperRight => (true, true),
            LowerRight => (true, false),
            UpperLeft => (false, true),
            _ => (false, false),
        };
        inked
            .iter()
            .filter(|(u, v)| {
                let in_x = if right {
                    *u >= 1.0 - box_w
                } else {
                    *u <= box_w
                };
                let in_y = if upper {
                    *v >= 1.0 - box_h
                } else {
                    *v <= box_h
                };
                in_x && in_y
            })
            .count()
    };
    let rising = series.first().is_some_and(|s| {
        let ys: Vec<f64> = s.finite().map(|p| p.1).collect();
        ys.len() > 1 && ys[ys.len() - 1] > ys[0]
    });
    let by_preference = if rising {
        [LowerRight, UpperRight, LowerLeft, UpperLeft]
    } else {
        [UpperRight, LowerRight, UpperLeft, LowerLeft]
    };
    // min_by_key would keep the last of equals; the fold keeps the first, the preferred one.
    by_preference
        .into_iter()
        .map(|corner| (covered(&corner), corner))
        .fold(
            None,
            |best: Option<(usize, SeriesLabelPosition)>, (n, corner)| match best {
                Some((best_n, _)) if best_n <= n => best,
                _ => Some((n, corner)),
            },
        )
        .map_or(UpperRight, |(_, corner)| corner)
}

/// A line chart of one or more series (e.g. validation accuracy against k).
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> Result<Figure> {
    if series.is_empty() {
        return Err(Error::invalid("a line chart needs at least one series"));
    }
    svg_figure((760, 440), |root| {
        draw_lines(root, title, x_label, y_label, series)
    })
}

/// Learning curves: loss (left) and accuracy (right) per epoch, train and validation.
pub fn learning_curves(title: &str, loss: &[Series], accuracy: &[Series]) -> Result<Figure> {
    if loss.is_empty() && accuracy.is_empty() {
        return Err(Error::invalid(
            "learning curves need at least one loss or accuracy series",
        ));
    }
    svg_figure((1040, 420), |root| {
        let root = root.titled(title, ("sans-serif", 24)).map_err(plot_err)?;
        let (left, right) = root.split_horizontally(520);
        if !loss.is_empty() {
            draw_lines(&left, "loss", "epoch", "loss", loss)?;
        }
        if !accuracy.is_empty() {
            draw_lines(&right, "accuracy", "epoch", "accuracy", accuracy)?;
        }
        Ok(())
    })
}

/// Category positions 0..n on an f64 axis, labelled by name.
pub(super) fn category_formatter(labels: &[String]) -> impl Fn(&f64) -> String + '_ {
    move |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
            labels[i as usize].clone()
        } else {
            String::new()
        }
    }
}

/// Bars for each (label, value), with optional ± error bars (e.g. the spread over repeats).
pub fn bar_chart(
    title: &str,
    y_label: &str,
    labels: &[String],
    values: &[f64],
    errors: Option<&[f64]>,
) -> Result<Figure> {
    if labels.is_empty()
        || labels.len() != values.len()
        || errors.is_some_and(|e| e.len() != values.len())
    {
        return Err(Error::Mismatch(format!(
            "a bar chart needs as many labels as values (and errors): {} labels, {} values",
            labels.len(),
            values.len()
        )));
    }
    let err_of = |i: usize| {
        errors
            .map(|e| e[i])
            .filter(|e| e.is_finite())
            .unwrap_or(0.0)
    };
    let top = values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, v)| v + err_of(i))
        .fold(0.0f64, f64::max);
    let bottom = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::min);
    let n = labels.len();
    svg_figure((760, 440), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(
                -0.5..(n as f64 - 0.5),
                bottom..(top * 1.1).max(bottom + 1e-9),
            )
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 16))
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&category_formatter(labels))
            .y_desc(y_label)
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(
                values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(i, &v)| {
                        let x = i as f64;
                        Rectangle::new([(x - 0.35, 0.0), (x + 0.35, v)], color(i).filled())
                    }),
            )
            .map_err(plot_err)?;
        chart
            .draw_series(
                values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(i, &v)| {
                        let label = if v.abs() >= 100.0 {
                            format!("{v:.0}")
                        } else {
                            format!("{v:.3}")
                        };
                        Text::new(
                            label,
                            (i as f64, v + err_of(i)),
                            TextStyle::from(("sans-serif", 14).into_font())
                                .pos(Pos::new(HPos::Center, VPos::Bottom)),
                        )
                    }),
            )
            .map_err(plot_err)?;
        if errors.is_some() {
            chart
                .draw_series(
                    values
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.is_finite())
                        .map(|(i, &v)| {
                            let e = err_of(i);
                            ErrorBar::new_vertical(
                                i as f64,
                                v - e,
                                v,
                                v + e,
                                BLACK.stroke_width(1),
                                10,
                            )
                        }),
                )
                .map_err(plot_err)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_render_titles_labels_and_skip_nan() {
        let loss = [
            Series::per_epoch("train", &[1.0, 0.5, f64::NAN]),
            Series::per_epoch("validation", &[1.2, 0.7, 0.6]),
        ];
        let acc = [Series::per_epoch("train", &[0.6, 0.8, 0.85])];
        let fig = learning_curves("MLP run", &loss, &acc).expect("learning curves");
        for text in ["MLP run", "validation", "epoch", "accuracy"] {
            assert!(fig.svg().contains(text), "missing {text}");
        }
        assert!(!fig.svg().contains("NaN"));
        let labels: Vec<String> = ["Adam", "SGD"].iter().map(|s| s.to_string()).collect();
        let bars = bar_chart(
            "optimisers",
            "test accuracy",
            &labels,
            &[0.88, 0.85],
            Some(&[0.01, 0.02]),
        )
        .expect("bars");
        assert!(bars.svg().contains("Adam") && bars.svg().contains("0.880"));
        assert!(bar_chart("x", "y", &labels, &[1.0], None).is_err());
        assert!(line_chart("empty", "x", "y", &[]).is_err());
    }

    fn corner(series: &[Series]) -> &'static str {
        // A 760 x 440 line chart's plotting area is about 670 x 340 px.
        let (x, y): (Vec<f64>, Vec<f64>) = series.iter().flat_map(|s| s.finite()).unzip();
        let range = |v: &[f64]| {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            padded(lo, v.iter().copied().fold(f64::NEG_INFINITY, f64::max))
        };
        match legend_corner(series, range(&x), range(&y), (670, 340)) {
            SeriesLabelPosition::UpperRight => "UpperRight",
            SeriesLabelPosition::LowerRight => "LowerRight",
            SeriesLabelPosition::UpperLeft => "UpperLeft",
            SeriesLabelPosition::LowerLeft => "LowerLeft",
            _ => "elsewhere",
        }
    }

    #[test]
    fn legend_goes_where_no_line_is() {
        let loss = [Series::per_epoch("train", &[1.0, 0.6, 0.4, 0.3, 0.25])];
        assert_eq!(corner(&loss), "UpperRight");
        let accuracy = [Series::per_epoch("validation", &[0.6, 0.8, 0.85, 0.87])];
        assert_eq!(corner(&accuracy), "LowerRight");
        // Experiment 4's chart: the first line falls, the other two end high on the right, so
        // neither right corner is free; the lower left is.
        let at = |ys: [f64; 3]| vec![(0.0, ys[0]), (0.2, ys[1]), (0.4, ys[2])];
        let dropout = [
            Series::new("ours", at([0.894, 0.888, 0.826])),
            Series::new(
                "ours, mask in gradients only (6.1)",
                at([0.894, 0.894, 0.885]),
            ),
            Series::new("report", at([0.884, 0.883, 0.880])),
        ];
        assert_eq!(corner(&dropout), "LowerLeft");
    }
}

//! Grid search with k-fold cross-validation, as scikit-learn's `GridSearchCV`: every point of a
//! grid ([`super::sweep::grid`]) scored by a function the notebook writes (usually
//! [`super::sweep::cross_validate_network`]), the points side by side, the best kept typed so a
//! cell can retrain it without parsing labels back.

use std::time::Instant;

use super::sweep::CvScores;
use super::{side_by_side, Optimizer};
use crate::error::{Error, Result};
use crate::nn::Activation;

/// A grid value as a table cell and a label: `128`, `0.2`, `Adam`.
pub trait LabelValue {
    fn label_value(&self) -> String;
}

macro_rules! label_by_display {
    ($($t:ty),*) => {
        $(impl LabelValue for $t {
            fn label_value(&self) -> String {
                self.to_string()
            }
        })*
    };
}
label_by_display!(usize, u64, u32, i32, i64, f32, f64, bool, &str, String);

impl LabelValue for Optimizer {
    fn label_value(&self) -> String {
        self.name().to_string()
    }
}

impl LabelValue for Activation {
    fn label_value(&self) -> String {
        self.name()
    }
}

/// A grid point (a tuple of grid values) as one label value per axis.
pub trait PointLabels {
    fn label_values(&self) -> Vec<String>;
}

macro_rules! point_labels {
    ($($name:ident),+) => {
        impl<$($name: LabelValue),+> PointLabels for ($($name,)+) {
            #[allow(non_snake_case)]
            fn label_values(&self) -> Vec<String> {
                let ($($name,)+) = self;
                vec![$($name.label_value()),+]
            }
        }
    };
}
point_labels!(A);
point_labels!(A, B);
point_labels!(A, B, C);
point_labels!(A, B, C, D);
point_labels!(A, B, C, D, E);
point_labels!(A, B, C, D, E, F);

/// Every point of a grid with its cross-validation scores.
#[derive(Clone, Debug)]
pub struct GridSearch<P> {
    /// The axes' names, as the report's parameter names (`batch_size`, `dropout_rate`, …).
    pub names: Vec<String>,
    pub points: Vec<P>,
    pub scores: Vec<CvScores>,
    /// Seconds each point took (all its folds).
    pub seconds: Vec<f64>,
}

impl<P: PointLabels + Clone + Sync> GridSearch<P> {
    /// Scores every point with `score`, the points side by side (one per core; see
    /// [`side_by_side`]), printing one line per point as it ends. `names` names the axes.
    pub fn run<F>(names: &[&str], points: Vec<P>, score: F) -> Result<Self>
    where
        F: Fn(&P) -> Result<CvScores> + Sync,
    {
        let Some(first) = points.first() else {
            return Err(Error::param(
                "points",
                "the grid is empty: give every axis at least one value",
            ));
        };
        if first.label_values().len() != names.len() {
            return Err(Error::param(
                "names",
                format!(
                    "{} names for points of {} values: name every axis once",
                    names.len(),
                    first.label_values().len()
                ),
            ));
        }
        let describe = |p: &P| {
            names
                .iter()
                .zip(p.label_values())
                .map(|(n, v)| format!("{n} {v}"))
                .collect::<Vec<_>>()
                .join(" · ")
        };
        let scored = side_by_side(&points, |p| {
            let started = Instant::now();
            let cv = score(p)?;
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "{}: CV {:.4} ± {:.4} ({seconds:.0} s)",
                describe(p),
                cv.mean(),
                cv.sd()
            );
            Ok((cv, seconds))
        })?;
        let (scores, seconds) = scored.into_iter().unzip();
        Ok(Self {
            names: names.iter().map(|n| n.to_string()).collect(),
            points,
            scores,
            seconds,
        })
    }

    /// Point indices from the best mean score down (ties: grid order, as `GridSearchCV`'s rank).
    pub fn ranked(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.points.len()).collect();
        order.sort_by(|&a, &b| self.scores[b].mean().total_cmp(&self.scores[a].mean()));
        order
    }

    /// The best point and its scores (owned: a notebook keeps them across cells).
    pub fn best(&self) -> (P, CvScores) {
        let i = self.ranked()[0];
        (self.points[i].clone(), self.scores[i].clone())
    }

    /// The best point as scikit-learn prints `best_params_`: `{'batch_size': 128, …}`.
    pub fn best_params(&self) -> String {
        let (best, _) = self.best();
        let pairs: Vec<String> = self
            .names
            .iter()
            .zip(best.label_values())
            .map(|(n, v)| {
                if v.parse::<f64>().is_ok() {
                    format!("'{n}': {v}")
                } else {
                    format!("'{n}': '{}'", v.to_lowercase())
                }
            })
            .collect();
        format!("{{{}}}", pairs.join(", "))
    }

    /// Total seconds of the search.
    pub fn total_seconds(&self) -> f64 {
        self.seconds.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::sweep::{grid, Stats};

    fn scores(values: &[f64]) -> CvScores {
        CvScores {
            folds: values.to_vec(),
            stats: Stats::of(values),
        }
    }

    #[test]
    fn best_is_the_highest_mean_and_ties_keep_grid_order() {
        let points = grid((vec![64usize, 128], vec![0.2f32, 0.5]));
        // A made-up score per point: 128 / 0.2 and 64 / 0.5 tie at the top.
        let search = GridSearch::run(&["batch_size", "dropout_rate"], points, |&(b, d)| {
            let mean = if (b, d) == (128, 0.2) || (b, d) == (64, 0.5) {
                0.9
            } else {
                0.8
            };
            Ok(scores(&[mean - 0.01, mean + 0.01]))
        })
        .expect("scored");
        assert_eq!(search.ranked()[..2], [1, 2]);
        assert_eq!(search.best().0, (64, 0.5));
        assert_eq!(
            search.best_params(),
            "{'batch_size': 64, 'dropout_rate': 0.5}"
        );
        assert_eq!(search.scores.len(), 4);
    }

    #[test]
    fn names_must_match_the_axes_and_the_grid_must_not_be_empty() {
        let points = grid((vec![1usize], vec![Optimizer::adam()]));
        let wrong = GridSearch::run(&["epochs"], points, |_| Ok(scores(&[0.5])));
        assert!(matches!(
            wrong,
            Err(Error::InvalidParameter { param: "names", .. })
        ));
        let empty: Vec<(usize,)> = Vec::new();
        let none = GridSearch::run(&["epochs"], empty, |_| Ok(scores(&[0.5])));
        assert!(matches!(
            none,
            Err(Error::InvalidParameter {
                param: "points",
                ..
            })
        ));
        let adam = grid((vec![Optimizer::adam()],));
        let search =
            GridSearch::run(&["optimizer"], adam, |_| Ok(scores(&[0.5]))).expect("one point");
        assert_eq!(search.best_params(), "{'optimizer': 'adam'}");
    }
}

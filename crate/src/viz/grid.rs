//! A grid search as a table: one row per point, best first, as `GridSearchCV`'s `cv_results_`.

use polars::prelude::*;

use super::Table;
use crate::error::Result;
use crate::train::grid_search::{GridSearch, PointLabels};

impl<P: PointLabels + Clone + Sync> GridSearch<P> {
    /// Rank, every axis, the mean and sd of the folds' scores, and the seconds, best first.
    pub fn table(&self, title: &str) -> Result<Table> {
        let order = self.ranked();
        let mut columns = vec![Column::new(
            "rank".into(),
            (1..=order.len() as u64).collect::<Vec<_>>(),
        )];
        for (axis, name) in self.names.iter().enumerate() {
            columns.push(Column::new(
                name.as_str().into(),
                order
                    .iter()
                    .map(|&i| self.points[i].label_values()[axis].clone())
                    .collect::<Vec<_>>(),
            ));
        }
        columns.push(Column::new(
            "mean CV score".into(),
            order
                .iter()
                .map(|&i| self.scores[i].mean())
                .collect::<Vec<_>>(),
        ));
        columns.push(Column::new(
            "sd".into(),
            order
                .iter()
                .map(|&i| self.scores[i].sd())
                .collect::<Vec<_>>(),
        ));
        columns.push(Column::new(
            "seconds".into(),
            order.iter().map(|&i| self.seconds[i]).collect::<Vec<_>>(),
        ));
        Ok(Table::new(DataFrame::new(order.len(), columns)?).titled(title))
    }
}

#[cfg(test)]
mod tests {
    use crate::train::grid_search::GridSearch;
    use crate::train::sweep::{grid, CvScores, Stats};

    #[test]
    fn rows_come_best_first_with_every_axis() {
        let points = grid((vec![64usize, 128], vec!["adam", "sgd"]));
        let search = GridSearch::run(&["batch_size", "optimizer"], points, |&(b, o)| {
            let mean = if o == "adam" { 0.88 } else { 0.80 } + b as f64 / 1e4;
            Ok(CvScores {
                folds: vec![mean],
                stats: Stats::of(&[mean]),
            })
        })
        .expect("scored");
        let table = search.table("grid").expect("table");
        assert_eq!(table.frame.height(), 4);
        let first = table
            .frame
            .column("batch_size")
            .expect("column")
            .str()
            .expect("text")
            .get(0);
        assert_eq!(first, Some("128"));
        let opt = table
            .frame
            .column("optimizer")
            .expect("column")
            .str()
            .expect("text")
            .get(0);
        assert_eq!(opt, Some("adam"));
    }
}

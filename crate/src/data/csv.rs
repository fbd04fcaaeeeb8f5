//! Kaggle-style Fashion-MNIST CSV (`label,pixel1,…,pixel784`), read and written through polars.

use std::fs::File;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};
use polars::prelude::*;

use super::{FashionMnist, ImageSet, IMAGE_PIXELS, N_CLASSES};
use crate::error::{Error, Result};

/// The file names Kaggle's copy of the dataset uses.
pub const KAGGLE_TRAIN: &str = "fashion-mnist_train.csv";
pub const KAGGLE_TEST: &str = "fashion-mnist_test.csv";

fn csv_err(path: &Path, detail: impl Into<String>) -> Error {
    Error::Csv {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// The set as a DataFrame with columns `label, pixel1 … pixel784` (Int32).
pub fn to_dataframe(set: &ImageSet) -> Result<DataFrame> {
    let n = set.len();
    let mut columns = Vec::with_capacity(IMAGE_PIXELS + 1);
    columns.push(Column::new(
        "label".into(),
        set.labels
            .iter()
            .map(|&l| i32::from(l))
            .collect::<Vec<i32>>(),
    ));
    for j in 0..IMAGE_PIXELS {
        let values: Vec<i32> = set.images.column(j).iter().map(|&p| i32::from(p)).collect();
        columns.push(Column::new(format!("pixel{}", j + 1).into(), values));
    }
    Ok(DataFrame::new(n, columns)?)
}

/// Writes any DataFrame as CSV with a header row.
pub fn write_frame(frame: &mut DataFrame, path: &Path) -> Result<()> {
    let mut file = File::create(path).map_err(|e| Error::io(path, e))?;
    CsvWriter::new(&mut file)
        .include_header(true)
        .finish(frame)
        .map_err(|e| csv_err(path, e.to_string()))
}

/// Writes the set as a Kaggle-style CSV file.
pub fn write_csv(set: &ImageSet, path: impl AsRef<Path>) -> Result<()> {
    write_frame(&mut to_dataframe(set)?, path.as_ref())
}

/// Reads a Kaggle-style CSV file, checking its columns and that every value is a valid pixel/label.
pub fn read_csv(path: impl AsRef<Path>) -> Result<ImageSet> {
    let path = path.as_ref();
    if !path.is_file() {
        return Err(csv_err(
            path,
            "file not found; `fashion_lab::data::csv::write_kaggle_csv_files` creates it from the IDX files",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    read_csv_from_bytes(&bytes, path)
}

/// [`read_csv`] on a file's contents already in memory; `path` only names it in errors.
pub fn read_csv_from_bytes(bytes: &[u8], path: &Path) -> Result<ImageSet> {
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(|e| csv_err(path, e.to_string()))?;
    if df.width() != IMAGE_PIXELS + 1 {
        return Err(csv_err(
            path,
            format!(
                "has {} columns, expected {} (label, pixel1 … pixel784)",
                df.width(),
                IMAGE_PIXELS + 1
            ),
        ));
    }
    let n = df.height();
    let column_values = |name: &str, max: i64| -> Result<Vec<u8>> {
        let col = df
            .column(name)
            .map_err(|_| csv_err(path, format!("has no column `{name}`")))?;
        let ints = col
            .cast(&DataType::Int64)
            .map_err(|e| csv_err(path, format!("column `{name}` is not numeric: {e}")))?;
        let ints = ints.i64().map_err(|e| csv_err(path, e.to_string()))?;
        ints.iter()
            .enumerate()
            .map(|(row, v)| match v {
                Some(v) if (0..=max).contains(&v) => Ok(v as u8),
                Some(v) => Err(csv_err(
                    path,
                    format!("row {}: `{name}` = {v} is outside 0..={max}", row + 1),
                )),
                None => Err(csv_err(path, format!("row {}: `{name}` is empty", row + 1))),
            })
            .collect()
    };
    let labels = Array1::from(column_values("label", N_CLASSES as i64 - 1)?);
    let mut images = Array2::<u8>::zeros((n, IMAGE_PIXELS));
    for j in 0..IMAGE_PIXELS {
        let values = column_values(&format!("pixel{}", j + 1), 255)?;
        images
            .column_mut(j)
            .iter_mut()
            .zip(values)
            .for_each(|(dst, v)| *dst = v);
    }
    ImageSet::new(images, labels)
}

/// Writes `fashion-mnist_train.csv` and `fashion-mnist_test.csv` into `dir` unless both are there;
/// returns their paths.
pub fn write_kaggle_csv_files(
    data: &FashionMnist,
    dir: impl AsRef<Path>,
) -> Result<(PathBuf, PathBuf)> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let (train, test) = (dir.join(KAGGLE_TRAIN), dir.join(KAGGLE_TEST));
    for (set, path) in [(&data.train, &train), (&data.test, &test)] {
        if !path.is_file() {
            // Write beside and rename, so an interrupted run never leaves a half file behind.
            let partial = path.with_extension("csv.partial");
            write_csv(set, &partial)?;
            std::fs::rename(&partial, path).map_err(|e| Error::io(path, e))?;
        }
    }
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_values() {
        let dir = std::env::temp_dir().join(format!("fashion-lab-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let images = Array2::from_shape_fn((3, IMAGE_PIXELS), |(i, j)| ((i * 7 + j) % 256) as u8);
        let set = ImageSet::new(images, Array1::from(vec![0u8, 9, 4])).expect("valid set");
        let path = dir.join("tiny.csv");
        write_csv(&set, &path).expect("write");
        assert_eq!(read_csv(&path).expect("read"), set);

        let text = std::fs::read_to_string(&path).expect("read text");
        std::fs::write(&path, text.replacen("\n9,", "\n12,", 1)).expect("write");
        let err = read_csv(&path).expect_err("label 12 must be rejected");
        assert!(err.to_string().contains("label` = 12"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}

//! The IDX format of Fashion-MNIST (big-endian header, then raw u8), optionally gzip-compressed.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

use flate2::read::GzDecoder;
use ndarray::{Array1, Array2};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// Reads a whole file, decompressing it when its name ends in `.gz`.
///
/// A gzip stream that ends early is reported as [`Error::Truncated`]; how many bytes were
/// expected is filled in by the caller once the header is known (0 here).
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    if path.extension().is_some_and(|ext| ext == "gz") {
        let mut decoder = GzDecoder::new(file);
        if let Err(e) = decoder.read_to_end(&mut bytes) {
            return Err(match e.kind() {
                ErrorKind::UnexpectedEof => Error::Truncated {
                    path: path.to_path_buf(),
                    expected: expected_len_from_header(&bytes).unwrap_or(0),
                    found: bytes.len(),
                },
                _ => Error::CorruptGzip {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                },
            });
        }
    } else {
        let mut file = file;
        file.read_to_end(&mut bytes)
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(bytes)
}

/// SHA-256 of a byte buffer as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Total length an IDX buffer should have, read off its header (if the header is there).
fn expected_len_from_header(bytes: &[u8]) -> Option<usize> {
    match be_u32(bytes, 0)? {
        IMAGES_MAGIC => {
            let n = be_u32(bytes, 4)? as usize;
            let rows = be_u32(bytes, 8)? as usize;
            let cols = be_u32(bytes, 12)? as usize;
            Some(16 + n * rows * cols)
        }
        LABELS_MAGIC => Some(8 + be_u32(bytes, 4)? as usize),
        _ => None,
    }
}

/// Parses an IDX3 image buffer into an `n × (rows·cols)` array.
pub fn parse_images(bytes: &[u8], path: &Path) -> Result<(Array2<u8>, usize, usize)> {
    let bad = |detail: String| Error::BadIdx {
        path: path.to_path_buf(),
        kind: "image",
        detail,
    };
    if let Some(magic) = be_u32(bytes, 0).filter(|&m| m != IMAGES_MAGIC) {
        return Err(bad(format!(
            "magic number {magic:#010x}, expected {IMAGES_MAGIC:#010x}"
        )));
    }
    if bytes.len() < 16 {
        return Err(Error::Truncated {
            path: path.to_path_buf(),
            expected: 16,
            found: bytes.len(),
        });
    }
    let n = be_u32(bytes, 4).unwrap_or_default() as usize;
    let rows = be_u32(bytes, 8).unwrap_or_default() as usize;
    let cols = be_u32(bytes, 12).unwrap_or_default() as usize;
    if rows != 28 || cols != 28 {
        return Err(bad(format!("images are {rows}×{cols}, expected 28×28")));
    }
    let expected = 16 + n * rows * cols;
    if bytes.len() < expected {
        return Err(Error::Truncated {
            path: path.to_path_buf(),
            expected,
            found: bytes.len(),
        });
    }
    if bytes.len() > expected {
        return Err(bad(format!(
            "{} bytes of trailing data after {n} images",
            bytes.len() - expected
        )));
    }
    let pixels = Array2::from_shape_vec((n, rows * cols), bytes[16..].to_vec())
        .map_err(|e| bad(e.to_string()))?;
    Ok((pixels, rows, cols))
}

/// Parses an IDX1 label buffer, checking every label is a class index 0..=9.
pub fn parse_labels(bytes: &[u8], path: &Path) -> Result<Array1<u8>> {
    if let Some(magic) = be_u32(bytes, 0).filter(|&m| m != LABELS_MAGIC) {
        return Err(Error::BadIdx {
            path: path.to_path_buf(),
            kind: "label",
            detail: format!("magic number {magic:#010x}, expected {LABELS_MAGIC:#010x}"),
        });
    }
    if bytes.len() < 8 {
        return Err(Error::Truncated {
            path: path.to_path_buf(),
            expected: 8,
            found: bytes.len(),
        });
    }
    let n = be_u32(bytes, 4).unwrap_or_default() as usize;
    let expected = 8 + n;
    if bytes.len() < expected {
        return Err(Error::Truncated {
            path: path.to_path_buf(),
            expected,
            found: bytes.len(),
        });
    }
    if bytes.len() > expected {
        return Err(Error::BadIdx {
            path: path.to_path_buf(),
            kind: "label",
            detail: format!(
                "{} bytes of trailing data after {n} labels",
                bytes.len() - expected
            ),
        });
    }
    let labels = &bytes[8..];
    if let Some((index, &label)) = labels.iter().enumerate().find(|(_, &l)| l > 9) {
        return Err(Error::LabelOutOfRange {
            path: path.to_path_buf(),
            index,
            label,
        });
    }
    Ok(Array1::from(labels.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(magic: u32, dims: &[u32]) -> Vec<u8> {
        let mut v = magic.to_be_bytes().to_vec();
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    #[test]
    fn parses_tiny_image_file_and_rejects_short_one() {
        let mut bytes = header(IMAGES_MAGIC, &[2, 28, 28]);
        bytes.extend(std::iter::repeat_n(7u8, 2 * 784));
        let (px, r, c) = parse_images(&bytes, Path::new("x")).expect("valid file");
        assert_eq!((px.nrows(), px.ncols(), r, c), (2, 784, 28, 28));
        bytes.pop();
        assert!(matches!(
            parse_images(&bytes, Path::new("x")),
            Err(Error::Truncated {
                expected: 1584,
                found: 1583,
                ..
            })
        ));
    }

    #[test]
    fn rejects_wrong_magic_and_bad_labels() {
        let mut bytes = header(LABELS_MAGIC, &[3]);
        bytes.extend([1u8, 9, 10]);
        assert!(matches!(
            parse_labels(&bytes, Path::new("y")),
            Err(Error::LabelOutOfRange {
                index: 2,
                label: 10,
                ..
            })
        ));
        assert!(matches!(
            parse_images(&bytes, Path::new("y")),
            Err(Error::BadIdx { kind: "image", .. })
        ));
    }
}

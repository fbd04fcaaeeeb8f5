//! The IDX format of Fashion-MNIST (big-endian header, then raw u8), optionally gzip-compressed.

use std::io::{ErrorKind, Read};
use std::path::Path;

use flate2::read::GzDecoder;
use ndarray::{Array1, Array2};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// The two bytes every gzip file starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Reads a whole file, decompressing it when its name ends in `.gz` (see [`gunzip`]).
///
/// An empty file is reported as [`Error::EmptyFile`], whatever its name.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if path.extension().is_some_and(|ext| ext == "gz") {
        gunzip(&bytes, path)
    } else if bytes.is_empty() {
        Err(Error::EmptyFile {
            path: path.to_path_buf(),
        })
    } else {
        Ok(bytes)
    }
}

/// Decompresses the bytes of a gzip file; `path` only names it in errors.
///
/// No bytes → [`Error::EmptyFile`]; bytes that do not start with the gzip magic 1f 8b →
/// [`Error::CorruptGzip`]; a stream that ends inside its gzip header, or before the IDX header
/// of its data is complete → [`Error::TruncatedHeader`]; one that ends later →
/// [`Error::Truncated`], with the length the IDX header promises.
pub fn gunzip(compressed: &[u8], path: &Path) -> Result<Vec<u8>> {
    if compressed.is_empty() {
        return Err(Error::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    let start = &compressed[..compressed.len().min(GZIP_MAGIC.len())];
    if start != &GZIP_MAGIC[..start.len()] {
        return Err(not_gzip(compressed, path));
    }
    let mut decoder = GzDecoder::new(compressed);
    let mut bytes = Vec::new();
    match decoder.read_to_end(&mut bytes) {
        Ok(_) => Ok(bytes),
        Err(e) if e.kind() != ErrorKind::UnexpectedEof => Err(Error::CorruptGzip {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }),
        Err(_) if decoder.header().is_none() => Err(Error::TruncatedHeader {
            path: path.to_path_buf(),
            header: "gzip",
            found: compressed.len(),
        }),
        Err(_) => Err(match expected_len_from_header(&bytes) {
            Some(expected) if bytes.len() < expected => Error::Truncated {
                path: path.to_path_buf(),
                expected,
                found: bytes.len(),
            },
            Some(_) => Error::CorruptGzip {
                path: path.to_path_buf(),
                detail: "its data is complete but the gzip stream ends before its checksum".into(),
            },
            None if bytes.len() < idx_header_len(&bytes) => Error::TruncatedHeader {
                path: path.to_path_buf(),
                header: "IDX",
                found: bytes.len(),
            },
            None => Error::CorruptGzip {
                path: path.to_path_buf(),
                detail: format!(
                    "the gzip stream ends early, and its first {} bytes of data do not start with \
                     a Fashion-MNIST IDX header",
                    bytes.len()
                ),
            },
        }),
    }
}

/// The error for a `.gz` file that does not start with the gzip magic.
fn not_gzip(bytes: &[u8], path: &Path) -> Error {
    let first: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let hint = if is_idx_magic(bytes) {
        "; it looks like an uncompressed IDX file: removing `.gz` from its name would do"
    } else if bytes
        .iter()
        .take(64)
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        "; it looks like text (an error page saved in its place?)"
    } else {
        ""
    };
    Error::CorruptGzip {
        path: path.to_path_buf(),
        detail: format!(
            "it starts with the bytes {}, not the gzip magic 1f 8b, so it is not a gzip file{hint}",
            first.join(" ")
        ),
    }
}

fn is_idx_magic(bytes: &[u8]) -> bool {
    matches!(be_u32(bytes, 0), Some(IMAGES_MAGIC | LABELS_MAGIC))
}

/// Bytes of IDX header needed before its length can be read (0 once the magic is unknown).
fn idx_header_len(bytes: &[u8]) -> usize {
    match be_u32(bytes, 0) {
        None => 4,
        Some(IMAGES_MAGIC) => 16,
        Some(LABELS_MAGIC) => 8,
        Some(_) => 0,
    }
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

/// Total length an IDX buffer should have, read off its header (if the header is there and its
/// sizes do not overflow).
fn expected_len_from_header(bytes: &[u8]) -> Option<usize> {
    match be_u32(bytes, 0)? {
        IMAGES_MAGIC => {
            let n = be_u32(bytes, 4)? as usize;
            let rows = be_u32(bytes, 8)? as usize;
            let cols = be_u32(bytes, 12)? as usize;
            // A damaged header can claim any sizes: no length when they overflow.
            n.checked_mul(rows)?.checked_mul(cols)?.checked_add(16)
        }
        LABELS_MAGIC => (be_u32(bytes, 4)? as usize).checked_add(8),
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
    // 4 billion images claimed fit in a 64-bit usize; saturate on narrower targets.
    let expected = n.saturating_mul(rows * cols).saturating_add(16);
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
    let expected = n.saturating_add(8);
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

//! Images inside SVG figures: a small grayscale PNG encoder (flate2 is already a dependency) so a
//! grid of 28×28 images is a few kilobytes instead of thousands of SVG rectangles.

use std::fmt::Write as _;

use flate2::write::ZlibEncoder;
use flate2::{Compression, Crc};
use ndarray::Array2;
use std::io::Write as _;

use super::{escape, Figure};
use crate::error::{Error, Result};

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// Encodes a grayscale image (rows × cols, 0 = black) as PNG bytes.
pub fn encode_png_gray(pixels: &Array2<u8>) -> Result<Vec<u8>> {
    let (h, w) = pixels.dim();
    if h == 0 || w == 0 {
        return Err(Error::invalid("cannot encode an empty image"));
    }
    let mut raw = Vec::with_capacity(h * (w + 1));
    for row in pixels.rows() {
        raw.push(0); // filter type: none
        raw.extend(row.iter());
    }
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    z.write_all(&raw)
        .and_then(|_| z.finish())
        .map_err(|e| Error::Plot(format!("PNG compression failed: {e}")))
        .map(|idat| {
            let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
            let mut ihdr = Vec::with_capacity(13);
            ihdr.extend_from_slice(&(w as u32).to_be_bytes());
            ihdr.extend_from_slice(&(h as u32).to_be_bytes());
            ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit grayscale
            png_chunk(&mut out, b"IHDR", &ihdr);
            png_chunk(&mut out, b"IDAT", &idat);
            png_chunk(&mut out, b"IEND", &[]);
            out
        })
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                s.push(ABC[((n >> shift) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// A grid of grayscale images with a caption under each, `cols` per row, each drawn at `scale`×.
/// Dark pixels are drawn dark (as matplotlib's `gray` colour map).
pub fn image_grid(
    title: &str,
    images: &[Array2<u8>],
    captions: &[String],
    cols: usize,
    scale: usize,
) -> Result<Figure> {
    if images.is_empty() || cols == 0 || scale == 0 {
        return Err(Error::invalid(
            "an image grid needs at least one image, cols ≥ 1 and scale ≥ 1",
        ));
    }
    if captions.len() != images.len() {
        return Err(Error::shape(
            "captions for the images",
            images.len(),
            captions.len(),
            "Give one caption per image",
        ));
    }
    let (cell_w, cell_h) = images.iter().fold((0, 0), |(w, h), im| {
        (w.max(im.ncols() * scale), h.max(im.nrows() * scale))
    });
    let (pad, caption_h, title_h) = (12, 18, 30);
    // Wide enough for the longest caption too (about 6.5 px a character at 12 px sans-serif).
    let caption_w = captions
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0)
        * 13
        / 2;
    let slot_w = (cell_w + pad).max(110).max(caption_w + pad);
    let rows = images.len().div_ceil(cols);
    let width = cols * slot_w + pad;
    let height = title_h + rows * (cell_h + caption_h + pad) + pad;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
    );
    let _ = write!(
        svg,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{}" y="20" font-family="sans-serif" font-size="16" text-anchor="middle">{}</text>"#,
        width / 2,
        escape(title)
    );
    for (i, (im, caption)) in images.iter().zip(captions).enumerate() {
        let (r, c) = (i / cols, i % cols);
        let x = pad + c * slot_w + (slot_w - pad - im.ncols() * scale) / 2;
        let y = title_h + r * (cell_h + caption_h + pad);
        let png = base64(&encode_png_gray(im)?);
        let _ = write!(
            svg,
            r#"<image x="{x}" y="{y}" width="{}" height="{}" style="image-rendering:pixelated" href="data:image/png;base64,{png}"/>"#,
            im.ncols() * scale,
            im.nrows() * scale
        );
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" font-family="sans-serif" font-size="12" text-anchor="middle">{}</text>"#,
            pad + c * slot_w + (slot_w - pad) / 2,
            y + cell_h + 14,
            escape(caption)
        );
    }
    svg.push_str("</svg>");
    Ok(Figure::from_svg(svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn png_round_trips_through_flate() {
        let im = Array2::from_shape_fn((3, 2), |(r, c)| (r * 2 + c) as u8 * 40);
        let png = encode_png_gray(&im).expect("encode");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IDAT payload decompresses to filter byte + row, for each row.
        let idat_len = u32::from_be_bytes([png[33], png[34], png[35], png[36]]) as usize;
        let mut raw = Vec::new();
        use std::io::Read;
        flate2::read::ZlibDecoder::new(&png[41..41 + idat_len])
            .read_to_end(&mut raw)
            .expect("valid zlib");
        assert_eq!(raw, vec![0, 0, 40, 0, 80, 120, 0, 160, 200]);
    }
}

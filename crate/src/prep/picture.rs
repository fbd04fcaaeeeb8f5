//! A user's own picture turned into a Fashion-MNIST-like image, by the dataset's own conversion
//! steps: grayscale, trim to the object, pad to a square, resize to 28×28, and make it light on a
//! dark background (the dataset negates its product photos, which are dark on white).

use std::io::Cursor;
use std::path::Path;

use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, ImageError, ImageFormat, ImageReader, Limits, Luma};

use crate::error::{Error, PictureProblem, Result};

/// Side of a Fashion-MNIST image.
pub const SIDE: u32 = 28;

/// How far from the background a pixel must be to count as part of the object.
const OBJECT_THRESHOLD: u8 = 24;

/// The most memory a decoded picture may take (a 64-megapixel RGBA photo); a larger one, or a
/// small file claiming huge dimensions, is refused instead of decoded.
pub const MAX_DECODED_BYTES: u64 = 256 * 1024 * 1024;

/// A picture error of kind `problem`, its reason ending with what to give instead.
pub fn picture_error(path: &Path, problem: PictureProblem, why: impl std::fmt::Display) -> Error {
    Error::Picture {
        path: path.to_path_buf(),
        problem,
        reason: format!("{why}. Give a PNG or JPEG file of one clothing item"),
    }
}

/// Decodes the bytes of a PNG or JPEG file; `name` only names it in errors. Refuses an empty
/// file, another format, a damaged or truncated file and one over [`MAX_DECODED_BYTES`], each
/// with its [`PictureProblem`].
pub fn decode_picture(bytes: &[u8], name: &Path) -> Result<DynamicImage> {
    if bytes.is_empty() {
        return Err(picture_error(
            name,
            PictureProblem::Empty,
            "the file is empty (0 bytes)",
        ));
    }
    let format = match image::guess_format(bytes) {
        Ok(format @ (ImageFormat::Png | ImageFormat::Jpeg)) => format,
        Ok(other) => {
            return Err(picture_error(
                name,
                PictureProblem::NotAnImage,
                format!(
                    "it is a {} picture; this reads PNG and JPEG only (convert it first)",
                    other
                        .extensions_str()
                        .first()
                        .unwrap_or(&"other")
                        .to_uppercase()
                ),
            ))
        }
        Err(_) => {
            return Err(picture_error(
                name,
                PictureProblem::NotAnImage,
                "it is not a PNG or JPEG picture (it does not start as one)",
            ))
        }
    };
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let kind = if format == ImageFormat::Png {
        "PNG"
    } else {
        "JPEG"
    };
    reader.decode().map_err(|e| match e {
        ImageError::Limits(limit) => picture_error(
            name,
            PictureProblem::TooLarge,
            format!(
                "it is too large to decode ({limit}; at most {} MB of pixels): resize it to a \
                 few thousand pixels a side",
                MAX_DECODED_BYTES / (1024 * 1024)
            ),
        ),
        other => picture_error(
            name,
            PictureProblem::Damaged,
            format!("it starts as a {kind} file but does not decode ({other}): it is truncated or damaged"),
        ),
    })
}

/// Reads a PNG or JPEG file and converts it as Fashion-MNIST was made: 784 pixels, row by row,
/// 0 = background, 255 = brightest part of the item.
pub fn load_as_fashion_mnist(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    bytes_as_fashion_mnist(&bytes, path)
}

/// [`load_as_fashion_mnist`] on a file's bytes already in memory (an upload); `name` only names
/// it in errors. The one conversion every path (notebook, CLI, server) goes through.
pub fn bytes_as_fashion_mnist(bytes: &[u8], name: impl AsRef<Path>) -> Result<Vec<u8>> {
    let name = name.as_ref();
    let decoded = decode_picture(bytes, name)?;
    to_fashion_mnist(&decoded.to_luma8()).map_err(|e| match e {
        Error::InvalidInput(why) => picture_error(name, PictureProblem::NoObject, why),
        other => other,
    })
}

/// The conversion of [`load_as_fashion_mnist`] on an already decoded grayscale image.
pub fn to_fashion_mnist(gray: &GrayImage) -> Result<Vec<u8>> {
    let (w, h) = gray.dimensions();
    if w == 0 || h == 0 {
        return Err(Error::invalid("the image is empty"));
    }
    // The background is what the border mostly is; a light one is negated (dark on light →
    // light on dark, as the dataset).
    let mut border: Vec<u8> = Vec::with_capacity(2 * (w + h) as usize);
    for x in 0..w {
        border.push(gray.get_pixel(x, 0)[0]);
        border.push(gray.get_pixel(x, h - 1)[0]);
    }
    for y in 0..h {
        border.push(gray.get_pixel(0, y)[0]);
        border.push(gray.get_pixel(w - 1, y)[0]);
    }
    border.sort_unstable();
    let background = border[border.len() / 2];
    let invert = background > 127;
    let mut img = gray.clone();
    if invert {
        imageops::invert(&mut img);
    }
    let background = if invert { 255 - background } else { background };

    // Trim to the bounding box of the object.
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for (x, y, p) in img.enumerate_pixels() {
        if p[0].saturating_sub(background) > OBJECT_THRESHOLD {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    if x0 > x1 {
        return Err(Error::invalid(
            "no object stands out from the background (the picture is one flat shade)",
        ));
    }
    let (cw, ch) = (x1 - x0 + 1, y1 - y0 + 1);
    let cropped = imageops::crop_imm(&img, x0, y0, cw, ch).to_image();

    // Pad to a square on the background, the object centred.
    let side = cw.max(ch);
    let mut square = GrayImage::from_pixel(side, side, Luma([background]));
    imageops::overlay(
        &mut square,
        &cropped,
        i64::from((side - cw) / 2),
        i64::from((side - ch) / 2),
    );
    let small = imageops::resize(&square, SIDE, SIDE, FilterType::Triangle);
    // Background to 0, the object stretched to the full range, as the dataset's images are.
    let max = small.pixels().map(|p| p[0]).max().unwrap_or(255);
    let span = f32::from(max.saturating_sub(background).max(1));
    Ok(small
        .pixels()
        .map(|p| {
            let v = f32::from(p[0].saturating_sub(background)) / span * 255.0;
            v.round().clamp(0.0, 255.0) as u8
        })
        .collect())
}

/// Writes 28×28 pixels as a picture a user might take: upscaled to `side`×`side`, dark on
/// light (the dataset negated back), the item placed off-centre by `offset` pixels on a larger
/// canvas. Used for the example pictures and the round-trip test.
pub fn fashion_mnist_to_picture(
    pixels: &[u8],
    side: u32,
    offset: (u32, u32),
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    if pixels.len() != (SIDE * SIDE) as usize || side == 0 {
        return Err(Error::invalid(format!(
            "need 784 pixels and a side of at least 1, got {} pixels and side {side}",
            pixels.len()
        )));
    }
    let small = GrayImage::from_fn(SIDE, SIDE, |x, y| {
        Luma([255 - pixels[(y * SIDE + x) as usize]])
    });
    let big = imageops::resize(&small, side, side, FilterType::CatmullRom);
    let mut canvas = GrayImage::from_pixel(side + offset.0, side + offset.1, Luma([255]));
    imageops::overlay(&mut canvas, &big, i64::from(offset.0), i64::from(offset.1));
    crate::error::create_parent_dir(path)?;
    canvas.save(path).map_err(|e| Error::Picture {
        path: path.to_path_buf(),
        problem: PictureProblem::Unwritable,
        reason: format!("cannot write it: {e}"),
    })
}

/// Reads a PNG or JPEG file as it is, in grayscale (rows × columns), e.g. to show a user's picture
/// beside the 28×28 image [`load_as_fashion_mnist`] makes of it.
pub fn load_gray(path: impl AsRef<Path>) -> Result<ndarray::Array2<u8>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    bytes_as_gray(&bytes, path)
}

/// [`load_gray`] on a picture's bytes already in memory; `name` only names it in errors.
pub fn bytes_as_gray(bytes: &[u8], name: impl AsRef<Path>) -> Result<ndarray::Array2<u8>> {
    let name = name.as_ref();
    let gray = decode_picture(bytes, name)?.to_luma8();
    let (w, h) = gray.dimensions();
    ndarray::Array2::from_shape_vec((h as usize, w as usize), gray.into_raw())
        .map_err(|e| picture_error(name, PictureProblem::Damaged, e))
}

//! On-the-fly image augmentation, as Keras' `ImageDataGenerator(rotation_range, zoom_range,
//! width_shift_range, height_shift_range)`: each image of each batch gets its own random
//! rotation, zoom and shift, resampled bilinearly with edge pixels repeated outside the image
//! (`fill_mode="nearest"`). Seeded: the same seed gives the same augmented batches.

use ndarray::Array2;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use linfa::ParamGuard;

/// Ranges of the random transformations (all zero: no augmentation).
#[derive(Clone, Copy, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Augmentation {
    /// Rotation drawn from ±this many degrees.
    pub rotation_degrees: f32,
    /// Zoom factors (each axis on its own, as Keras) drawn from 1 ± this.
    pub zoom: f32,
    /// Horizontal shift drawn from ± this fraction of the width.
    pub width_shift: f32,
    /// Vertical shift drawn from ± this fraction of the height.
    pub height_shift: f32,
}

impl Augmentation {
    /// No transformation; add some with the setters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Report 001's generator: rotation ±8°, zoom ±8 %, shifts ±8 %.
    pub fn report_001() -> Self {
        Self::new().rotation(8.0).zoom(0.08).shift(0.08, 0.08)
    }

    pub fn rotation(mut self, degrees: f32) -> Self {
        self.rotation_degrees = degrees;
        self
    }

    pub fn zoom(mut self, range: f32) -> Self {
        self.zoom = range;
        self
    }

    pub fn shift(mut self, width: f32, height: f32) -> Self {
        self.width_shift = width;
        self.height_shift = height;
        self
    }

    fn rules(&self) -> Result<()> {
        let ok = |v: f32, max: f32| v.is_finite() && (0.0..max).contains(&v);
        if !ok(self.rotation_degrees, 180.01) {
            return Err(Error::param(
                "rotation",
                format!(
                    "augmentation rotation must be between 0 and 180 degrees, got {}",
                    self.rotation_degrees
                ),
            ));
        }
        if !ok(self.zoom, 1.0) {
            return Err(Error::param(
                "zoom",
                format!(
                    "augmentation zoom is a fraction in [0, 1), got {}",
                    self.zoom
                ),
            ));
        }
        if !ok(self.width_shift, 1.0) || !ok(self.height_shift, 1.0) {
            return Err(Error::param(
                "shift",
                format!(
                    "augmentation shifts are fractions in [0, 1), got {} and {}",
                    self.width_shift, self.height_shift
                ),
            ));
        }
        Ok(())
    }

    /// One random transformation of one `h × w × c` image (NHWC values) into `out`.
    pub fn transform_image(
        &self,
        image: &[f32],
        out: &mut [f32],
        (h, w, c): (usize, usize, usize),
        rng: &mut ChaCha8Rng,
    ) {
        let mut draw = |range: f32| {
            if range > 0.0 {
                rng.gen_range(-range..=range)
            } else {
                0.0
            }
        };
        let theta = draw(self.rotation_degrees).to_radians();
        let shift_rows = draw(self.height_shift) * h as f32;
        let shift_cols = draw(self.width_shift) * w as f32;
        let (zoom_rows, zoom_cols) = (1.0 + draw(self.zoom), 1.0 + draw(self.zoom));
        let (sin, cos) = theta.sin_cos();
        // Keras: input = centre + R · (Z · (output − centre) + shift), in (row, column).
        let (cr, cc) = (h as f32 / 2.0 - 0.5, w as f32 / 2.0 - 0.5);
        let last = |n: usize| (n - 1) as f32;
        for r in 0..h {
            for col in 0..w {
                let zr = zoom_rows * (r as f32 - cr) + shift_rows;
                let zc = zoom_cols * (col as f32 - cc) + shift_cols;
                let sr = (cr + cos * zr - sin * zc).clamp(0.0, last(h));
                let sc = (cc + sin * zr + cos * zc).clamp(0.0, last(w));
                let (r0, c0) = (sr.floor() as usize, sc.floor() as usize);
                let (r1, c1) = ((r0 + 1).min(h - 1), (c0 + 1).min(w - 1));
                let (fr, fc) = (sr - r0 as f32, sc - c0 as f32);
                for ch in 0..c {
                    let at = |rr: usize, cc: usize| image[(rr * w + cc) * c + ch];
                    let top = at(r0, c0) * (1.0 - fc) + at(r0, c1) * fc;
                    let bottom = at(r1, c0) * (1.0 - fc) + at(r1, c1) * fc;
                    out[(r * w + col) * c + ch] = top * (1.0 - fr) + bottom * fr;
                }
            }
        }
    }

    /// Every row of `x` (images of `shape` = height × width × channels) transformed.
    pub fn apply(
        &self,
        x: &Array2<f32>,
        shape: (usize, usize, usize),
        rng: &mut ChaCha8Rng,
    ) -> Result<Array2<f32>> {
        self.check_ref()?;
        let (h, w, c) = shape;
        if h == 0 || w == 0 || x.ncols() != h * w * c {
            return Err(Error::shape(
                format!("values per row for augmenting {h}×{w}×{c} images"),
                h * w * c,
                x.ncols(),
                "Augment image rows (height × width × channels)",
            ));
        }
        let mut out = Array2::<f32>::zeros(x.raw_dim());
        for (src, mut dst) in x.rows().into_iter().zip(out.rows_mut()) {
            let src = src.to_vec();
            let dst = dst.as_slice_mut().expect("fresh rows are contiguous");
            self.transform_image(&src, dst, shape, rng);
        }
        Ok(out)
    }
}

crate::param_guard!(Augmentation);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::rng;

    #[test]
    fn no_augmentation_is_the_identity_and_shifts_move_pixels() {
        let img = Array2::from_shape_fn((2, 25), |(i, j)| (i * 25 + j) as f32);
        let same = Augmentation::new()
            .apply(&img, (5, 5, 1), &mut rng(0))
            .expect("apply");
        assert_eq!(same, img);
        let moved = Augmentation::new()
            .shift(0.2, 0.0)
            .apply(&img, (5, 5, 1), &mut rng(1))
            .expect("apply");
        assert_ne!(moved, img);
        let again = Augmentation::new()
            .shift(0.2, 0.0)
            .apply(&img, (5, 5, 1), &mut rng(1))
            .expect("apply");
        assert_eq!(moved, again, "same seed, same augmentation");
        assert!(linfa::ParamGuard::check(Augmentation::new().zoom(1.5)).is_err());
        assert!(Augmentation::new()
            .apply(&img, (4, 4, 1), &mut rng(0))
            .is_err());
    }
}

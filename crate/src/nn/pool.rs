//! Pooling on NHWC rows: max and average over windows, and global average pooling.

use ndarray::{Array2, Zip};

use super::conv::Geometry;
use super::layer::Layer;
use super::simd::with_avx2;

/// Keras `MaxPooling2D` / `AveragePooling2D` (windows that do not fit are dropped, as
/// `padding="valid"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Average,
}

#[derive(Clone, Debug)]
pub struct Pool2d {
    pub kind: PoolKind,
    pub geometry: Geometry,
    /// Set by the model builder when the input is a ReLU convolution's output
    /// (`Conv2d::relu_by_pool`): backward then also applies ReLU's derivative, giving no
    /// gradient to a window whose maximum is 0 (ReLU's derivative there is 0), so that the
    /// convolution need not keep its pre-activations.
    pub after_relu: bool,
    /// Max pooling's input of the last training batch, for backward.
    saved: Option<Array2<f32>>,
}

impl Pool2d {
    pub fn new(kind: PoolKind, geometry: Geometry) -> Self {
        Self {
            kind,
            geometry,
            after_relu: false,
            saved: None,
        }
    }

    fn pool(&self, x: &Array2<f32>) -> Array2<f32> {
        let g = self.geometry;
        let mut out = Array2::<f32>::zeros((x.nrows(), g.out_pixels() * g.c));
        let kind = self.kind;
        Zip::from(out.rows_mut())
            .and(x.rows())
            .par_for_each(|mut o, image| {
                let image = image.as_slice().expect("contiguous row");
                let o = o.as_slice_mut().expect("contiguous row");
                with_avx2(
                    #[inline(always)]
                    || pool_image(&g, kind, image, o),
                )
            });
        out
    }
}

/// One image's pooling. Channels are contiguous in NHWC, so each window position updates all
/// channels at once.
#[inline(always)]
fn pool_image(g: &Geometry, kind: PoolKind, image: &[f32], out: &mut [f32]) {
    let c = g.c;
    let scale = 1.0 / (g.k * g.k) as f32;
    for oh in 0..g.out_h {
        for ow in 0..g.out_w {
            let base = (oh * g.out_w + ow) * c;
            let o = &mut out[base..base + c];
            let first = (oh * g.stride * g.w + ow * g.stride) * c;
            o.copy_from_slice(&image[first..first + c]);
            for kh in 0..g.k {
                for kw in 0..g.k {
                    if kh + kw == 0 {
                        continue;
                    }
                    let at = ((oh * g.stride + kh) * g.w + ow * g.stride + kw) * c;
                    let pixel = &image[at..at + c];
                    match kind {
                        PoolKind::Max => o.iter_mut().zip(pixel).for_each(|(o, &v)| *o = o.max(v)),
                        PoolKind::Average => o.iter_mut().zip(pixel).for_each(|(o, &v)| *o += v),
                    }
                }
            }
            if kind == PoolKind::Average {
                o.iter_mut().for_each(|v| *v *= scale);
            }
        }
    }
}

/// Max pooling's backward for one image, the windows' maxima found again in `image`: each
/// output's gradient goes to the first input of its window that holds the maximum (the forward
/// pass keeps the first of equal values too). `IN_PLACE` (windows that do not overlap): the
/// gradient is written over `image` itself, and pixels outside every window get 0; else it is
/// added onto `dx`. `AFTER_RELU`: a window whose maximum is not above 0 passes no gradient.
/// Channel by channel and branch-free, so that it vectorises.
#[inline(always)]
fn unpool_max<const IN_PLACE: bool, const AFTER_RELU: bool>(
    g: &Geometry,
    image: &mut [f32],
    grad: &[f32],
    dx: &mut [f32],
) {
    let c = g.c;
    let (mut max, mut done) = (vec![0.0f32; c], vec![0.0f32; c]);
    let at = |oh: usize, ow: usize, kh: usize, kw: usize| {
        ((oh * g.stride + kh) * g.w + ow * g.stride + kw) * c
    };
    for oh in 0..g.out_h {
        for ow in 0..g.out_w {
            max.copy_from_slice(&image[at(oh, ow, 0, 0)..at(oh, ow, 0, 0) + c]);
            for kh in 0..g.k {
                for kw in 0..g.k {
                    let pixel = &image[at(oh, ow, kh, kw)..at(oh, ow, kh, kw) + c];
                    max.iter_mut().zip(pixel).for_each(|(m, &v)| *m = m.max(v));
                }
            }
            let gr = &grad[(oh * g.out_w + ow) * c..(oh * g.out_w + ow + 1) * c];
            done.fill(0.0);
            for kh in 0..g.k {
                for kw in 0..g.k {
                    let at = at(oh, ow, kh, kw);
                    let pixels = image[at..at + c].iter_mut().zip(max.iter().zip(gr));
                    if IN_PLACE {
                        for ((v, (&m, &gv)), done) in pixels.zip(done.iter_mut()) {
                            let hit = (*v == m) & (*done == 0.0) & (!AFTER_RELU | (m > 0.0));
                            *v = if hit { gv } else { 0.0 };
                            *done += if hit { 1.0 } else { 0.0 };
                        }
                    } else {
                        for (((v, (&m, &gv)), done), d) in
                            pixels.zip(done.iter_mut()).zip(&mut dx[at..at + c])
                        {
                            let hit = (*v == m) & (*done == 0.0) & (!AFTER_RELU | (m > 0.0));
                            *d += if hit { gv } else { 0.0 };
                            *done += if hit { 1.0 } else { 0.0 };
                        }
                    }
                }
            }
        }
    }
    if IN_PLACE {
        zero_outside_windows(g, image);
    }
}

/// Zeroes the pixels no window covers (the last rows and columns when the size is not a
/// multiple of the stride), for a gradient written in place.
fn zero_outside_windows(g: &Geometry, image: &mut [f32]) {
    let c = g.c;
    let (covered_h, covered_w) = (g.out_h * g.stride, g.out_w * g.stride);
    for ih in 0..g.h {
        if ih >= covered_h {
            image[ih * g.w * c..(ih + 1) * g.w * c].fill(0.0);
        } else if covered_w < g.w {
            image[(ih * g.w + covered_w) * c..(ih + 1) * g.w * c].fill(0.0);
        }
    }
}

/// Average pooling's backward for one image: each output's gradient, scaled, added onto every
/// pixel of its window, all channels of a pixel at once.
fn unpool_average(g: &Geometry, grad: &[f32], dx: &mut [f32]) {
    let (c, scale) = (g.c, 1.0 / (g.k * g.k) as f32);
    for oh in 0..g.out_h {
        for ow in 0..g.out_w {
            let gr = &grad[(oh * g.out_w + ow) * c..(oh * g.out_w + ow + 1) * c];
            for kh in 0..g.k {
                for kw in 0..g.k {
                    let at = ((oh * g.stride + kh) * g.w + ow * g.stride + kw) * c;
                    for (d, &v) in dx[at..at + c].iter_mut().zip(gr) {
                        *d += v * scale;
                    }
                }
            }
        }
    }
}

impl Layer for Pool2d {
    fn kind(&self) -> String {
        match self.kind {
            PoolKind::Max => "MaxPooling2D".into(),
            PoolKind::Average => "AveragePooling2D".into(),
        }
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![self.geometry.out_h, self.geometry.out_w, self.geometry.c]
    }

    fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        self.forward_owned(x.clone())
    }

    fn forward_owned(&mut self, x: Array2<f32>) -> Array2<f32> {
        let out = self.pool(&x);
        // Max pooling's backward finds each window's maximum again in the input: cheaper than
        // recording where it was, which kept the forward loop from vectorising, or keeping the
        // output, which is handed on.
        self.saved = (self.kind == PoolKind::Max).then_some(x);
        out
    }

    fn infer(&self, x: &Array2<f32>) -> Array2<f32> {
        self.pool(x)
    }

    fn backward(&mut self, grad: &Array2<f32>) -> Array2<f32> {
        let g = self.geometry;
        let zeros = || Array2::<f32>::zeros((grad.nrows(), g.input_len()));
        let after_relu = self.after_relu;
        match self.kind {
            PoolKind::Max => {
                let Some(mut x) = self.saved.take() else {
                    return zeros();
                };
                if g.stride == g.k {
                    // Windows do not overlap: the gradient overwrites the kept input, no new
                    // buffer (and no zeroing of one).
                    Zip::from(x.rows_mut())
                        .and(grad.rows())
                        .par_for_each(|mut image, gr| {
                            let image = image.as_slice_mut().expect("contiguous row");
                            let gr = gr.as_slice().expect("contiguous row");
                            // One closure per variant: each must inline into the AVX2 copy.
                            match after_relu {
                                true => with_avx2(
                                    #[inline(always)]
                                    || unpool_max::<true, true>(&g, image, gr, &mut []),
                                ),
                                false => with_avx2(
                                    #[inline(always)]
                                    || unpool_max::<true, false>(&g, image, gr, &mut []),
                                ),
                            }
                        });
                    return x;
                }
                let mut dx = zeros();
                Zip::from(dx.rows_mut())
                    .and(x.rows_mut())
                    .and(grad.rows())
                    .par_for_each(|mut d, mut image, gr| {
                        let image = image.as_slice_mut().expect("contiguous row");
                        let (gr, d) = (
                            gr.as_slice().expect("contiguous row"),
                            d.as_slice_mut().expect("contiguous row"),
                        );
                        match after_relu {
                            true => with_avx2(
                                #[inline(always)]
                                || unpool_max::<false, true>(&g, image, gr, d),
                            ),
                            false => with_avx2(
                                #[inline(always)]
                                || unpool_max::<false, false>(&g, image, gr, d),
                            ),
                        }
                    });
                dx
            }
            PoolKind::Average => {
                let mut dx = zeros();
                Zip::from(dx.rows_mut())
                    .and(grad.rows())
                    .par_for_each(|mut d, gr| {
                        unpool_average(
                            &g,
                            gr.as_slice().expect("contiguous row"),
                            d.as_slice_mut().expect("contiguous row"),
                        )
                    });
                dx
            }
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

/// Keras `GlobalAveragePooling2D`: the mean of each channel over all pixels.
#[derive(Clone, Debug)]
pub struct GlobalAvgPool {
    pub pixels: usize,
    pub channels: usize,
}

impl Layer for GlobalAvgPool {
    fn kind(&self) -> String {
        "GlobalAveragePooling2D".into()
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![self.channels]
    }

    fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        self.infer(x)
    }

    fn infer(&self, x: &Array2<f32>) -> Array2<f32> {
        let n = x.nrows();
        let scale = 1.0 / self.pixels as f32;
        let mut out = Array2::<f32>::zeros((n, self.channels));
        for (mut o, row) in out.rows_mut().into_iter().zip(x.rows()) {
            for (p, v) in row.iter().enumerate() {
                o[p % self.channels] += v;
            }
            o *= scale;
        }
        out
    }

    fn backward(&mut self, grad: &Array2<f32>) -> Array2<f32> {
        let scale = 1.0 / self.pixels as f32;
        let mut dx = Array2::<f32>::zeros((grad.nrows(), self.pixels * self.channels));
        for (mut d, gr) in dx.rows_mut().into_iter().zip(grad.rows()) {
            for (p, v) in d.iter_mut().enumerate() {
                *v = gr[p % self.channels] * scale;
            }
        }
        dx
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Max pooling's gradient as the definition reads: each output's gradient to the first
    /// input of its window (row by row, then column, per channel) that holds the maximum.
    fn naive_unpool_max(g: &Geometry, image: &[f32], grad: &[f32]) -> Vec<f32> {
        let mut dx = vec![0.0; image.len()];
        for oh in 0..g.out_h {
            for ow in 0..g.out_w {
                for ch in 0..g.c {
                    let mut best: Option<(usize, f32)> = None;
                    for kh in 0..g.k {
                        for kw in 0..g.k {
                            let at = ((oh * g.stride + kh) * g.w + ow * g.stride + kw) * g.c + ch;
                            if best.is_none_or(|(_, m)| image[at] > m) {
                                best = Some((at, image[at]));
                            }
                        }
                    }
                    if let Some((at, _)) = best {
                        dx[at] += grad[(oh * g.out_w + ow) * g.c + ch];
                    }
                }
            }
        }
        dx
    }

    #[test]
    fn max_pooling_gradient_goes_to_the_first_maximum_in_place_or_not() {
        // 7 × 7 leaves a row and a column outside every 2 × 2 window; values repeat, so windows
        // hold ties. Size 3 with stride 2 overlaps (the path that does not write in place).
        for (k, stride) in [(2, 2), (3, 2), (3, 3)] {
            let g = Geometry::new((7, 7, 3), k, stride, super::super::conv::Padding::Valid)
                .expect("geometry");
            let x =
                Array2::from_shape_fn((2, g.input_len()), |(i, j)| ((i * 5 + j * 7) % 6) as f32);
            let grad = Array2::from_shape_fn((2, g.out_pixels() * g.c), |(i, j)| {
                (i * 3 + j) as f32 * 0.25 - 2.0
            });
            let mut layer = Pool2d::new(PoolKind::Max, g);
            let out = layer.forward_owned(x.clone());
            assert_eq!(out, layer.infer(&x));
            // Twice, as two training steps, and once more by reference.
            for _ in 0..2 {
                layer.forward_owned(x.clone());
                let dx = layer.backward_owned(grad.clone());
                for b in 0..2 {
                    let want = naive_unpool_max(
                        &g,
                        x.row(b).as_slice().expect("row"),
                        grad.row(b).as_slice().expect("row"),
                    );
                    assert_eq!(dx.row(b).to_vec(), want, "size {k}, stride {stride}");
                }
            }
            layer.forward(&x);
            assert_eq!(layer.backward(&grad).dim(), x.dim());
        }
    }

    #[test]
    fn average_pooling_gradient_spreads_evenly_over_each_window() {
        let g =
            Geometry::new((5, 5, 2), 2, 2, super::super::conv::Padding::Valid).expect("geometry");
        let mut layer = Pool2d::new(PoolKind::Average, g);
        let x = Array2::from_elem((1, g.input_len()), 1.0);
        layer.forward(&x);
        let grad = Array2::from_shape_fn((1, g.out_pixels() * g.c), |(_, j)| j as f32);
        let dx = layer.backward(&grad);
        // pixel (1, 3), channel 1 is in window (0, 1); the last row and column in none.
        assert_eq!(dx[[0, (5 + 3) * 2 + 1]], grad[[0, 2 + 1]] / 4.0);
        assert!((0..5).all(|w| dx[[0, (4 * 5 + w) * 2]] == 0.0 && dx[[0, (w * 5 + 4) * 2]] == 0.0));
    }
}

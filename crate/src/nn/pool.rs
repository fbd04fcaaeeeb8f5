//! Pooling on NHWC rows: max and average over windows, and global average pooling.

use ndarray::{Array2, Zip};

use super::conv::Geometry;
use super::layer::Layer;

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
    /// Input and output of the last training batch: max pooling's backward finds each maximum
    /// again (cheaper than recording where it was, which kept the forward loop from vectorising).
    saved: Option<(Array2<f32>, Array2<f32>)>,
}

impl Pool2d {
    pub fn new(kind: PoolKind, geometry: Geometry) -> Self {
        Self {
            kind,
            geometry,
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
                pool_image_fast(
                    &g,
                    kind,
                    image.as_slice().expect("contiguous row"),
                    o.as_slice_mut().expect("contiguous row"),
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

/// [`pool_image`] compiled for AVX2 when the CPU has it (the crate is built for baseline
/// x86-64: evcxr sets its own compiler flags).
fn pool_image_fast(g: &Geometry, kind: PoolKind, image: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        fn pool_image_avx2(g: &Geometry, kind: PoolKind, image: &[f32], out: &mut [f32]) {
            pool_image(g, kind, image, out)
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports the features just checked.
            return unsafe { pool_image_avx2(g, kind, image, out) };
        }
    }
    pool_image(g, kind, image, out)
}

/// Max pooling's backward for one image: channel by channel, branch-free so that it vectorises.
#[inline(always)]
fn unpool_max(g: &Geometry, image: &[f32], out: &[f32], grad: &[f32], dx: &mut [f32]) {
    let c = g.c;
    let mut done = vec![0.0f32; c];
    for oh in 0..g.out_h {
        for ow in 0..g.out_w {
            let base = (oh * g.out_w + ow) * c;
            let (o, gr) = (&out[base..base + c], &grad[base..base + c]);
            done.fill(0.0);
            for kh in 0..g.k {
                for kw in 0..g.k {
                    let at = ((oh * g.stride + kh) * g.w + ow * g.stride + kw) * c;
                    let (pixel, d) = (&image[at..at + c], &mut dx[at..at + c]);
                    for ((((d, &v), &m), &gv), done) in
                        d.iter_mut().zip(pixel).zip(o).zip(gr).zip(done.iter_mut())
                    {
                        let hit = if v == m && *done == 0.0 { 1.0 } else { 0.0 };
                        *d += hit * gv;
                        *done += hit;
                    }
                }
            }
        }
    }
}

fn unpool_max_fast(g: &Geometry, image: &[f32], out: &[f32], grad: &[f32], dx: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        fn unpool_max_avx2(g: &Geometry, image: &[f32], out: &[f32], grad: &[f32], dx: &mut [f32]) {
            unpool_max(g, image, out, grad, dx)
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports the features just checked.
            return unsafe { unpool_max_avx2(g, image, out, grad, dx) };
        }
    }
    unpool_max(g, image, out, grad, dx)
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
        let out = self.pool(x);
        if self.kind == PoolKind::Max {
            self.saved = Some((x.clone(), out.clone()));
        }
        out
    }

    fn infer(&self, x: &Array2<f32>) -> Array2<f32> {
        self.pool(x)
    }

    fn backward(&mut self, grad: &Array2<f32>) -> Array2<f32> {
        let g = self.geometry;
        let mut dx = Array2::<f32>::zeros((grad.nrows(), g.input_len()));
        let at = move |oh: usize, ow: usize, kh: usize, kw: usize, ch: usize| {
            ((oh * g.stride + kh) * g.w + ow * g.stride + kw) * g.c + ch
        };
        match self.kind {
            PoolKind::Max => {
                let Some((x, out)) = self.saved.take() else {
                    return dx;
                };
                // Each output's gradient goes to the first input of its window that holds the
                // maximum (the forward pass keeps the first of equal values too).
                Zip::from(dx.rows_mut())
                    .and(grad.rows())
                    .and(x.rows())
                    .and(out.rows())
                    .par_for_each(|mut d, gr, image, o| {
                        unpool_max_fast(
                            &g,
                            image.as_slice().expect("contiguous row"),
                            o.as_slice().expect("contiguous row"),
                            gr.as_slice().expect("contiguous row"),
                            d.as_slice_mut().expect("contiguous row"),
                        )
                    });
            }
            PoolKind::Average => {
                let scale = 1.0 / (g.k * g.k) as f32;
                Zip::from(dx.rows_mut())
                    .and(grad.rows())
                    .par_for_each(|mut d, gr| {
                        for oh in 0..g.out_h {
                            for ow in 0..g.out_w {
                                for ch in 0..g.c {
                                    let v = gr[(oh * g.out_w + ow) * g.c + ch] * scale;
                                    for kh in 0..g.k {
                                        for kw in 0..g.k {
                                            d[at(oh, ow, kh, kw, ch)] += v;
                                        }
                                    }
                                }
                            }
                        }
                    });
            }
        }
        dx
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

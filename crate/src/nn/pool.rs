//! Pooling on NHWC rows: max and average over windows, and global average pooling.

use ndarray::{Array2, Axis, Zip};
use rayon::prelude::*;

use super::conv::Geometry;
use super::layers::Layer;

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
    /// For max pooling: the input index each output value came from, per sample.
    argmax: Option<Vec<u32>>,
}

impl Pool2d {
    pub fn new(kind: PoolKind, geometry: Geometry) -> Self {
        Self {
            kind,
            geometry,
            argmax: None,
        }
    }

    fn out_len(&self) -> usize {
        self.geometry.out_pixels() * self.geometry.c
    }

    fn pool(&self, x: &Array2<f32>, keep_argmax: bool) -> (Array2<f32>, Option<Vec<u32>>) {
        let g = self.geometry;
        let n = x.nrows();
        let out_len = self.out_len();
        let mut out = Array2::<f32>::zeros((n, out_len));
        let mut argmax = vec![0u32; if keep_argmax { n * out_len } else { 0 }];
        let kind = self.kind;
        let scale = 1.0 / (g.k * g.k) as f32;
        let arg_chunk = if keep_argmax { out_len } else { 0 };
        // Channels are contiguous in NHWC: each window position updates all channels at once.
        let pool_one = |image: &[f32], o: &mut [f32], arg: &mut [u32]| {
            let c = g.c;
            for oh in 0..g.out_h {
                for ow in 0..g.out_w {
                    let base = (oh * g.out_w + ow) * c;
                    let o = &mut o[base..base + c];
                    o.fill(match kind {
                        PoolKind::Max => f32::NEG_INFINITY,
                        PoolKind::Average => 0.0,
                    });
                    for kh in 0..g.k {
                        for kw in 0..g.k {
                            let at = ((oh * g.stride + kh) * g.w + ow * g.stride + kw) * c;
                            let pixel = &image[at..at + c];
                            match kind {
                                PoolKind::Average => {
                                    o.iter_mut().zip(pixel).for_each(|(o, v)| *o += v * scale)
                                }
                                PoolKind::Max if arg.is_empty() => {
                                    o.iter_mut().zip(pixel).for_each(|(o, &v)| *o = o.max(v))
                                }
                                PoolKind::Max => {
                                    let arg = &mut arg[base..base + c];
                                    for (ch, ((o, a), &v)) in
                                        o.iter_mut().zip(arg.iter_mut()).zip(pixel).enumerate()
                                    {
                                        // A NaN is taken, as a NaN run should show; written
                                        // branch-free so it vectorises.
                                        let take = v > *o || v.is_nan();
                                        *o = if take { v } else { *o };
                                        *a = if take { (at + ch) as u32 } else { *a };
                                    }
                                }
                            }
                        }
                    }
                }
            }
        };
        if arg_chunk == 0 {
            out.axis_iter_mut(Axis(0))
                .into_par_iter()
                .zip(x.axis_iter(Axis(0)).into_par_iter())
                .for_each(|(mut o, image)| {
                    pool_one(
                        image.as_slice().expect("contiguous row"),
                        o.as_slice_mut().expect("contiguous row"),
                        &mut [],
                    )
                });
        } else {
            out.axis_iter_mut(Axis(0))
                .into_par_iter()
                .zip(x.axis_iter(Axis(0)).into_par_iter())
                .zip(argmax.par_chunks_mut(arg_chunk))
                .for_each(|((mut o, image), arg)| {
                    pool_one(
                        image.as_slice().expect("contiguous row"),
                        o.as_slice_mut().expect("contiguous row"),
                        arg,
                    )
                });
        }
        (out, keep_argmax.then_some(argmax))
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

    fn forward(&mut self, x: &Array2<f32>, training: bool) -> Array2<f32> {
        let keep = training && self.kind == PoolKind::Max;
        let (out, argmax) = self.pool(x, keep);
        self.argmax = argmax;
        out
    }

    fn infer(&self, x: &Array2<f32>) -> Array2<f32> {
        self.pool(x, false).0
    }

    fn backward(&mut self, grad: &Array2<f32>) -> Array2<f32> {
        let g = self.geometry;
        let n = grad.nrows();
        let mut dx = Array2::<f32>::zeros((n, g.input_len()));
        match (self.kind, self.argmax.take()) {
            (PoolKind::Max, Some(argmax)) => {
                let out_len = self.out_len();
                dx.axis_iter_mut(Axis(0))
                    .into_par_iter()
                    .zip(grad.axis_iter(Axis(0)).into_par_iter())
                    .zip(argmax.par_chunks(out_len))
                    .for_each(|((mut d, gr), arg)| {
                        for (&at, &v) in arg.iter().zip(gr.iter()) {
                            d[at as usize] += v;
                        }
                    });
            }
            (PoolKind::Max, None) => {}
            (PoolKind::Average, _) => {
                let scale = 1.0 / (g.k * g.k) as f32;
                Zip::from(dx.rows_mut())
                    .and(grad.rows())
                    .par_for_each(|mut d, gr| {
                        for oh in 0..g.out_h {
                            for ow in 0..g.out_w {
                                for c in 0..g.c {
                                    let v = gr[(oh * g.out_w + ow) * g.c + c] * scale;
                                    for kh in 0..g.k {
                                        for kw in 0..g.k {
                                            let ih = oh * g.stride + kh;
                                            let iw = ow * g.stride + kw;
                                            d[(ih * g.w + iw) * g.c + c] += v;
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

    fn forward(&mut self, x: &Array2<f32>, _training: bool) -> Array2<f32> {
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

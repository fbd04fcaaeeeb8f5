//! Batch normalisation over the last axis (the channels of NHWC images, the units of a dense
//! layer), as Keras' `BatchNormalization()`: batch statistics in training, moving statistics in
//! inference, moving averages with momentum 0.99, ε = 0.001.

use ndarray::{Array2, ArrayViewMut2, Zip};
use rayon::prelude::*;

use super::layer::{Layer, Param};
use super::parallel::{parts_above, ranges, split_rows_mut};
use super::subnormal::FlushSubnormals;

#[derive(Clone, Debug)]
pub struct BatchNorm {
    pub gamma: Param,
    pub beta: Param,
    pub moving_mean: Array2<f32>,
    pub moving_var: Array2<f32>,
    pub momentum: f32,
    pub epsilon: f32,
    shape: Vec<usize>,
    /// Normalised input and 1/σ of the last training batch, for backward.
    saved: Option<(Array2<f32>, Array2<f32>)>,
}

impl BatchNorm {
    pub fn new(shape: Vec<usize>, momentum: f32, epsilon: f32) -> Self {
        let channels = shape.last().copied().unwrap_or(1);
        Self {
            gamma: Param::new(Array2::ones((1, channels)), false),
            beta: Param::new(Array2::zeros((1, channels)), false),
            moving_mean: Array2::zeros((1, channels)),
            moving_var: Array2::ones((1, channels)),
            momentum,
            epsilon,
            shape,
            saved: None,
        }
    }

    fn channels(&self) -> usize {
        self.gamma.value.ncols()
    }
}

impl Layer for BatchNorm {
    fn kind(&self) -> String {
        "BatchNormalization".into()
    }

    fn output_shape(&self) -> Vec<usize> {
        self.shape.clone()
    }

    fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        let c = self.channels();
        let xs = x.as_standard_layout();
        let xs = xs.as_slice().expect("standard layout is contiguous");
        let m = (xs.len() / c).max(1) as f64;
        let (sum, sum_sq) = channel_sums(xs, xs, c);
        let mean: Vec<f32> = sum.iter().map(|s| (s / m) as f32).collect();
        // E[x²] − E[x]² in f64 sums: one pass over the batch instead of two.
        let var: Vec<f32> = sum
            .iter()
            .zip(&sum_sq)
            .map(|(s, q)| ((q / m) - (s / m).powi(2)).max(0.0) as f32)
            .collect();
        let inv_std: Vec<f32> = var
            .iter()
            .map(|v| 1.0 / (v + self.epsilon).sqrt())
            .collect();
        let mut xhat = Array2::<f32>::zeros(x.raw_dim());
        let mut y = Array2::<f32>::zeros(x.raw_dim());
        let (gamma, beta) = (self.gamma.value.as_slice(), self.beta.value.as_slice());
        let (gamma, beta) = (
            gamma.expect("contiguous gamma"),
            beta.expect("contiguous beta"),
        );
        let parts = row_parts(xs.len(), c);
        let with_xhat = split_rows_mut(channel_rows(&mut xhat, c), &parts, 1);
        let with_y = split_rows_mut(channel_rows(&mut y, c), &parts, 1);
        with_xhat
            .into_par_iter()
            .zip(with_y)
            .zip(parts.par_iter())
            .for_each(|((mut h, mut y), r)| {
                let _flush = FlushSubnormals::new();
                let x = &xs[r.start * c..r.end * c];
                let (h, y) = (block_slice(&mut h), block_slice(&mut y));
                for ((x, h), y) in x
                    .chunks_exact(c)
                    .zip(h.chunks_exact_mut(c))
                    .zip(y.chunks_exact_mut(c))
                {
                    for ch in 0..c {
                        let v = (x[ch] - mean[ch]) * inv_std[ch];
                        h[ch] = v;
                        y[ch] = v * gamma[ch] + beta[ch];
                    }
                }
            });
        let keep = self.momentum;
        Zip::from(self.moving_mean.row_mut(0))
            .and(&mean[..])
            .for_each(|mm, &b| *mm = *mm * keep + b * (1.0 - keep));
        Zip::from(self.moving_var.row_mut(0))
            .and(&var[..])
            .for_each(|mv, &b| *mv = *mv * keep + b * (1.0 - keep));
        self.saved = Some((
            xhat,
            Array2::from_shape_vec((1, c), inv_std).expect("one row"),
        ));
        y
    }

    fn infer(&self, x: &Array2<f32>) -> Array2<f32> {
        let c = self.channels();
        let scale = &self.gamma.value / &self.moving_var.mapv(|v| (v + self.epsilon).sqrt());
        let shift = &self.beta.value - &(&self.moving_mean * &scale);
        let (scale, shift) = (scale.row(0).to_vec(), shift.row(0).to_vec());
        let xs = x.as_standard_layout();
        let xs = xs.as_slice().expect("standard layout is contiguous");
        let mut y = Array2::<f32>::zeros(x.raw_dim());
        for_row_blocks(xs, xs, &mut y, c, |x, _, y| {
            for ch in 0..c {
                y[ch] = x[ch] * scale[ch] + shift[ch];
            }
        });
        y
    }

    fn backward(&mut self, grad: &Array2<f32>) -> Array2<f32> {
        let Some((xhat, inv_std)) = self.saved.take() else {
            return grad.clone();
        };
        let c = self.channels();
        let dy = grad.as_standard_layout();
        let dys = dy.as_slice().expect("standard layout is contiguous");
        let xh = xhat.as_slice().expect("saved contiguous");
        let m = (dys.len() / c).max(1) as f64;
        let (sum_dy, sum_dy_xhat) = channel_sums(dys, xh, c);
        self.beta.grad = Array2::from_shape_fn((1, c), |(_, ch)| sum_dy[ch] as f32);
        self.gamma.grad = Array2::from_shape_fn((1, c), |(_, ch)| sum_dy_xhat[ch] as f32);
        // dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂))
        let mean_dy: Vec<f32> = sum_dy.iter().map(|s| (s / m) as f32).collect();
        let mean_dy_xhat: Vec<f32> = sum_dy_xhat.iter().map(|s| (s / m) as f32).collect();
        let scale: Vec<f32> = (0..c)
            .map(|ch| self.gamma.value[[0, ch]] * inv_std[[0, ch]])
            .collect();
        let mut dx = Array2::<f32>::zeros(grad.raw_dim());
        for_row_blocks(dys, xh, &mut dx, c, |d, h, out| {
            for ch in 0..c {
                out[ch] = scale[ch] * (d[ch] - mean_dy[ch] - h[ch] * mean_dy_xhat[ch]);
            }
        });
        dx
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.gamma, &self.beta]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.gamma, &mut self.beta]
    }

    fn buffers(&self) -> Vec<&Array2<f32>> {
        vec![&self.moving_mean, &self.moving_var]
    }

    fn buffers_mut(&mut self) -> Vec<&mut Array2<f32>> {
        vec![&mut self.moving_mean, &mut self.moving_var]
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

/// Below this many values a batch's normalisation stays on one core.
const PARALLEL_MIN_VALUES: usize = 1 << 18;

/// Ranges of rows (of `c` values each) for the cores: one unless the batch is large.
fn row_parts(values: usize, c: usize) -> Vec<std::ops::Range<usize>> {
    let rows = values / c.max(1);
    ranges(rows, parts_above(rows, values, PARALLEL_MIN_VALUES))
}

/// Per-channel Σa and Σa·b over rows of `c` channels (f64 sums), the rows split across the
/// cores for large batches; the parts are added in order, so the sums do not depend on timing.
fn channel_sums(a: &[f32], b: &[f32], c: usize) -> (Vec<f64>, Vec<f64>) {
    let parts = row_parts(a.len(), c);
    let partial: Vec<(Vec<f64>, Vec<f64>)> = parts
        .par_iter()
        .map(|r| {
            let _flush = FlushSubnormals::new();
            let (mut s, mut p) = (vec![0f64; c], vec![0f64; c]);
            let (a, b) = (&a[r.start * c..r.end * c], &b[r.start * c..r.end * c]);
            for (ra, rb) in a.chunks_exact(c).zip(b.chunks_exact(c)) {
                for ch in 0..c {
                    s[ch] += f64::from(ra[ch]);
                    p[ch] += f64::from(ra[ch]) * f64::from(rb[ch]);
                }
            }
            (s, p)
        })
        .collect();
    let (mut s, mut p) = (vec![0f64; c], vec![0f64; c]);
    for (ps, pp) in partial {
        s.iter_mut().zip(ps).for_each(|(t, v)| *t += v);
        p.iter_mut().zip(pp).for_each(|(t, v)| *t += v);
    }
    (s, p)
}

/// `out` (a fresh array) as rows of `c` channels.
fn channel_rows(out: &mut Array2<f32>, c: usize) -> ArrayViewMut2<'_, f32> {
    let rows = out.len() / c;
    ArrayViewMut2::from_shape((rows, c), out.as_slice_mut().expect("fresh array"))
        .expect("NHWC rows split into rows of channels")
}

fn block_slice<'a>(block: &'a mut ArrayViewMut2<'_, f32>) -> &'a mut [f32] {
    block.as_slice_mut().expect("a row block of a fresh array")
}

/// `f(a row, b row, out row)` for every row of `c` channels, in row blocks across the cores.
fn for_row_blocks<F>(a: &[f32], b: &[f32], out: &mut Array2<f32>, c: usize, f: F)
where
    F: Fn(&[f32], &[f32], &mut [f32]) + Sync,
{
    let parts = row_parts(a.len(), c);
    split_rows_mut(channel_rows(out, c), &parts, 1)
        .into_par_iter()
        .zip(parts.par_iter())
        .for_each(|(mut out, r)| {
            let _flush = FlushSubnormals::new();
            let (a, b) = (&a[r.start * c..r.end * c], &b[r.start * c..r.end * c]);
            for ((ra, rb), ro) in a
                .chunks_exact(c)
                .zip(b.chunks_exact(c))
                .zip(block_slice(&mut out).chunks_exact_mut(c))
            {
                f(ra, rb, ro);
            }
        });
}

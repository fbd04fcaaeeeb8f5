//! 2-D convolution on image rows laid out NHWC (Keras' `channels_last`): each sample's row holds
//! height × width × channels values, channels fastest. A convolution is then one matrix product:
//! every output pixel's receptive field is copied into a row ("im2col", k·k·C values with the
//! channels of one input pixel contiguous), and rows × kernel (k·k·C × filters) gives the output
//! pixels × filters — which is already the NHWC layout of the output.

use ndarray::{s, Array1, Array2, ArrayView2, ArrayViewMut2, Axis};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::activation::Activation;
use super::bf16::{self, Products};
use super::init::Initializer;
use super::layer::{Layer, Param};
use super::parallel::{gemm_acc, parts_above, ranges, split_rows_mut};
use super::subnormal::FlushSubnormals;
use crate::error::{Error, Result};

/// How the borders are handled (Keras' `padding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Padding {
    /// No padding: the output shrinks by kernel − 1 (Keras' default).
    Valid,
    /// Zero padding so that output size = ⌈input / stride⌉; the extra row/column goes to the
    /// bottom/right, as in TensorFlow.
    Same,
    /// This many zero rows/columns on every side.
    Explicit(usize),
}

/// Sizes of one convolution or pooling window sliding over an `h × w × c` input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub k: usize,
    pub stride: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub out_h: usize,
    pub out_w: usize,
}

fn too_large(k: usize, stride: usize, padding: usize) -> Error {
    Error::invalid(format!(
        "kernel {k}, stride {stride} and padding {padding} are too large to compute with"
    ))
}

impl Geometry {
    pub fn new(
        input: (usize, usize, usize),
        k: usize,
        stride: usize,
        padding: Padding,
    ) -> Result<Self> {
        let (h, w, c) = input;
        if k == 0 || stride == 0 {
            return Err(Error::invalid(format!(
                "kernel size and stride must be at least 1, got kernel {k} and stride {stride}"
            )));
        }
        let (out_h, out_w, pad_top, pad_left) = match padding {
            Padding::Valid => {
                if h < k || w < k {
                    return Err(Error::invalid(format!(
                        "a {k}×{k} window does not fit a {h}×{w} input without padding; \
                         use Padding::Same or a smaller kernel"
                    )));
                }
                ((h - k) / stride + 1, (w - k) / stride + 1, 0, 0)
            }
            Padding::Same => {
                let (oh, ow) = (h.div_ceil(stride), w.div_ceil(stride));
                // (o − 1)·stride < input size, so only adding the kernel can overflow.
                let (Some(span_h), Some(span_w)) = (
                    (oh.saturating_sub(1) * stride).checked_add(k),
                    (ow.saturating_sub(1) * stride).checked_add(k),
                ) else {
                    return Err(too_large(k, stride, 0));
                };
                let (pad_h, pad_w) = (span_h.saturating_sub(h), span_w.saturating_sub(w));
                (oh, ow, pad_h / 2, pad_w / 2)
            }
            Padding::Explicit(p) => {
                let padded = |side: usize| p.checked_mul(2).and_then(|p2| side.checked_add(p2));
                let (Some(ph), Some(pw)) = (padded(h), padded(w)) else {
                    return Err(too_large(k, stride, p));
                };
                if ph < k || pw < k {
                    return Err(Error::invalid(format!(
                        "a {k}×{k} window does not fit a {h}×{w} input padded by {p}"
                    )));
                }
                ((ph - k) / stride + 1, (pw - k) / stride + 1, p, p)
            }
        };
        Ok(Self {
            h,
            w,
            c,
            k,
            stride,
            pad_top,
            pad_left,
            out_h,
            out_w,
        })
    }

    pub fn input_len(&self) -> usize {
        self.h * self.w * self.c
    }

    pub fn out_pixels(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Values in one receptive field.
    pub fn patch_len(&self) -> usize {
        self.k * self.k * self.c
    }

    /// The input columns `[lo, hi)` of kernel offsets that land inside the image for output
    /// column `ow` (as kernel-column indices).
    #[inline]
    fn inside(&self, origin: isize, size: usize) -> (usize, usize) {
        let lo = (-origin).max(0) as usize;
        let hi = (size as isize - origin).clamp(0, self.k as isize) as usize;
        (lo.min(hi), hi)
    }
}

/// Copies every receptive field of `images` (rows of h·w·c) into a row of `cols`
/// (rows: image × output pixel; columns: kernel row, kernel column, channel).
pub fn im2col(g: &Geometry, images: &ArrayView2<f32>, cols: &mut ArrayViewMut2<f32>) {
    let (kc, c) = (g.k * g.c, g.c);
    let cols = cols
        .as_slice_mut()
        .expect("im2col writes into a contiguous buffer");
    let mut row_start = 0;
    for image in images.rows() {
        let image = image.as_slice().expect("image rows are contiguous");
        for oh in 0..g.out_h {
            let top = (oh * g.stride) as isize - g.pad_top as isize;
            let (kh_lo, kh_hi) = g.inside(top, g.h);
            for ow in 0..g.out_w {
                let left = (ow * g.stride) as isize - g.pad_left as isize;
                let (kw_lo, kw_hi) = g.inside(left, g.w);
                let row = &mut cols[row_start..row_start + g.patch_len()];
                row_start += g.patch_len();
                for kh in 0..g.k {
                    let dst = &mut row[kh * kc..(kh + 1) * kc];
                    if kh < kh_lo || kh >= kh_hi || kw_lo == kw_hi {
                        dst.fill(0.0);
                        continue;
                    }
                    let ih = (top + kh as isize) as usize;
                    let iw = (left + kw_lo as isize) as usize;
                    // In NHWC the in-image part of a kernel row is one contiguous run.
                    let src = &image[(ih * g.w + iw) * c..(ih * g.w + iw + kw_hi - kw_lo) * c];
                    dst[..kw_lo * c].fill(0.0);
                    dst[kw_lo * c..kw_hi * c].copy_from_slice(src);
                    dst[kw_hi * c..].fill(0.0);
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds each row of `cols` back onto the input pixels it came from.
pub fn col2im(g: &Geometry, cols: &ArrayView2<f32>, images: &mut ArrayViewMut2<f32>) {
    let (kc, c) = (g.k * g.c, g.c);
    let cols = cols.as_slice().expect("col2im reads a contiguous buffer");
    let mut row_start = 0;
    for mut image in images.rows_mut() {
        let image = image.as_slice_mut().expect("image rows are contiguous");
        image.fill(0.0);
        for oh in 0..g.out_h {
            let top = (oh * g.stride) as isize - g.pad_top as isize;
            let (kh_lo, kh_hi) = g.inside(top, g.h);
            for ow in 0..g.out_w {
                let left = (ow * g.stride) as isize - g.pad_left as isize;
                let (kw_lo, kw_hi) = g.inside(left, g.w);
                let row = &cols[row_start..row_start + g.patch_len()];
                row_start += g.patch_len();
                for kh in kh_lo..kh_hi {
                    let ih = (top + kh as isize) as usize;
                    let iw = (left + kw_lo as isize) as usize;
                    let dst = &mut image[(ih * g.w + iw) * c..(ih * g.w + iw + kw_hi - kw_lo) * c];
                    let src = &row[kh * kc + kw_lo * c..kh * kc + kw_hi * c];
                    for (d, s) in dst.iter_mut().zip(src) {
                        *d += s;
                    }
                }
            }
        }
    }
}

/// Rows of receptive fields handled at once: small enough that a tile of fields, its outputs
/// and their gradients stay in the core's cache (2 MiB of L2 here), large enough for a fast
/// matrix product. Tiling instead of one im2col matrix per batch (29 MB for report 001's second
/// convolution) took the CNN step from 79–82 to 71–76 ms (bench cnn-profile, same hour).
const TILE_ROWS: usize = 512;

/// Below this many multiply-adds a batch's convolution stays on one core. At 48M (the bare
/// products' threshold) report 002's CNN 4 at batch 32 ran its convolutions on one core.
const CONV_PARALLEL_MIN_WORK: usize = 2_000_000;

/// The kernel (or its transpose) as a pass's products read it: in bf16, packed once for all
/// the pass's tiles.
enum KernelFactor<'a> {
    F32(ArrayView2<'a, f32>),
    Bf16(bf16::PackedRight<'a>),
}

impl<'a> KernelFactor<'a> {
    fn new(products: Products, kernel: ArrayView2<'a, f32>) -> Self {
        match products {
            Products::F32 => Self::F32(kernel),
            Products::Bf16 => Self::Bf16(bf16::PackedRight::new(kernel)),
        }
    }

    /// c = a · self (or += ).
    fn multiply(&self, a: &ArrayView2<f32>, c: &mut ArrayViewMut2<f32>, accumulate: bool) {
        match self {
            Self::F32(kernel) => gemm_acc(a, kernel, c, accumulate),
            Self::Bf16(packed) => bf16::product_packed_right(a, packed, c, accumulate, gemm_acc),
        }
    }
}

/// Keras `Conv2D(filters, kernel_size, strides, padding, activation)` on NHWC rows.
#[derive(Clone, Debug)]
pub struct Conv2d {
    /// (k·k·C) × filters, rows ordered kernel row, kernel column, input channel (Keras' kernel
    /// of shape (k, k, C, filters), flattened).
    pub kernel: Param,
    pub bias: Param,
    pub activation: Activation,
    pub geometry: Geometry,
    pub filters: usize,
    /// False for the first layer: nothing needs ∂loss/∂input there, so it is not computed.
    pub input_grad: bool,
    /// The arithmetic of the layer's three products (forward, ∂loss/∂input, ∂loss/∂kernel).
    pub products: Products,
    /// Set by the model builder on a ReLU convolution whose output goes straight into max
    /// pooling, which is then told to zero the gradient of every window whose maximum is 0
    /// (`Pool2d::after_relu`). ∂loss/∂output arrives already multiplied by ReLU's derivative,
    /// so the pre-activations are not kept: one pass less each way over the layer's largest
    /// arrays (12.8 MB a batch in report 001's first convolution).
    pub relu_by_pool: bool,
    /// The last training batch and, unless `relu_by_pool`, its pre-activations, for backward
    /// (the receptive fields are cut again there, tile by tile, rather than kept).
    saved: Option<(Array2<f32>, Option<Array2<f32>>)>,
    /// Buffers of the last step's pre-activations and output gradient, reused for the next
    /// step's pre-activations and outputs (pixels × filters each; megabytes a batch, which cost
    /// a page-zeroing pass each time they were allocated afresh).
    spare: Spare,
}

/// Buffers kept from one training step for the next; a clone of the layer starts without any.
#[derive(Debug, Default)]
struct Spare(Vec<Array2<f32>>);

impl Clone for Spare {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl Spare {
    /// A rows × cols buffer: a kept one when one has that shape (its values are stale: the
    /// caller overwrites every one), else zeros.
    fn take(&mut self, rows: usize, cols: usize) -> Array2<f32> {
        match self.0.iter().position(|b| b.dim() == (rows, cols)) {
            Some(i) => self.0.swap_remove(i),
            None => Array2::zeros((rows, cols)),
        }
    }

    fn keep(&mut self, buffer: Array2<f32>) {
        const KEPT: usize = 2;
        if self.0.len() == KEPT {
            self.0.remove(0);
        }
        self.0.push(buffer);
    }
}

impl Conv2d {
    pub fn new(
        geometry: Geometry,
        filters: usize,
        activation: Activation,
        init: Initializer,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        let k2 = geometry.k * geometry.k;
        let fan_in = k2 * geometry.c;
        let fan_out = k2 * filters;
        Self {
            kernel: Param::new(
                init.sample(geometry.patch_len(), filters, fan_in, fan_out, rng),
                true,
            ),
            bias: Param::new(Array2::zeros((1, filters)), false),
            activation,
            geometry,
            filters,
            input_grad: true,
            products: Products::F32,
            relu_by_pool: false,
            saved: None,
            spare: Spare::default(),
        }
    }

    /// Whether backward needs the pre-activations (see `relu_by_pool`).
    fn keeps_pre_activations(&self) -> bool {
        !(self.relu_by_pool && self.activation == Activation::Relu)
    }

    /// Images per tile.
    fn tile_images(&self) -> usize {
        (TILE_ROWS / self.geometry.out_pixels()).max(1)
    }

    /// Image ranges, one per core unless the batch's product is tiny.
    fn split(&self, n: usize) -> Vec<std::ops::Range<usize>> {
        let g = &self.geometry;
        ranges(
            n,
            parts_above(
                n,
                n * g.out_pixels() * g.patch_len() * self.filters,
                CONV_PARALLEL_MIN_WORK,
            ),
        )
    }

    /// Activations (output pixels × filters) of a batch, written over every value of `out`, and
    /// the pre-activations over `z` when given (else each tile's stay in a scratch tile). Each
    /// core takes a block of images, tile by tile: receptive fields, product, bias, activation.
    fn convolve(
        &self,
        x: &Array2<f32>,
        mut z: Option<Array2<f32>>,
        mut out: Array2<f32>,
    ) -> (Option<Array2<f32>>, Array2<f32>) {
        let g = &self.geometry;
        let n = x.nrows();
        let px = g.out_pixels();
        debug_assert!(out.dim() == (n * px, self.filters));
        debug_assert!(z.as_ref().is_none_or(|z| z.dim() == out.dim()));
        let items = self.split(n);
        let z_blocks: Vec<Option<ArrayViewMut2<f32>>> = match z.as_mut() {
            Some(z) => split_rows_mut(z.view_mut(), &items, px)
                .into_iter()
                .map(Some)
                .collect(),
            None => items.iter().map(|_| None).collect(),
        };
        let out_blocks = split_rows_mut(out.view_mut(), &items, px);
        let (bias, activation) = (&self.bias.value, self.activation);
        let kernel = &KernelFactor::new(self.products, self.kernel.value.view());
        let tile = self.tile_images();
        z_blocks
            .into_par_iter()
            .zip(out_blocks)
            .zip(items.par_iter())
            .for_each(|((mut zb, mut ob), r)| {
                let _flush = FlushSubnormals::new();
                let mut cols = Array2::<f32>::zeros((tile * px, g.patch_len()));
                let mut scratch = match zb {
                    Some(_) => Array2::<f32>::zeros((0, 0)),
                    None => Array2::<f32>::zeros((tile * px, self.filters)),
                };
                let mut start = r.start;
                while start < r.end {
                    let end = (start + tile).min(r.end);
                    let rows = (start - r.start) * px..(end - r.start) * px;
                    let mut c = cols.slice_mut(s![..(end - start) * px, ..]);
                    im2col(g, &x.slice(s![start..end, ..]), &mut c);
                    let mut zt = match zb.as_mut() {
                        Some(zb) => zb.slice_mut(s![rows.clone(), ..]),
                        None => scratch.slice_mut(s![..rows.len(), ..]),
                    };
                    kernel.multiply(&c.view(), &mut zt, false);
                    activation.add_bias_apply(
                        zt.as_slice_mut().expect("contiguous tile"),
                        ob.slice_mut(s![rows, ..])
                            .as_slice_mut()
                            .expect("contiguous tile"),
                        bias.as_slice().expect("contiguous bias"),
                    );
                    start = end;
                }
            });
        (z, out)
    }

    fn to_rows(&self, out: Array2<f32>, n: usize) -> Array2<f32> {
        let len = self.geometry.out_pixels() * self.filters;
        out.into_shape_with_order((n, len))
            .expect("pixels × filters is the NHWC row layout")
    }
}

impl Layer for Conv2d {
    fn kind(&self) -> String {
        "Conv2D".into()
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![self.geometry.out_h, self.geometry.out_w, self.filters]
    }

    fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        self.forward_owned(x.clone())
    }

    fn forward_owned(&mut self, x: Array2<f32>) -> Array2<f32> {
        let rows = x.nrows() * self.geometry.out_pixels();
        let z = self
            .keeps_pre_activations()
            .then(|| self.spare.take(rows, self.filters));
        let out = self.spare.take(rows, self.filters);
        let (z, out) = self.convolve(&x, z, out);
        let n = x.nrows();
        self.saved = Some((x, z));
        self.to_rows(out, n)
    }

    fn infer(&self, x: &Array2<f32>) -> Array2<f32> {
        let shape = (x.nrows() * self.geometry.out_pixels(), self.filters);
        let (_, out) = self.convolve(x, None, Array2::zeros(shape));
        self.to_rows(out, x.nrows())
    }

    fn backward(&mut self, grad: &Array2<f32>) -> Array2<f32> {
        self.backward_owned(grad.clone())
    }

    /// ∂loss/∂input is written over the kept input (each tile's receptive fields are cut from it
    /// just before), and the buffers of the pre-activations and of `grad` are kept for the next
    /// step.
    fn backward_owned(&mut self, grad: Array2<f32>) -> Array2<f32> {
        let g = self.geometry;
        let n = grad.nrows();
        let px = g.out_pixels();
        let Some((mut x, z)) = self.saved.take() else {
            return Array2::zeros((n, g.input_len()));
        };
        let grad = grad
            .into_shape_with_order((n * px, self.filters))
            .expect("NHWC rows are pixels × filters");
        let items = self.split(n);
        let x_blocks = split_rows_mut(x.view_mut(), &items, 1);
        let (input_grad, activation) = (self.input_grad, self.activation);
        let (filters, tile, products) = (self.filters, self.tile_images(), self.products);
        let kernel_t = &KernelFactor::new(products, self.kernel.value.t());
        let (pre, grad_view) = (z.as_ref(), &grad.view());
        let sums = x_blocks
            .into_par_iter()
            .zip(items.par_iter())
            .map(|(mut xb, r)| {
                let _flush = FlushSubnormals::new();
                let mut dk = bf16::TransposedSum::new(g.patch_len(), filters, products);
                let mut db = Array1::<f32>::zeros(filters);
                let mut cols = Array2::<f32>::zeros((tile * px, g.patch_len()));
                let mut dz = match pre {
                    Some(_) => Array2::<f32>::zeros((tile * px, filters)),
                    None => Array2::<f32>::zeros((0, 0)),
                };
                let mut start = r.start;
                while start < r.end {
                    let end = (start + tile).min(r.end);
                    let (rows, m) = (start * px..end * px, (end - start) * px);
                    let local = start - r.start..end - r.start;
                    let mut c = cols.slice_mut(s![..m, ..]);
                    im2col(&g, &xb.slice(s![local.clone(), ..]), &mut c);
                    // ∂loss/∂z: ∂loss/∂output ⊙ f'(z), or ∂loss/∂output itself when the
                    // pooling after this layer applied ReLU's derivative already.
                    let d = match pre {
                        Some(pre) => {
                            let mut d = dz.slice_mut(s![..m, ..]);
                            activation.gradient_into(
                                pre.slice(s![rows.clone(), ..])
                                    .as_slice()
                                    .expect("contiguous tile"),
                                grad_view
                                    .slice(s![rows, ..])
                                    .as_slice()
                                    .expect("contiguous tile"),
                                d.as_slice_mut().expect("contiguous tile"),
                            );
                            dz.slice(s![..m, ..])
                        }
                        None => grad_view.slice(s![rows, ..]),
                    };
                    dk.add(&c.view(), &d, gemm_acc);
                    db += &d.sum_axis(Axis(0));
                    if input_grad {
                        // The tile's fields are used: their buffer takes ∂loss/∂fields, and
                        // the tile's images (cut already) take ∂loss/∂images.
                        kernel_t.multiply(&d, &mut c, false);
                        col2im(&g, &c.view(), &mut xb.slice_mut(s![local, ..]));
                    }
                    start = end;
                }
                (dk.into_array(), db)
            })
            .reduce_with(|(ka, ba), (kb, bb)| (ka + kb, ba + bb));
        if let Some((dk, db)) = sums {
            self.kernel.grad = dk;
            self.bias.grad = db.insert_axis(Axis(0));
        }
        if let Some(z) = z {
            self.spare.keep(z);
        }
        self.spare.keep(grad);
        if input_grad {
            x
        } else {
            Array2::zeros((n, 0))
        }
    }

    fn set_products(&mut self, products: Products) {
        self.products = products;
    }
    fn products(&self) -> Option<Products> {
        Some(self.products)
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.kernel, &self.bias]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.kernel, &mut self.bias]
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct convolution, one output value at a time, as the definition reads.
    fn direct(g: &Geometry, image: &[f32], kernel: &Array2<f32>) -> Vec<f32> {
        let filters = kernel.ncols();
        let mut out = vec![0.0; g.out_pixels() * filters];
        for oh in 0..g.out_h {
            for ow in 0..g.out_w {
                for f in 0..filters {
                    let mut s = 0.0;
                    for kh in 0..g.k {
                        for kw in 0..g.k {
                            let ih = (oh * g.stride + kh) as isize - g.pad_top as isize;
                            let iw = (ow * g.stride + kw) as isize - g.pad_left as isize;
                            if ih < 0 || iw < 0 || ih >= g.h as isize || iw >= g.w as isize {
                                continue;
                            }
                            for c in 0..g.c {
                                let v = image[(ih as usize * g.w + iw as usize) * g.c + c];
                                s += v * kernel[[(kh * g.k + kw) * g.c + c, f]];
                            }
                        }
                    }
                    out[(oh * g.out_w + ow) * filters + f] = s;
                }
            }
        }
        out
    }

    #[test]
    fn im2col_product_equals_direct_convolution() {
        for &(k, stride, padding) in &[
            (3, 1, Padding::Same),
            (3, 1, Padding::Valid),
            (5, 1, Padding::Same),
            (3, 2, Padding::Same),
            (5, 2, Padding::Valid),
            (3, 2, Padding::Explicit(1)),
        ] {
            let g = Geometry::new((7, 6, 3), k, stride, padding).expect("geometry");
            let x = Array2::from_shape_fn((2, g.input_len()), |(i, j)| {
                ((i * 13 + j * 7) % 17) as f32 / 17.0 - 0.5
            });
            let kernel = Array2::from_shape_fn((g.patch_len(), 4), |(i, j)| {
                ((i * 5 + j * 3) % 11) as f32 / 11.0 - 0.5
            });
            let mut cols = Array2::zeros((2 * g.out_pixels(), g.patch_len()));
            im2col(&g, &x.view(), &mut cols.view_mut());
            let z = cols.dot(&kernel);
            for b in 0..2 {
                let want = direct(&g, x.row(b).as_slice().expect("row"), &kernel);
                let got = z.slice(ndarray::s![
                    b * g.out_pixels()..(b + 1) * g.out_pixels(),
                    ..
                ]);
                for (a, w) in got.iter().zip(&want) {
                    assert!((a - w).abs() < 1e-5, "k {k} stride {stride} {padding:?}");
                }
            }
        }
    }

    #[test]
    fn bf16_products_stay_within_bf16_rounding_of_f32() {
        // Report 001's second convolution's shape, on a few images; linear, since a ReLU's mask
        // flips where a pre-activation near 0 changes sign, which is not the products' doing.
        let g = Geometry::new((14, 14, 32), 3, 1, Padding::Same).expect("geometry");
        let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(5);
        let mut f32_layer = Conv2d::new(g, 64, Activation::Linear, Initializer::HeNormal, &mut rng);
        let mut bf16_layer = f32_layer.clone();
        bf16_layer.set_products(Products::Bf16);
        let x = Array2::from_shape_fn((3, g.input_len()), |(i, j)| {
            ((i * 13 + j * 7) % 17) as f32 / 16.0
        });
        let grad = Array2::from_shape_fn((3, g.out_pixels() * 64), |(i, j)| {
            ((i + j * 3) % 9) as f32 / 4.0 - 1.0
        });
        let (out, out_bf16) = (f32_layer.forward(&x), bf16_layer.forward(&x));
        let (dx, dx_bf16) = (f32_layer.backward(&grad), bf16_layer.backward(&grad));
        // Relative to each array's largest value: bf16 keeps 8 bits, so ~0.4 % a factor.
        let close = |a: &Array2<f32>, b: &Array2<f32>, what: &str| {
            let top = a.iter().fold(0f32, |m, v| m.max(v.abs()));
            let worst = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(
                worst <= 0.02 * top,
                "{what}: off by {worst}, largest value {top}"
            );
        };
        close(&out, &out_bf16, "outputs");
        close(&dx, &dx_bf16, "∂loss/∂input");
        close(
            &f32_layer.kernel.grad,
            &bf16_layer.kernel.grad,
            "∂loss/∂kernel",
        );
        if crate::nn::bf16_available() {
            assert_ne!(out, out_bf16, "the bf16 products ran in f32");
        }
    }

    /// A training step reuses the last step's buffers and writes ∂loss/∂input over the kept
    /// input: the same numbers as a fresh copy of the layer, which has no buffers to reuse.
    #[test]
    fn reused_buffers_give_the_same_numbers_as_fresh_ones() {
        let g = Geometry::new((6, 5, 2), 3, 1, Padding::Same).expect("geometry");
        let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(7);
        let mut layer = Conv2d::new(g, 4, Activation::Relu, Initializer::HeNormal, &mut rng);
        let batch = |seed: usize| {
            Array2::from_shape_fn((3, g.input_len()), |(i, j)| {
                ((i * 7 + j * 3 + seed) % 11) as f32 / 5.0 - 1.0
            })
        };
        let grad = |seed: usize| {
            Array2::from_shape_fn((3, g.out_pixels() * 4), |(i, j)| {
                ((i + j * 5 + seed) % 7) as f32 - 3.0
            })
        };
        for step in 0..3 {
            let mut fresh = layer.clone();
            let (x, gr) = (batch(step), grad(step));
            let (out, out_fresh) = (layer.forward_owned(x.clone()), fresh.forward(&x));
            assert_eq!(out, out_fresh, "step {step}");
            let (dx, dx_fresh) = (layer.backward_owned(gr.clone()), fresh.backward(&gr));
            assert_eq!(dx, dx_fresh, "step {step}");
            assert_eq!(layer.kernel.grad, fresh.kernel.grad, "step {step}");
            assert_eq!(layer.bias.grad, fresh.bias.grad, "step {step}");
        }
    }

    /// ReLU's derivative applied by the max pooling after the convolution (what the model
    /// builder sets up) gives the same gradients, bit for bit, as the convolution applying it
    /// from its kept pre-activations, windows whose maximum is 0 included.
    #[test]
    fn relu_applied_by_the_pooling_gives_the_same_gradients() {
        use crate::nn::pool::{Pool2d, PoolKind};
        let g = Geometry::new((6, 6, 2), 3, 1, Padding::Same).expect("geometry");
        let pg = Geometry::new((6, 6, 4), 2, 2, Padding::Valid).expect("geometry");
        let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(3);
        let conv = Conv2d::new(g, 4, Activation::Relu, Initializer::HeNormal, &mut rng);
        let pool = Pool2d::new(PoolKind::Max, pg);
        let (mut fused_conv, mut fused_pool) = (conv.clone(), pool.clone());
        fused_conv.relu_by_pool = true;
        fused_pool.after_relu = true;
        let pairs = [(conv, pool), (fused_conv, fused_pool)];
        let x = Array2::from_shape_fn((3, g.input_len()), |(i, j)| {
            ((i * 7 + j * 5) % 13) as f32 / 6.0 - 1.3
        });
        let grad = Array2::from_shape_fn((3, pg.out_pixels() * 4), |(i, j)| {
            ((i * 3 + j) % 7) as f32 - 3.0
        });
        let mut results = Vec::new();
        for (mut conv, mut pool) in pairs {
            for _ in 0..2 {
                let out = conv.forward_owned(x.clone());
                let zero_windows = pool.infer(&out).iter().filter(|&&v| v == 0.0).count();
                assert!(zero_windows > 0, "no window with maximum 0 to test");
                let pooled = pool.forward_owned(out);
                let dx = conv.backward_owned(pool.backward_owned(grad.clone()));
                results.push((pooled, dx, conv.kernel.grad.clone(), conv.bias.grad.clone()));
            }
        }
        assert_eq!(results[0], results[2]);
        assert_eq!(results[1], results[3]);
    }

    #[test]
    fn same_padding_matches_tensorflow_sizes() {
        let g = Geometry::new((28, 28, 1), 3, 1, Padding::Same).expect("geometry");
        assert_eq!((g.out_h, g.out_w, g.pad_top), (28, 28, 1));
        let g = Geometry::new((28, 28, 1), 3, 2, Padding::Same).expect("geometry");
        assert_eq!((g.out_h, g.pad_top), (14, 0));
        assert!(Geometry::new((2, 2, 1), 3, 1, Padding::Valid).is_err());
    }
}

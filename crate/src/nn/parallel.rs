//! Splitting a batch's work across the cores. Each layer's heavy work is a matrix product over
//! the rows of a batch. A convolution's (and the logistic regression's) are cut into one block of
//! rows per core ([`dot`], [`parts_above`]; the logistic regression's gradient in
//! `models::lbfgs`). A dense layer's products are smaller
//! (a few hundred microseconds): [`product`] cuts the output into one block per core without a
//! reduction, and the training loop runs on one of rayon's threads ([`in_pool`]) so that the
//! thread computes one block itself and hands over only the other. (The earlier way, rows split
//! from the notebook's own thread, with the weight gradient summed from per-core parts, was
//! measured slower than one core on the mlp-epoch bench: 1.9 s/epoch against 1.44.) On a busy
//! machine the block not yet taken by the other core is computed by the training thread itself.

use std::cell::Cell;
use std::ops::Range;

use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use super::FlushSubnormals;

/// Below this many multiply-adds a product stays on one core.
const PARALLEL_MIN_WORK: usize = 48_000_000;

/// How many parts `work` multiply-adds over `rows` rows are worth splitting into.
pub(crate) fn parts_for(rows: usize, work: usize) -> usize {
    parts_above(rows, work, PARALLEL_MIN_WORK)
}

/// As [`parts_for`], with the threshold given: a convolution's block (receptive fields, product,
/// activation) is worth a core from far less work than a bare product.
pub(crate) fn parts_above(rows: usize, work: usize, min_work: usize) -> usize {
    if work < min_work {
        1
    } else {
        rayon::current_num_threads().clamp(1, rows.max(1))
    }
}

thread_local! {
    /// Set on the threads that `train::side_by_side` starts, one training each, more trainings
    /// than cores: they share the cores already, and moving them into the pool would run them
    /// two at a time.
    static OWN_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Keeps [`in_pool`]'s work on the calling thread from now on (a thread of `side_by_side`).
pub(crate) fn keep_work_on_this_thread() {
    OWN_THREAD.with(|own| own.set(true));
}

/// `work()` on one of rayon's threads. A product split across the cores from a thread outside
/// the pool (a notebook's, a program's main thread) hands both parts to the pool and waits;
/// from a pool thread, the thread takes one part itself and only the other is handed over: so a
/// training loop runs in the pool (one hand-over per call, none when already there).
pub fn in_pool<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    let own_thread = OWN_THREAD.with(Cell::get);
    if own_thread || rayon::current_thread_index().is_some() || rayon::current_num_threads() < 2 {
        return work();
    }
    rayon::scope(|_| work())
}

/// `n` items cut into `parts` contiguous ranges of near-equal length.
pub(crate) fn ranges(n: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.clamp(1, n.max(1));
    (0..parts)
        .map(|p| (n * p / parts)..(n * (p + 1) / parts))
        .collect()
}

/// Mutable row blocks of `view` for the given item ranges, `rows_per_item` rows per item.
pub(crate) fn split_rows_mut<'a>(
    mut view: ArrayViewMut2<'a, f32>,
    items: &[Range<usize>],
    rows_per_item: usize,
) -> Vec<ArrayViewMut2<'a, f32>> {
    let mut out = Vec::with_capacity(items.len());
    for (i, r) in items.iter().enumerate() {
        if i + 1 == items.len() {
            out.push(view);
            break;
        }
        let (head, tail) = view.split_at(Axis(0), r.len() * rows_per_item);
        out.push(head);
        view = tail;
    }
    out
}

/// Below this many multiply-adds a dense layer's product stays on one core (see [`product`]).
const SPLIT_MIN_WORK: usize = 1 << 21;

/// c = a · b, or c += a · b when `accumulate`, cut into one block of the output per core when
/// the product is worth it: the rows of `a` and `c` when `a` is the larger operand, else the
/// columns of `b` and `c`, so each core packs only its share of the large operand. One product
/// of a dense layer on a batch of 128 (128×784 · 784×256 is 26M multiply-adds, about half a
/// millisecond on one core) is split this way; each output value is summed over the same `k`
/// in the same order however the output is cut.
pub(crate) fn product(
    a: &ArrayView2<f32>,
    b: &ArrayView2<f32>,
    c: ArrayViewMut2<f32>,
    accumulate: bool,
) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let parts = if m * k * n < SPLIT_MIN_WORK {
        1
    } else {
        rayon::current_num_threads()
    };
    let by_rows = m >= n;
    let blocks = aligned_ranges(if by_rows { m } else { n }, parts, 16);
    if blocks.len() <= 1 {
        let mut c = c;
        gemm_acc(a, b, &mut c, accumulate);
        return;
    }
    let axis = if by_rows { Axis(0) } else { Axis(1) };
    split_mut(c, axis, &blocks)
        .into_par_iter()
        .zip(blocks.par_iter())
        .for_each(|(mut block, r)| {
            let _flush = FlushSubnormals::new();
            if by_rows {
                gemm_acc(&a.slice(s![r.clone(), ..]), b, &mut block, accumulate)
            } else {
                gemm_acc(a, &b.slice(s![.., r.clone()]), &mut block, accumulate)
            }
        });
}

/// `n` items cut into at most `parts` contiguous ranges whose boundaries fall on multiples of
/// `align` (a whole number of the kernels' SIMD tiles per block).
fn aligned_ranges(n: usize, parts: usize, align: usize) -> Vec<Range<usize>> {
    let parts = parts.clamp(1, n.div_ceil(align).max(1));
    let cut = |p: usize| (n * p / parts).next_multiple_of(align).min(n);
    (0..parts)
        .map(|p| cut(p)..cut(p + 1))
        .filter(|r| !r.is_empty())
        .collect()
}

/// `view` cut along `axis` into the given consecutive ranges.
fn split_mut<'a>(
    mut view: ArrayViewMut2<'a, f32>,
    axis: Axis,
    parts: &[Range<usize>],
) -> Vec<ArrayViewMut2<'a, f32>> {
    let mut out = Vec::with_capacity(parts.len());
    for (i, r) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            out.push(view);
            break;
        }
        let (head, tail) = view.split_at(axis, r.len());
        out.push(head);
        view = tail;
    }
    out
}

/// c = a · b on one core with the `gemm` crate and its AVX-512 kernels (feature `x86-v4`,
/// chosen at run time): measured here on one core against matrixmultiply, in GFLOP/s,
/// 25,088×288 · 288×64 (a convolution) 70 vs 43; 288×25,088 · 25,088×64 (its kernel gradient)
/// 89 vs 64; 6,272×576 · 576×128: 85 vs 69; 128×6,272 · 6,272×128 (a dense layer) 97 vs 71.
pub(crate) fn gemm_into(a: &ArrayView2<f32>, b: &ArrayView2<f32>, c: &mut ArrayViewMut2<f32>) {
    gemm_acc(a, b, c, false)
}

/// (m, k, n) of c (m × n) = a (m × k) · b (k × n); panics on shapes that do not fit.
pub(crate) fn product_shapes(
    a: &ArrayView2<f32>,
    b: &ArrayView2<f32>,
    c: &ArrayViewMut2<f32>,
) -> (usize, usize, usize) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    assert!(
        b.nrows() == k && c.dim() == (m, n),
        "matrix product shapes: {m}×{k} · {}×{n} into {:?}",
        b.nrows(),
        c.dim()
    );
    (m, k, n)
}

/// c = a · b, or c += a · b when `accumulate`.
pub(crate) fn gemm_acc(
    a: &ArrayView2<f32>,
    b: &ArrayView2<f32>,
    c: &mut ArrayViewMut2<f32>,
    accumulate: bool,
) {
    let (m, k, n) = product_shapes(a, b, c);
    let (a_s, b_s) = (a.strides(), b.strides());
    let (c_rs, c_cs) = (c.strides()[0], c.strides()[1]);
    // SAFETY: the pointers and strides come from live ndarray views whose shapes were checked
    // above; `c` is borrowed mutably and does not alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs,
            c_rs,
            accumulate,
            a.as_ptr(),
            a_s[1],
            a_s[0],
            b.as_ptr(),
            b_s[1],
            b_s[0],
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// a · b, rows of `a` split across the cores when the product is large.
pub(crate) fn dot(a: &ArrayView2<f32>, b: &ArrayView2<f32>) -> Array2<f32> {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let mut out = Array2::<f32>::zeros((m, n));
    let items = ranges(m, parts_for(m, m * k * n));
    let blocks = split_rows_mut(out.view_mut(), &items, 1);
    blocks
        .into_par_iter()
        .zip(items.par_iter())
        .for_each(|(mut block, r)| {
            let _flush = FlushSubnormals::new();
            gemm_into(&a.slice(s![r.clone(), ..]), b, &mut block)
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_products_equal_plain_products() {
        let a = Array2::from_shape_fn((300, 400), |(i, j)| ((i * 31 + j * 7) % 13) as f32 - 6.0);
        let b = Array2::from_shape_fn((400, 500), |(i, j)| ((i * 5 + j * 11) % 9) as f32 - 4.0);
        assert!(parts_for(300, 300 * 400 * 500) >= 1);
        assert_eq!(dot(&a.view(), &b.view()), a.dot(&b));
        for (m, n) in [(128, 256), (256, 128), (784, 256), (37, 300)] {
            let a = Array2::from_shape_fn((m, 784), |(i, j)| ((i * 7 + j * 3) % 11) as f32 - 5.0);
            let b = Array2::from_shape_fn((784, n), |(i, j)| ((i * 3 + j * 5) % 7) as f32 - 3.0);
            let mut c = Array2::from_elem((m, n), 1.0f32);
            product(&a.view(), &b.view(), c.view_mut(), true);
            assert_eq!(c, a.dot(&b) + 1.0, "{m}×{n}");
            product(&a.view(), &b.view(), c.view_mut(), false);
            assert_eq!(c, a.dot(&b), "{m}×{n}");
        }
        assert_eq!(aligned_ranges(784, 2, 16), vec![0..400, 400..784]);
        assert_eq!(aligned_ranges(10, 2, 16), vec![0..10]);
        assert_eq!(
            ranges(10, 3),
            vec![0..3, 3..6, 6..10],
            "ranges cover everything once"
        );
    }
}

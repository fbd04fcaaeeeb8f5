//! The exact integer search on raw u8 pixels: AVX-512 VNNI where the CPU has it.

use ndarray::Array2;
use rayon::prelude::*;

use super::search::{TopK, QUERY_BLOCK};

/// Training pixels packed for integer dot products: each row padded to a multiple of 64 bytes
/// and stored as `p − 128` in i8, so VNNI's u8×i8 product applies: a·p = a·(p − 128) + 128·Σa.
#[derive(Clone, Debug)]
pub(super) struct PackedPixels {
    pub(super) dim: usize,
    stride: usize,
    rows: usize,
    data: Vec<i8>,
    norms: Vec<i32>,
}

const LANES: usize = 64;

fn padded_u8_rows(images: &Array2<u8>, stride: usize, rows_multiple: usize) -> Vec<u8> {
    let rows = images.nrows().div_ceil(rows_multiple) * rows_multiple;
    let mut out = vec![0u8; rows * stride];
    for (r, row) in images.outer_iter().enumerate() {
        for (dst, &p) in out[r * stride..r * stride + images.ncols()]
            .iter_mut()
            .zip(row.iter())
        {
            *dst = p;
        }
    }
    out
}

impl PackedPixels {
    pub(super) fn train(images: &Array2<u8>) -> Self {
        let dim = images.ncols();
        let stride = dim.div_ceil(LANES) * LANES;
        let rows = images.nrows();
        // Padding rows and columns hold pixel 0, i.e. −128 here; padded rows are never reported.
        let data = padded_u8_rows(images, stride, 4)
            .into_iter()
            .map(|p| (p ^ 0x80) as i8)
            .collect::<Vec<i8>>();
        let norms = images
            .outer_iter()
            .map(|r| r.iter().map(|&p| i32::from(p) * i32::from(p)).sum())
            .collect();
        Self {
            dim,
            stride,
            rows,
            data,
            norms,
        }
    }

    /// For each query: the k nearest (squared distance, index), nearest first.
    pub(super) fn search(&self, queries: &Array2<u8>, k: usize) -> Vec<Vec<(i64, usize)>> {
        let stride = self.stride;
        let q_packed = padded_u8_rows(queries, stride, 4);
        let q_rows = queries.nrows();
        let q_padded = q_packed.len() / stride;
        let kernel = VnniKernel::detect();
        let groups: Vec<usize> = (0..q_padded).step_by(QUERY_BLOCK).collect();
        groups
            .into_par_iter()
            .flat_map_iter(|q0| {
                let q1 = (q0 + QUERY_BLOCK).min(q_padded);
                let mut tops: Vec<TopK<i32>> = (q0..q1).map(|_| TopK::new(k)).collect();
                let train_rows_padded = self.data.len() / stride;
                let mut t0 = 0;
                while t0 < train_rows_padded {
                    let t1 = (t0 + 256).min(train_rows_padded);
                    for qa in (q0..q1).step_by(4) {
                        let a = &q_packed[qa * stride..(qa + 4) * stride];
                        for tb in (t0..t1).step_by(4) {
                            let b = &self.data[tb * stride..(tb + 4) * stride];
                            let dots = dots_4x4(a, b, stride, kernel);
                            for (i, row) in dots.iter().enumerate() {
                                let top = &mut tops[qa - q0 + i];
                                for (j, &dot) in row.iter().enumerate() {
                                    let t = tb + j;
                                    if t < self.rows {
                                        // ‖b‖² − 2a·(b−128); the per-query constant is added below.
                                        top.push(self.norms[t] - 2 * dot, t);
                                    }
                                }
                            }
                        }
                    }
                    t0 = t1;
                }
                tops.into_iter()
                    .enumerate()
                    .map(move |(i, top)| (q0 + i, top))
            })
            .filter(|(qi, _)| *qi < q_rows)
            .map(|(qi, top)| {
                let a = &q_packed[qi * stride..(qi + 1) * stride];
                let a_norm: i64 = a.iter().map(|&p| i64::from(p) * i64::from(p)).sum();
                let a_sum: i64 = a.iter().map(|&p| i64::from(p)).sum();
                top.items
                    .into_iter()
                    .map(|(score, t)| (a_norm + i64::from(score) - 256 * a_sum, t))
                    .collect()
            })
            .collect()
    }
}

/// Proof that this CPU runs the AVX-512 VNNI kernel: only [`VnniKernel::detect`] makes one, so
/// the unsafe kernel is never entered on a CPU without it.
#[derive(Clone, Copy, Debug)]
struct VnniKernel(());

impl VnniKernel {
    fn detect() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vnni")
        {
            return Some(VnniKernel(()));
        }
        None
    }
}

/// Dot products of 4 query rows (u8) with 4 training rows (i8), each `stride` long; on the VNNI
/// kernel when `kernel` is given, else in plain Rust (the same integers).
#[inline]
fn dots_4x4(a: &[u8], b: &[i8], stride: usize, kernel: Option<VnniKernel>) -> [[i32; 4]; 4] {
    // Checked in release builds too: the kernel reads 4 rows of `stride` bytes from each slice.
    assert!(
        a.len() >= 4 * stride && b.len() >= 4 * stride && stride.is_multiple_of(64),
        "dots_4x4: 4 rows of a multiple of 64 bytes needed"
    );
    #[cfg(target_arch = "x86_64")]
    if kernel.is_some() {
        // SAFETY: a VnniKernel exists only where the CPU has AVX-512F and VNNI (detect), and the
        // assert above keeps every load inside the slices.
        return unsafe { vnni::dots_4x4(a, b, stride) };
    }
    let _ = kernel;
    let mut out = [[0i32; 4]; 4];
    for (i, row) in out.iter_mut().enumerate() {
        let ar = &a[i * stride..(i + 1) * stride];
        for (j, v) in row.iter_mut().enumerate() {
            let br = &b[j * stride..(j + 1) * stride];
            *v = ar
                .iter()
                .zip(br)
                .map(|(&x, &y)| i32::from(x) * i32::from(y))
                .sum();
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must have AVX-512F and VNNI; `a` and `b` must hold 4 rows of `stride` bytes and
    /// `stride` must be a multiple of 64 (the safe `dots_4x4` checks both).
    #[target_feature(enable = "avx512f,avx512vnni")]
    pub(super) unsafe fn dots_4x4(a: &[u8], b: &[i8], stride: usize) -> [[i32; 4]; 4] {
        let mut acc = [[_mm512_setzero_si512(); 4]; 4];
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut off = 0;
        while off < stride {
            let av = [
                _mm512_loadu_si512(pa.add(off) as *const _),
                _mm512_loadu_si512(pa.add(stride + off) as *const _),
                _mm512_loadu_si512(pa.add(2 * stride + off) as *const _),
                _mm512_loadu_si512(pa.add(3 * stride + off) as *const _),
            ];
            let bv = [
                _mm512_loadu_si512(pb.add(off) as *const _),
                _mm512_loadu_si512(pb.add(stride + off) as *const _),
                _mm512_loadu_si512(pb.add(2 * stride + off) as *const _),
                _mm512_loadu_si512(pb.add(3 * stride + off) as *const _),
            ];
            for i in 0..4 {
                for j in 0..4 {
                    acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], av[i], bv[j]);
                }
            }
            off += 64;
        }
        let mut out = [[0i32; 4]; 4];
        for i in 0..4 {
            for j in 0..4 {
                out[i][j] = _mm512_reduce_add_epi32(acc[i][j]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_kernel_matches_plain_dot_products() {
        let a: Vec<u8> = (0..4 * 128).map(|i| (i * 37 % 256) as u8).collect();
        let b: Vec<i8> = (0..4 * 128)
            .map(|i: i32| ((i * 91 % 256) - 128) as i8)
            .collect();
        assert_eq!(
            dots_4x4(&a, &b, 128, VnniKernel::detect()),
            dots_4x4(&a, &b, 128, None)
        );
    }

    #[test]
    #[should_panic(expected = "4 rows of a multiple of 64 bytes")]
    fn short_slices_are_refused_in_release_builds_too() {
        let (a, b) = (vec![0u8; 3 * 64], vec![0i8; 4 * 64]);
        dots_4x4(&a, &b, 64, VnniKernel::detect());
    }
}

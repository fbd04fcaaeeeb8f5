//! Matrix products on bf16 inputs with f32 sums, for the convolutions' products when a model
//! asks for them ([`Products::Bf16`]) and the CPU has AVX-512 BF16: each input is rounded to
//! bf16 (8 bits of mantissa, to nearest even; subnormals to zero, as the instructions do), each
//! product and every sum stays f32. Where the CPU has AMX-BF16 the products run on its tiles
//! (module `amx`), else on `vdpbf16ps` (which on this Xeon is no faster than f32 FMAs: kept
//! for CPUs without AMX).
//!
//! Layout: both instructions multiply lanes of two bf16 *pairs* and add both products to an f32
//! lane, so both factors are packed as pairs along the summed dimension k: a u32 holds the value
//! of an even k in its low half and of the next k in its high half (an odd k gets a zero
//! partner). The left factor is read through two strides (pair (row r, pair p) at
//! `r·rs + p·ps`), so a row-major matrix and the transpose of one both pack by whole rows,
//! without a transpose. A right factor used by many products (a convolution's kernel, by every
//! tile of a pass) is packed once: [`PackedRight`].

use std::cell::RefCell;

use ndarray::{ArrayView2, ArrayViewMut2};

/// Which arithmetic a layer's matrix products use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Products {
    /// f32 inputs and sums (the gemm crate).
    #[default]
    F32,
    /// bf16 inputs, f32 sums, where the CPU has AVX-512 BF16; f32 elsewhere.
    Bf16,
}

impl Products {
    /// What a model built here uses unless told otherwise ([`crate::Model::set_products`]):
    /// bf16 where the products run on AMX tiles (its convolutions' products ~1.5× faster, report
    /// 001's CNN reaching the same test accuracy as in f32 within 0.2 points on average over
    /// seeds: README, "Speed"), else f32 (`vdpbf16ps` alone is no faster than f32 FMAs).
    pub fn preferred() -> Self {
        #[cfg(target_arch = "x86_64")]
        if bf16_available() && amx::available() {
            return Products::Bf16;
        }
        Products::F32
    }
}

/// Whether this CPU runs [`Products::Bf16`] as bf16 (else such products run in f32).
pub fn bf16_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `x` rounded to bf16 as the instructions round it: to nearest even, subnormals to zero.
#[inline(always)]
pub fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    if bits & 0x7f80_0000 == 0 {
        return ((bits >> 16) & 0x8000) as u16;
    }
    if x.is_nan() {
        return ((bits >> 16) | 0x0040) as u16;
    }
    (bits.wrapping_add(0x7fff + ((bits >> 16) & 1)) >> 16) as u16
}

/// The f32 a bf16 value stands for.
#[inline(always)]
pub fn from_bf16(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

#[inline(always)]
fn pair(even: f32, odd: f32) -> u32 {
    to_bf16(even) as u32 | (to_bf16(odd) as u32) << 16
}

/// Rows of the left factor per register tile, and columns of the right factor per tile (two
/// registers): 24 accumulators of 32.
const MR: usize = 12;
const NR: usize = 32;

thread_local! {
    /// Packing buffers, one pair per thread, kept between calls: a convolution tile's left
    /// factor is a few hundred kilobytes, which a fresh allocation would map and zero each time.
    static BUFFERS: RefCell<(Vec<u32>, Vec<u32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// c = a · b, or c += a · b when `accumulate`, with bf16 inputs and f32 sums. Runs in f32
/// (`f32_product`) when the CPU lacks AVX-512 BF16. The tests' entry for every layout; the
/// engine's products go through [`product_packed_right`] and [`TransposedSum`].
#[cfg(test)]
pub(crate) fn product(
    a: &ArrayView2<f32>,
    b: &ArrayView2<f32>,
    c: &mut ArrayViewMut2<f32>,
    accumulate: bool,
    f32_product: impl FnOnce(&ArrayView2<f32>, &ArrayView2<f32>, &mut ArrayViewMut2<f32>, bool),
) {
    product_with(a, b, None, c, accumulate, f32_product)
}

/// Whether products of these sides gain from bf16: a side under 32 (a first convolution's
/// 9-long sums) would be mostly padding in tiles of 16 pairs and 32 columns.
pub(crate) fn worth_bf16(m: usize, k: usize, n: usize) -> bool {
    m.min(k).min(n) >= 32
}

/// A right factor packed once for the many products a pass makes with it (a convolution's
/// kernel, or its transpose, is the same for every tile): pairs of its rows, ⌈k/2⌉ rounded up
/// to 16 rows, each `ld` pairs long (n rounded up to 32), zeros in the padding, the layout both
/// the AMX and the AVX-512 products read. Empty where the products run in f32: the CPU lacks
/// AVX-512 BF16, or a side under 32 ([`worth_bf16`]).
pub(crate) struct PackedRight<'a> {
    b: ArrayView2<'a, f32>,
    pairs: Vec<u32>,
    ld: usize,
}

impl<'a> PackedRight<'a> {
    pub(crate) fn new(b: ArrayView2<'a, f32>) -> Self {
        let (k, n) = b.dim();
        let ld = n.div_ceil(NR) * NR;
        let mut pairs = Vec::new();
        if bf16_available() && k >= 32 && n >= 32 {
            // A transposed kernel packs from a row-major copy: rows of pairs read contiguous.
            pack_row_pairs(&b.as_standard_layout().view(), &mut pairs, ld);
            pairs.resize(k.div_ceil(2).div_ceil(16) * 16 * ld, 0);
        }
        Self { b, pairs, ld }
    }
}

/// Σ aᵢᵀ · bᵢ over many pairs (a convolution's ∂loss/∂kernel: fieldsᵀ · ∂loss/∂z summed over a
/// core's tiles), each aᵢ (k × m) and bᵢ (k × n) stored by rows. On AMX the sum stays in the
/// tiles' layout, transposed, and is written out once: transposing each tile's product into
/// the sum (73k values a tile in report 001's third convolution) took more than its product.
/// In f32 (through `f32_product`, into an m × n sum) when asked for, without AMX (`vdpbf16ps`
/// alone is no faster than f32 here), or for sides under 32.
pub(crate) struct TransposedSum {
    m: usize,
    n: usize,
    /// On AMX: ⌈n/32⌉·32 rows of ⌈m/32⌉·32, the sum transposed (zeros in the padding); else
    /// m × n.
    sum: Vec<f32>,
    tiles: bool,
}

impl TransposedSum {
    pub(crate) fn new(m: usize, n: usize, products: Products) -> Self {
        #[cfg(target_arch = "x86_64")]
        let tiles = products == Products::Bf16
            && bf16_available()
            && amx::available()
            && worth_bf16(32, m, n);
        #[cfg(not(target_arch = "x86_64"))]
        let tiles = {
            let _ = products;
            false
        };
        let len = match tiles {
            true => n.div_ceil(32) * 32 * m.div_ceil(32) * 32,
            false => m * n,
        };
        Self {
            m,
            n,
            sum: vec![0.0; len],
            tiles,
        }
    }

    /// sum += aᵀ · b; f32 sides (or no AMX) through `f32_product` (c += aᵀ · b when its last
    /// argument is true).
    pub(crate) fn add(
        &mut self,
        a: &ArrayView2<f32>,
        b: &ArrayView2<f32>,
        f32_product: impl FnOnce(&ArrayView2<f32>, &ArrayView2<f32>, &mut ArrayViewMut2<f32>, bool),
    ) {
        assert!(
            a.ncols() == self.m && b.ncols() == self.n && a.nrows() == b.nrows(),
            "transposed sum: {:?}ᵀ · {:?} into {} × {}",
            a.dim(),
            b.dim(),
            self.m,
            self.n
        );
        if a.nrows() == 0 {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if self.tiles {
            // The tiles read factors by rows (a convolution's tiles are: no copy then).
            let (a, b) = (a.as_standard_layout(), b.as_standard_layout());
            amx::transposed_sum_add(&a.view(), &b.view(), &mut self.sum);
            return;
        }
        let mut sum = ndarray::ArrayViewMut2::from_shape((self.m, self.n), &mut self.sum)
            .expect("m × n values");
        f32_product(&a.t(), b, &mut sum, true);
    }

    /// The sum (m × n).
    pub(crate) fn into_array(self) -> ndarray::Array2<f32> {
        let (m, n) = (self.m, self.n);
        if !self.tiles {
            return ndarray::Array2::from_shape_vec((m, n), self.sum).expect("m × n values");
        }
        let ld = m.div_ceil(32) * 32;
        ndarray::Array2::from_shape_fn((m, n), |(i, j)| self.sum[j * ld + i])
    }
}

/// c = a · right (or += ), as [`product`], reading `right`'s packed pairs.
pub(crate) fn product_packed_right(
    a: &ArrayView2<f32>,
    right: &PackedRight,
    c: &mut ArrayViewMut2<f32>,
    accumulate: bool,
    f32_product: impl FnOnce(&ArrayView2<f32>, &ArrayView2<f32>, &mut ArrayViewMut2<f32>, bool),
) {
    if right.pairs.is_empty() {
        return f32_product(a, &right.b, c, accumulate);
    }
    product_with(
        a,
        &right.b,
        Some((&right.pairs, right.ld)),
        c,
        accumulate,
        f32_product,
    )
}

/// c = a · b (or += ), `packed` holding b as [`PackedRight`] does when it is at hand.
fn product_with(
    a: &ArrayView2<f32>,
    b: &ArrayView2<f32>,
    packed: Option<(&[u32], usize)>,
    c: &mut ArrayViewMut2<f32>,
    accumulate: bool,
    f32_product: impl FnOnce(&ArrayView2<f32>, &ArrayView2<f32>, &mut ArrayViewMut2<f32>, bool),
) {
    let (m, k, n) = super::parallel::product_shapes(a, b, c);
    if !bf16_available() || c.strides()[1] != 1 || c.strides()[0] < 0 || m == 0 || n == 0 {
        return f32_product(a, b, c, accumulate);
    }
    if k == 0 {
        if !accumulate {
            c.fill(0.0);
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if amx::available() {
        return amx::product(a, b, packed, c, accumulate);
    }
    vector_product(a, b, packed, c, accumulate);
}

/// The products on `vdpbf16ps` (the CPU has AVX-512 BF16; checked shapes, m, n, k > 0).
fn vector_product(
    a: &ArrayView2<f32>,
    b: &ArrayView2<f32>,
    packed: Option<(&[u32], usize)>,
    c: &mut ArrayViewMut2<f32>,
    accumulate: bool,
) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    BUFFERS.with(|buffers| {
        let (left, right) = &mut *buffers.borrow_mut();
        let left = pack_left(a, left);
        let (right, ldb): (&[u32], usize) = match packed {
            Some(p) => p,
            None => {
                let ldb = pack_right(b, right);
                (right, ldb)
            }
        };
        // SAFETY: avx512f and avx512bf16 were checked by the caller; `left` holds m rows of k/2
        // pairs at its strides and `right` k/2 rows of `ldb` ≥ n pairs (ldb a multiple of NR),
        // as packed here or by PackedRight; `c` is m × n with unit column stride.
        unsafe { product_packed(m, n, k.div_ceil(2), left, right, ldb, c, accumulate) }
    });
}

/// The left factor's pairs and strides: (pairs, row stride, pair stride).
struct Left<'a> {
    pairs: &'a [u32],
    rs: usize,
    ps: usize,
}

/// Packs `a` (m × k) as m rows of k/2 pairs, by whole rows of its memory: a row-major `a` as
/// pairs along each row, the transpose of a row-major matrix (`x.t()`) as pairs of its rows.
fn pack_left<'a>(a: &ArrayView2<f32>, buffer: &'a mut Vec<u32>) -> Left<'a> {
    let (m, k) = a.dim();
    let kp = k.div_ceil(2);
    buffer.clear();
    buffer.resize(m * kp, 0);
    if a.strides()[1] == 1 || k == 1 {
        for (r, out) in buffer.chunks_exact_mut(kp).enumerate() {
            pack_along(&a.row(r), out);
        }
        Left {
            pairs: buffer,
            rs: kp,
            ps: 1,
        }
    } else {
        // Pairs of a's columns, which are rows of the matrix a is the transpose of.
        for (p, out) in buffer.chunks_exact_mut(m).enumerate() {
            let odd = (2 * p + 1 < k).then(|| a.column(2 * p + 1));
            pack_rows(&a.column(2 * p), odd.as_ref(), out);
        }
        Left {
            pairs: buffer,
            rs: 1,
            ps: m,
        }
    }
}

/// Packs `b` (k × n) as k/2 rows of pairs of its rows, each row `ldb` long (n rounded up to
/// NR, zeros after n); returns `ldb`.
fn pack_right(b: &ArrayView2<f32>, buffer: &mut Vec<u32>) -> usize {
    let ldb = b.ncols().div_ceil(NR) * NR;
    pack_row_pairs(b, buffer, ldb);
    ldb
}

/// Pairs of rows of `b` (k × n) into k/2 rows `ld` ≥ n long: `out[p·ld + j]` = (b[2p, j],
/// b[2p+1, j]) for j < n, zeros from n to ld. `out` keeps its length if long enough (the values
/// past k/2 rows are stale).
fn pack_row_pairs(b: &ArrayView2<f32>, out: &mut Vec<u32>, ld: usize) {
    let (k, n) = b.dim();
    if out.len() < k.div_ceil(2) * ld {
        out.resize(k.div_ceil(2) * ld, 0);
    }
    for p in 0..k.div_ceil(2) {
        let row = &mut out[p * ld..(p + 1) * ld];
        let odd = (2 * p + 1 < k).then(|| b.row(2 * p + 1));
        pack_rows(&b.row(2 * p), odd.as_ref(), &mut row[..n]);
        row[n..].fill(0);
    }
}

/// `out[j]` = (v[2j], v[2j + 1]) for one vector (a zero partner after an odd length).
fn pack_along(v: &ndarray::ArrayView1<f32>, out: &mut [u32]) {
    match v.as_slice() {
        Some(s) => {
            let (pairs, rest) = s.split_at(s.len() / 2 * 2);
            #[cfg(target_arch = "x86_64")]
            if bf16_available() {
                // SAFETY: the features were just checked.
                unsafe { x86::pack_along(pairs, out) };
            } else {
                for (o, p) in out.iter_mut().zip(pairs.chunks_exact(2)) {
                    *o = pair(p[0], p[1]);
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            for (o, p) in out.iter_mut().zip(pairs.chunks_exact(2)) {
                *o = pair(p[0], p[1]);
            }
            if let Some(&last) = rest.first() {
                out[pairs.len() / 2] = pair(last, 0.0);
            }
        }
        None => {
            for (j, o) in out.iter_mut().enumerate() {
                let odd = if 2 * j + 1 < v.len() {
                    v[2 * j + 1]
                } else {
                    0.0
                };
                *o = pair(v[2 * j], odd);
            }
        }
    }
}

/// `out[j]` = (even[j], odd[j]) for two vectors of the same length (`odd` None: zeros).
fn pack_rows(
    even: &ndarray::ArrayView1<f32>,
    odd: Option<&ndarray::ArrayView1<f32>>,
    out: &mut [u32],
) {
    match (even.as_slice(), odd.map(|o| o.as_slice())) {
        (Some(e), Some(Some(o))) => {
            #[cfg(target_arch = "x86_64")]
            if bf16_available() {
                // SAFETY: the features were just checked.
                unsafe { x86::pack_rows(e, o, out) };
                return;
            }
            for ((out, &e), &o) in out.iter_mut().zip(e).zip(o) {
                *out = pair(e, o);
            }
        }
        _ => {
            for (j, out) in out.iter_mut().enumerate() {
                *out = pair(even[j], odd.map_or(0.0, |o| o[j]));
            }
        }
    }
}

/// c (m × n) = left · right (or += ), tile by tile: panels of NR columns of `right`, each run
/// against every MR rows of `left` (a panel of `right`, kp · NR pairs, stays in L1).
///
/// # Safety
/// The CPU has avx512f and avx512bf16; `left` holds pair (r, p) at `r·rs + p·ps` for r < m,
/// p < kp; `right` holds kp rows of `ldb` pairs (ldb ≥ n, a multiple of NR); `c` is m × n with
/// unit column stride.
#[allow(clippy::too_many_arguments)]
unsafe fn product_packed(
    m: usize,
    n: usize,
    kp: usize,
    left: Left<'_>,
    right: &[u32],
    ldb: usize,
    c: &mut ArrayViewMut2<f32>,
    accumulate: bool,
) {
    #[cfg(target_arch = "x86_64")]
    {
        let ldc = c.strides()[0] as usize;
        let cp = c.as_mut_ptr();
        for j0 in (0..n).step_by(NR) {
            let cols = (n - j0).min(NR);
            let mut i0 = 0;
            while i0 < m {
                let rows = (m - i0).min(MR);
                let t = x86::Tile {
                    kp,
                    a: left.pairs.as_ptr().add(i0 * left.rs),
                    rs: left.rs,
                    ps: left.ps,
                    b: right.as_ptr().add(j0),
                    ldb,
                    c: cp.add(i0 * ldc + j0),
                    ldc,
                    cols,
                    accumulate,
                };
                x86::tile_rows(rows, &t);
                i0 += rows;
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (m, n, kp, left, right, ldb, c, accumulate);
        unreachable!("bf16 products run only where bf16_available()");
    }
}

/// The same products on AMX tiles (`tdpbf16ps`: a 16 × 16 f32 tile += 16 rows of 16 bf16 pairs
/// times 16 pairs of 16 columns), where the CPU has AMX-BF16 and Linux grants the tile state.
/// One core here: about 1,500 G multiply-adds a second in a loop of tile products, against ~100
/// G for f32 FMAs. Both factors are padded with zeros to whole tiles; the result's whole blocks
/// of 32 rows are stored straight into c, the rest (and a transposed result) go through a
/// buffer of whole tiles.
#[cfg(target_arch = "x86_64")]
mod amx {
    use std::arch::asm;
    use std::sync::OnceLock;

    use ndarray::{ArrayView2, ArrayViewMut2};

    use super::{pack_along, pack_row_pairs};

    /// Whether AMX-BF16 runs here: the CPU says so (CPUID 7: EDX bits 22 and 24) and Linux
    /// grants this process the tile data state (arch_prctl ARCH_REQ_XCOMP_PERM, XTILEDATA).
    pub(super) fn available() -> bool {
        static AVAILABLE: OnceLock<bool> = OnceLock::new();
        *AVAILABLE.get_or_init(|| {
            // CPUID leaf 7 exists on every x86-64 CPU that has AVX-512 (checked first).
            let cpu = super::bf16_available()
                && std::arch::x86_64::__cpuid_count(7, 0).edx & (1 << 22 | 1 << 24)
                    == (1 << 22 | 1 << 24);
            const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
            const XFEATURE_XTILEDATA: libc::c_long = 18;
            // SAFETY: a plain system call with two integers; it fails (non-zero) where unknown.
            cpu && unsafe {
                libc::syscall(
                    libc::SYS_arch_prctl,
                    ARCH_REQ_XCOMP_PERM,
                    XFEATURE_XTILEDATA,
                )
            } == 0
        })
    }

    /// Packing buffers kept between calls (see the module's): the left and right factors, a
    /// scratch for the transposed case, and the product's whole tiles.
    type Buffers = (Vec<u32>, Vec<u32>, Vec<u32>, Vec<f32>);

    thread_local! {
        static BUFFERS: std::cell::RefCell<Buffers> =
            const { std::cell::RefCell::new((Vec::new(), Vec::new(), Vec::new(), Vec::new())) };
    }

    /// c = a · b or c += a · b (checked shapes, unit column stride of c, m, n, k > 0), `packed`
    /// holding b as `PackedRight` does when it is at hand.
    pub(super) fn product(
        a: &ArrayView2<f32>,
        b: &ArrayView2<f32>,
        packed: Option<(&[u32], usize)>,
        c: &mut ArrayViewMut2<f32>,
        accumulate: bool,
    ) {
        let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
        let transposed = a.strides()[1] != 1 && a.strides()[0] == 1 && k > 1;
        let pairs = k.div_ceil(2);
        let kp = pairs.div_ceil(16) * 16;
        BUFFERS.with(|buffers| {
            let (left, right, scratch, out) = &mut *buffers.borrow_mut();
            if transposed {
                return transposed_product(a, b, c, accumulate, (left, right, scratch, out));
            }
            let rows_pad = m.div_ceil(32) * 32;
            // Only the padding is zeroed: the packing writes every other value.
            grow(left, rows_pad * kp);
            for r in 0..m {
                let row = &mut left[r * kp..(r + 1) * kp];
                pack_along(&a.row(r), &mut row[..pairs]);
                row[pairs..].fill(0);
            }
            left[m * kp..rows_pad * kp].fill(0);
            let (right, ldb): (&[u32], usize) = match packed {
                Some(p) => p,
                None => {
                    let ldb = n.div_ceil(32) * 32;
                    grow(right, kp * ldb);
                    pack_row_pairs(b, right, ldb);
                    right[pairs * ldb..kp * ldb].fill(0);
                    (right, ldb)
                }
            };
            // Whole blocks of 32 rows go straight into c (loaded first to accumulate) when its
            // rows are whole tiles wide; the rest through `out`.
            let ldc = c.strides()[0] as usize;
            let direct = if n == ldb { m / 32 * 32 } else { 0 };
            // SAFETY (both calls): AMX was granted (available()); `left` holds rows_pad rows of
            // kp pairs, `right` kp rows of ldb pairs (packed above or by PackedRight: ⌈k/2⌉
            // rounded up to 16 rows), c's first `direct` rows hold ldb = n values at stride ldc,
            // and `out` is grown to the rest's whole tiles.
            if direct > 0 {
                unsafe {
                    tiles(
                        direct,
                        kp,
                        ldb,
                        left.as_ptr(),
                        right.as_ptr(),
                        (c.as_mut_ptr(), ldc),
                        accumulate,
                    )
                };
            }
            if direct < m {
                let rest = rows_pad - direct;
                grow(out, rest * ldb);
                unsafe {
                    tiles(
                        rest,
                        kp,
                        ldb,
                        left[direct * kp..].as_ptr(),
                        right.as_ptr(),
                        (out.as_mut_ptr(), ldb),
                        false,
                    )
                };
                for i in direct..m {
                    let row = c
                        .row_mut(i)
                        .into_slice()
                        .expect("unit column stride, checked");
                    let o = &out[(i - direct) * ldb..(i - direct) * ldb + n];
                    if accumulate {
                        row.iter_mut().zip(o).for_each(|(v, x)| *v += x);
                    } else {
                        row.copy_from_slice(o);
                    }
                }
            }
        });
    }

    /// c = a · b (or += ) for a left factor stored by columns (the transpose of a row-major
    /// matrix: a convolution's fields in ∂loss/∂kernel = fieldsᵀ · ∂loss/∂z). That is the right
    /// factor of the transposed product, cᵀ = bᵀ · aᵀ, which packs by rows; cᵀ goes through
    /// `out` and is written back transposed.
    fn transposed_product(
        a: &ArrayView2<f32>,
        b: &ArrayView2<f32>,
        c: &mut ArrayViewMut2<f32>,
        accumulate: bool,
        (left, right, scratch, out): (&mut Vec<u32>, &mut Vec<u32>, &mut Vec<u32>, &mut Vec<f32>),
    ) {
        let m = a.nrows();
        let ldb = m.div_ceil(32) * 32;
        grow(out, b.ncols().div_ceil(32) * 32 * ldb);
        transposed_tiles(&a.t(), b, (left, right, scratch), out, false);
        for i in 0..m {
            let row = c
                .row_mut(i)
                .into_slice()
                .expect("unit column stride, checked");
            if accumulate {
                row.iter_mut()
                    .enumerate()
                    .for_each(|(j, v)| *v += out[j * ldb + i]);
            } else {
                row.iter_mut()
                    .enumerate()
                    .for_each(|(j, v)| *v = out[j * ldb + i]);
            }
        }
    }

    /// out = aᵀ · b or out += aᵀ · b when `load`, for a (k × m) and b (k × n) stored by rows,
    /// `out` holding the result transposed (n × m) in whole tiles: ⌈n/32⌉·32 rows of ⌈m/32⌉·32.
    fn transposed_tiles(
        a: &ArrayView2<f32>,
        b: &ArrayView2<f32>,
        (left, right, scratch): (&mut Vec<u32>, &mut Vec<u32>, &mut Vec<u32>),
        out: &mut [f32],
        load: bool,
    ) {
        let (k, m, n) = (a.nrows(), a.ncols(), b.ncols());
        let pairs = k.div_ceil(2);
        let kp = pairs.div_ceil(16) * 16;
        let (rows_pad, ldb) = (n.div_ceil(32) * 32, m.div_ceil(32) * 32);
        assert!(
            out.len() >= rows_pad * ldb,
            "transposed tiles: output too short"
        );
        grow(left, rows_pad * kp);
        grow(right, kp * ldb);
        // bᵀ's rows of pairs are b's pairs of rows, read along b's rows and written down the
        // columns of `left` (a few kilobytes of rows: they stay in L1).
        pack_row_pairs(b, scratch, n);
        for p in 0..pairs {
            for (j, &v) in scratch[p * n..(p + 1) * n].iter().enumerate() {
                left[j * kp + p] = v;
            }
        }
        for j in 0..n {
            left[j * kp + pairs..(j + 1) * kp].fill(0);
        }
        left[n * kp..rows_pad * kp].fill(0);
        pack_row_pairs(a, right, ldb);
        right[pairs * ldb..kp * ldb].fill(0);
        // SAFETY: AMX was granted (available()); the buffers hold whole tiles as sized above.
        unsafe {
            tiles(
                rows_pad,
                kp,
                ldb,
                left.as_ptr(),
                right.as_ptr(),
                (out.as_mut_ptr(), ldb),
                load,
            )
        };
    }

    /// `out` += aᵀ · b for [`super::TransposedSum`] (its buffer, as [`transposed_tiles`]
    /// lays it out).
    pub(super) fn transposed_sum_add(a: &ArrayView2<f32>, b: &ArrayView2<f32>, out: &mut [f32]) {
        BUFFERS.with(|buffers| {
            let (left, right, scratch, _) = &mut *buffers.borrow_mut();
            transposed_tiles(a, b, (left, right, scratch), out, true);
        });
    }

    /// `buffer` at least `len` long, its values stale.
    fn grow<T: Copy + Default>(buffer: &mut Vec<T>, len: usize) {
        if buffer.len() < len {
            buffer.resize(len, T::default());
        }
    }

    #[repr(C, align(64))]
    struct TileConfig {
        palette: u8,
        start_row: u8,
        reserved: [u8; 14],
        bytes_per_row: [u16; 16],
        rows: [u8; 16],
    }

    /// out (rows × ldb f32 at row stride ldo) = left (rows × kp pairs) · right (kp × ldb
    /// pairs), or += when `load`; rows a multiple of 32, kp of 16, ldb of 32. Tiles 0–3 hold a
    /// 32 × 32 block of out, 4–5 two 16-row strips of left, 6–7 two 16-column strips of right.
    ///
    /// # Safety
    /// AMX granted; the three buffers as described.
    unsafe fn tiles(
        rows: usize,
        kp: usize,
        ldb: usize,
        left: *const u32,
        right: *const u32,
        (out, ldo): (*mut f32, usize),
        load: bool,
    ) {
        let mut config = TileConfig {
            palette: 1,
            start_row: 0,
            reserved: [0; 14],
            bytes_per_row: [0; 16],
            rows: [0; 16],
        };
        for t in 0..8 {
            config.bytes_per_row[t] = 64;
            config.rows[t] = 16;
        }
        let (ls, rs, os) = (kp * 4, ldb * 4, ldo * 4);
        // SAFETY (the whole body): every tile load reads 16 rows of 64 bytes inside its buffer
        // (rows, kp and ldb are whole tiles) and every load or store of `out` 16 rows of 64
        // bytes inside it.
        unsafe {
            asm!("ldtilecfg [{}]", in(reg) &config, options(nostack));
            for i in (0..rows).step_by(32) {
                for j in (0..ldb).step_by(32) {
                    let o = out.add(i * ldo + j);
                    if load {
                        asm!(
                            "tileloadd tmm0, [{o00} + {os}*1]",
                            "tileloadd tmm1, [{o01} + {os}*1]",
                            "tileloadd tmm2, [{o10} + {os}*1]",
                            "tileloadd tmm3, [{o11} + {os}*1]",
                            o00 = in(reg) o, o01 = in(reg) o.add(16), o10 = in(reg) o.add(16 * ldo),
                            o11 = in(reg) o.add(16 * ldo + 16), os = in(reg) os, options(nostack),
                        );
                    } else {
                        asm!(
                            "tilezero tmm0",
                            "tilezero tmm1",
                            "tilezero tmm2",
                            "tilezero tmm3",
                            options(nostack)
                        );
                    }
                    for p in (0..kp).step_by(16) {
                        let a0 = left.add(i * kp + p);
                        let a1 = left.add((i + 16) * kp + p);
                        let b0 = right.add(p * ldb + j);
                        let b1 = right.add(p * ldb + j + 16);
                        asm!(
                            "tileloadd tmm4, [{a0} + {ls}*1]",
                            "tileloadd tmm5, [{a1} + {ls}*1]",
                            "tileloadd tmm6, [{b0} + {rs}*1]",
                            "tileloadd tmm7, [{b1} + {rs}*1]",
                            "tdpbf16ps tmm0, tmm4, tmm6",
                            "tdpbf16ps tmm1, tmm4, tmm7",
                            "tdpbf16ps tmm2, tmm5, tmm6",
                            "tdpbf16ps tmm3, tmm5, tmm7",
                            a0 = in(reg) a0, a1 = in(reg) a1, b0 = in(reg) b0, b1 = in(reg) b1,
                            ls = in(reg) ls, rs = in(reg) rs, options(nostack),
                        );
                    }
                    asm!(
                        "tilestored [{o00} + {os}*1], tmm0",
                        "tilestored [{o01} + {os}*1], tmm1",
                        "tilestored [{o10} + {os}*1], tmm2",
                        "tilestored [{o11} + {os}*1], tmm3",
                        o00 = in(reg) o, o01 = in(reg) o.add(16), o10 = in(reg) o.add(16 * ldo),
                        o11 = in(reg) o.add(16 * ldo + 16), os = in(reg) os, options(nostack),
                    );
                }
            }
            asm!("tilerelease", options(nostack));
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{pair, MR};

    /// One register tile's operands (see `product_packed`).
    pub(super) struct Tile {
        pub kp: usize,
        pub a: *const u32,
        pub rs: usize,
        pub ps: usize,
        pub b: *const u32,
        pub ldb: usize,
        pub c: *mut f32,
        pub ldc: usize,
        pub cols: usize,
        pub accumulate: bool,
    }

    /// The tile for `rows` ≤ MR rows.
    ///
    /// # Safety
    /// As `product_packed`, for this tile's rows and columns.
    pub(super) unsafe fn tile_rows(rows: usize, t: &Tile) {
        // SAFETY: forwarded.
        unsafe {
            match rows {
                12 => tile::<12>(t),
                11 => tile::<11>(t),
                10 => tile::<10>(t),
                9 => tile::<9>(t),
                8 => tile::<8>(t),
                7 => tile::<7>(t),
                6 => tile::<6>(t),
                5 => tile::<5>(t),
                4 => tile::<4>(t),
                3 => tile::<3>(t),
                2 => tile::<2>(t),
                1 => tile::<1>(t),
                _ => unreachable!("at most MR = {MR} rows a tile"),
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512bf16")]
    unsafe fn tile<const R: usize>(t: &Tile) {
        // SAFETY (the whole body): the caller guarantees the features and that every pointer
        // below stays inside the packed factors and c (masked loads and stores beyond `cols`).
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); 2]; R];
            for p in 0..t.kp {
                let bp = t.b.add(p * t.ldb);
                let b0: __m512bh = std::mem::transmute(_mm512_loadu_si512(bp as *const _));
                let b1: __m512bh = std::mem::transmute(_mm512_loadu_si512(bp.add(16) as *const _));
                let ap = t.a.add(p * t.ps);
                for (r, acc) in acc.iter_mut().enumerate() {
                    let a: __m512bh =
                        std::mem::transmute(_mm512_set1_epi32(*ap.add(r * t.rs) as i32));
                    acc[0] = _mm512_dpbf16_ps(acc[0], a, b0);
                    acc[1] = _mm512_dpbf16_ps(acc[1], a, b1);
                }
            }
            let m0: __mmask16 = if t.cols >= 16 {
                0xffff
            } else {
                (1u16 << t.cols) - 1
            };
            let m1: __mmask16 = match t.cols {
                32 => 0xffff,
                c if c > 16 => (1u16 << (c - 16)) - 1,
                _ => 0,
            };
            for (r, acc) in acc.iter().enumerate() {
                let cr = t.c.add(r * t.ldc);
                let (mut v0, mut v1) = (acc[0], acc[1]);
                if t.accumulate {
                    v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
                    v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr.add(16)));
                }
                _mm512_mask_storeu_ps(cr, m0, v0);
                _mm512_mask_storeu_ps(cr.add(16), m1, v1);
            }
        }
    }

    /// `out[j]` = (s[2j], s[2j + 1]); `s` has an even length.
    ///
    /// # Safety
    /// The CPU has avx512f and avx512bf16.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub(super) unsafe fn pack_along(s: &[f32], out: &mut [u32]) {
        let chunks = s.len() / 32;
        // SAFETY: every load reads 32 floats of `s` and every store writes 16 pairs of `out`,
        // inside both (out holds s.len() / 2 pairs).
        unsafe {
            for i in 0..chunks {
                let lo = _mm512_loadu_ps(s.as_ptr().add(32 * i));
                let hi = _mm512_loadu_ps(s.as_ptr().add(32 * i + 16));
                // Lanes 0–15 from `lo`, 16–31 from `hi`: the values in their order, as pairs.
                let v: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(hi, lo));
                _mm512_storeu_si512(out.as_mut_ptr().add(16 * i) as *mut _, v);
            }
        }
        for j in chunks * 16..s.len() / 2 {
            out[j] = pair(s[2 * j], s[2 * j + 1]);
        }
    }

    /// `out[j]` = (e[j], o[j]).
    ///
    /// # Safety
    /// The CPU has avx512f and avx512bf16.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub(super) unsafe fn pack_rows(e: &[f32], o: &[f32], out: &mut [u32]) {
        let n = out.len().min(e.len()).min(o.len());
        let chunks = n / 16;
        // SAFETY: every load reads 16 floats of `e` and `o`, every store 16 pairs of `out`.
        unsafe {
            for i in 0..chunks {
                let ev: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(_mm512_loadu_ps(
                    e.as_ptr().add(16 * i),
                )));
                let ov: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(_mm512_loadu_ps(
                    o.as_ptr().add(16 * i),
                )));
                let v = _mm512_or_si512(
                    _mm512_cvtepu16_epi32(ev),
                    _mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(ov)),
                );
                _mm512_storeu_si512(out.as_mut_ptr().add(16 * i) as *mut _, v);
            }
        }
        for j in chunks * 16..n {
            out[j] = pair(e[j], o[j]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |_| rng.gen_range(-2.0f32..2.0))
    }

    /// The product of the bf16-rounded factors, summed in f64.
    fn reference(a: &ArrayView2<f32>, b: &ArrayView2<f32>) -> Array2<f64> {
        let round = |x: f32| from_bf16(to_bf16(x)) as f64;
        Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
            (0..a.ncols())
                .map(|k| round(a[[i, k]]) * round(b[[k, j]]))
                .sum()
        })
    }

    fn f32_product(
        a: &ArrayView2<f32>,
        b: &ArrayView2<f32>,
        c: &mut ArrayViewMut2<f32>,
        acc: bool,
    ) {
        crate::nn::parallel::gemm_acc(a, b, c, acc)
    }

    fn f32_ran(_: &ArrayView2<f32>, _: &ArrayView2<f32>, _: &mut ArrayViewMut2<f32>, _: bool) {
        panic!("the f32 path ran")
    }

    #[test]
    fn rounds_to_nearest_even_and_flushes_subnormals() {
        assert_eq!(to_bf16(1.0), 0x3f80);
        // 1 + 2^-8 lies halfway between two bf16 values: to the even one, 1.0.
        assert_eq!(to_bf16(1.0 + 2f32.powi(-8)), 0x3f80);
        // 1 + 3·2^-8 lies halfway too: up, to the even 1 + 2^-6.
        assert_eq!(to_bf16(1.0 + 3.0 * 2f32.powi(-8)), 0x3f82);
        assert_eq!(to_bf16(-2.5), 0xc020);
        assert_eq!(to_bf16(f32::MIN_POSITIVE / 2.0), 0);
        assert_eq!(to_bf16(-f32::MIN_POSITIVE / 2.0), 0x8000);
        assert!(from_bf16(to_bf16(f32::NAN)).is_nan());
        assert_eq!(from_bf16(to_bf16(f32::MAX)), f32::INFINITY);
    }

    /// Σ aᵢᵀ · bᵢ over tiles of a convolution's shapes (and edges): on AMX within f32 rounding of
    /// the rounded factors' sum, whatever the inputs' layout; in f32 the gemm products' sum.
    #[test]
    fn transposed_sums_match_the_sum_of_the_rounded_factors_products() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for &(m, n, rows) in &[
            (288, 64, [392, 392, 200]),
            (33, 40, [7, 31, 64]),
            (9, 32, [784, 5, 1]),
        ] {
            let parts: Vec<_> = rows
                .iter()
                .map(|&r| (random(r, m, &mut rng), random(r, n, &mut rng)))
                .collect();
            for products in [Products::F32, Products::Bf16] {
                let rounds = products == Products::Bf16
                    && bf16_available()
                    && cfg!(target_arch = "x86_64")
                    && worth_bf16(32, m, n);
                let mut sum = TransposedSum::new(m, n, products);
                let mut expected = Array2::<f64>::zeros((m, n));
                let mut scale = Array2::<f64>::ones((m, n));
                for (i, (a, b)) in parts.iter().enumerate() {
                    // The second part comes as a transposed view (not the tiles' layout).
                    let at = a.t().as_standard_layout().into_owned();
                    let view = if i == 1 { at.t() } else { a.view() };
                    assert_eq!(view.is_standard_layout(), i != 1);
                    sum.add(&view, &b.view(), f32_product);
                    let r = |x: f32| if rounds { from_bf16(to_bf16(x)) } else { x } as f64;
                    for ((p, q), e) in expected.indexed_iter_mut() {
                        for k in 0..a.nrows() {
                            *e += r(a[[k, p]]) * r(b[[k, q]]);
                            scale[[p, q]] += (a[[k, p]] * b[[k, q]]).abs() as f64;
                        }
                    }
                }
                let got = sum.into_array();
                for ((p, q), &g) in got.indexed_iter() {
                    assert!(
                        (g as f64 - expected[[p, q]]).abs() <= 1e-5 * scale[[p, q]],
                        "{products:?} {m}×{n} at ({p}, {q}): {g} against {}",
                        expected[[p, q]]
                    );
                }
            }
        }
    }

    #[test]
    fn products_match_the_rounded_factors_product_for_every_layout_and_edge() {
        if !bf16_available() {
            eprintln!("no AVX-512 BF16 on this CPU: the bf16 products run in f32 here");
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        // Shapes with edges: rows not a multiple of 12, columns not of 32 (and fewer than 16),
        // odd k, k = 1; and the convolution's own shapes.
        for &(m, k, n) in &[
            (1, 1, 1),
            (13, 7, 5),
            (25, 33, 17),
            (12, 64, 32),
            (37, 288, 64),
            (49, 577, 130),
            (392, 288, 64),
        ] {
            let a = random(m, k, &mut rng);
            let b = random(k, n, &mut rng);
            // k × m by rows, so that at.t() is a transposed view (`to_owned` of a transposed
            // view would keep its column order, and at.t() would be row-major again).
            let at = a.t().as_standard_layout().into_owned();
            let bt = b.t().as_standard_layout().into_owned();
            assert!(m.min(k) == 1 || !at.t().is_standard_layout());
            assert!(k.min(n) == 1 || !bt.t().is_standard_layout());
            let expected = reference(&a.view(), &b.view());
            for (name, av, bv) in [
                ("row-major", a.view(), b.view()),
                ("left transposed", at.t(), b.view()),
                ("right transposed", a.view(), bt.t()),
            ] {
                // Each path: as dispatched (AMX where granted), AVX-512 alone, and with the
                // right factor packed once (sides of 32 or more only: else it runs in f32).
                for (path, accumulate) in [
                    ("dispatched", false),
                    ("dispatched", true),
                    ("AVX-512", false),
                    ("AVX-512", true),
                    ("packed right", false),
                    ("packed right", true),
                ] {
                    if path == "packed right" && !(k >= 32 && n >= 32) {
                        continue;
                    }
                    let start = random(m, n, &mut rng);
                    let mut c = if accumulate {
                        start.clone()
                    } else {
                        Array2::from_elem((m, n), f32::NAN)
                    };
                    match path {
                        "dispatched" => product(&av, &bv, &mut c.view_mut(), accumulate, f32_ran),
                        "AVX-512" => vector_product(&av, &bv, None, &mut c.view_mut(), accumulate),
                        _ => product_packed_right(
                            &av,
                            &PackedRight::new(bv.view()),
                            &mut c.view_mut(),
                            accumulate,
                            f32_ran,
                        ),
                    }
                    let name = format!("{name}, {path}");
                    for ((i, j), &got) in c.indexed_iter() {
                        let want = expected[[i, j]]
                            + if accumulate {
                                start[[i, j]] as f64
                            } else {
                                0.0
                            };
                        let scale: f64 = 1.0
                            + (0..k)
                                .map(|q| (a[[i, q]] * b[[q, j]]).abs() as f64)
                                .sum::<f64>();
                        assert!(
                            (got as f64 - want).abs() <= 1e-5 * scale,
                            "{name} {m}×{k}·{k}×{n} acc {accumulate} at ({i}, {j}): {got} against {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bf16_products_are_close_to_f32_ones() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (a, b) = (random(100, 288, &mut rng), random(288, 64, &mut rng));
        let mut exact = Array2::zeros((100, 64));
        f32_product(&a.view(), &b.view(), &mut exact.view_mut(), false);
        let mut got = Array2::zeros((100, 64));
        product(
            &a.view(),
            &b.view(),
            &mut got.view_mut(),
            false,
            f32_product,
        );
        // Each factor is off by at most 2^-9 relative, so each product by at most ~2^-8 of its
        // size: the sum by at most 2^-8 of the sum of the products' sizes (2^-7 for slack).
        for ((i, j), &g) in got.indexed_iter() {
            let size: f32 = (0..288).map(|k| (a[[i, k]] * b[[k, j]]).abs()).sum();
            let e = exact[[i, j]];
            assert!(
                (g - e).abs() <= size / 128.0,
                "{g} against {e} (products' sizes {size})"
            );
        }
    }
}

#[cfg(test)]
mod speed {
    use super::*;
    use ndarray::Array2;
    use std::time::Instant;

    /// `cargo test --release --lib bf16::speed -- --ignored --nocapture`: GFLOP/s of one core on
    /// the convolutions' tile products, bf16 against f32.
    #[test]
    #[ignore]
    fn tile_products() {
        for &(m, k, n) in &[
            (392, 288, 64),
            (490, 576, 128),
            (288, 392, 64),
            (392, 64, 288),
        ] {
            let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j) % 13) as f32 / 13.0);
            let b = Array2::from_shape_fn((k, n), |(i, j)| ((i + j * 3) % 11) as f32 / 11.0);
            let mut c = Array2::<f32>::zeros((m, n));
            let flops = 2.0 * (m * k * n) as f64;
            for name in ["f32", "bf16", "bf16 packed only"] {
                #[cfg(target_arch = "x86_64")]
                let name = if name == "bf16" && amx::available() {
                    "bf16 (AMX)"
                } else {
                    name
                };
                let reps = 200;
                let t = Instant::now();
                for _ in 0..reps {
                    match name {
                        "f32" => crate::nn::parallel::gemm_acc(
                            &a.view(),
                            &b.view(),
                            &mut c.view_mut(),
                            false,
                        ),
                        "bf16" => product(
                            &a.view(),
                            &b.view(),
                            &mut c.view_mut(),
                            false,
                            |_, _, _, _| unreachable!(),
                        ),
                        _ => BUFFERS.with(|bf| {
                            let (l, r) = &mut *bf.borrow_mut();
                            let _ = pack_left(&a.view(), l);
                            let _ = pack_right(&b.view(), r);
                        }),
                    }
                }
                let s = t.elapsed().as_secs_f64() / reps as f64;
                println!(
                    "{m}×{k}·{k}×{n} {name:>17}: {:.3} ms, {:.1} GFLOP/s",
                    s * 1e3,
                    flops / s / 1e9
                );
            }
        }
    }
}

//! Hot loops compiled for the CPU they run on: the crate is built for baseline x86-64 (evcxr
//! sets its own compiler flags), whose loops run four floats at a time.

/// `f()` compiled for AVX2 and FMA when the CPU has them, else as built. `f` and what it calls
/// inline into the AVX2 copy: mark them `#[inline(always)]`, the closure too
/// (`with_avx2(#[inline(always)] || ...)`). A large closure left to LLVM's judgement stayed out
/// of the AVX2 copy after an unrelated change elsewhere, and max pooling's backward ran 4× slower.
#[inline(always)]
pub(crate) fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        fn run<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports the features just checked.
            return unsafe { run(f) };
        }
    }
    f()
}

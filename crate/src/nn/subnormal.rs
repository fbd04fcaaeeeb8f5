//! Subnormal floats flushed to zero while the engine computes.
//!
//! As training converges, values below f32's smallest normal (1.2e-38) appear: softmax
//! probabilities of confident predictions (e^-90), Adam's first moment of a parameter whose
//! gradient stays zero (it decays by β₁ = 0.9 a step and then sticks at the smallest
//! subnormal, since 0.9 × 1.4e-45 rounds back to 1.4e-45), and every product they flow into.
//! x86 cores handle each operation on a subnormal in microcode, many times slower: notebook 01's
//! base MLP (bench `mlp-long`, 40 epochs) went from 1.45 s per epoch in its first three epochs to
//! 5.44 in its last three, against 1.53 and 1.12 with subnormals flushed (the same losses and
//! accuracies to four decimals). Values that small change nothing a
//! network learns, so the engine sets the core to flush them to zero (FTZ: a
//! subnormal result becomes 0; DAZ: a subnormal input counts as 0).
//!
//! The setting (x86's MXCSR register) belongs to a thread, and the crate runs inside notebook
//! kernels where it owns neither the process nor rayon's threads: so it is set for a scope, on
//! the thread that trains or predicts ([`FlushSubnormals`] in `fit` and in inference) and in each
//! block of work the engine hands to rayon's pool, and put back as it was afterwards. `gemm`
//! runs its products on the calling thread (`Parallelism::None`), so it is covered too. On other
//! architectures this does nothing.

/// While alive, the current thread flushes subnormal floats to zero; dropping it puts the
/// thread's previous setting back.
#[must_use = "the setting lasts as long as the guard"]
pub struct FlushSubnormals {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
}

#[cfg(target_arch = "x86_64")]
mod mxcsr {
    /// Flush to zero (bit 15) and denormals are zero (bit 6).
    pub const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);

    pub fn get() -> u32 {
        let mut value: u32 = 0;
        // SAFETY: stmxcsr stores the 32-bit MXCSR register (SSE, present on every x86_64) into
        // the given local.
        unsafe {
            std::arch::asm!(
                "stmxcsr [{}]",
                in(reg) &mut value as *mut u32,
                options(nostack, preserves_flags)
            )
        };
        value
    }

    pub fn set(value: u32) {
        // SAFETY: ldmxcsr loads MXCSR from the given local; the values written are ones read
        // from the register with only the FTZ and DAZ bits changed (both valid on x86_64).
        unsafe {
            std::arch::asm!(
                "ldmxcsr [{}]",
                in(reg) &value as *const u32,
                options(nostack, preserves_flags, readonly)
            )
        };
    }
}

impl FlushSubnormals {
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let saved = mxcsr::get();
            if saved & mxcsr::FTZ_DAZ != mxcsr::FTZ_DAZ {
                mxcsr::set(saved | mxcsr::FTZ_DAZ);
            }
            Self { saved }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Self {}
    }

    /// Whether the current thread flushes subnormals now.
    pub fn active() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            mxcsr::get() & mxcsr::FTZ_DAZ == mxcsr::FTZ_DAZ
        }
        #[cfg(not(target_arch = "x86_64"))]
        false
    }
}

impl Default for FlushSubnormals {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FlushSubnormals {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        if mxcsr::get() != self.saved {
            mxcsr::set(self.saved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushes_inside_the_scope_and_restores_after() {
        let before = FlushSubnormals::active();
        let tiny = std::hint::black_box(f32::MIN_POSITIVE);
        {
            let _flush = FlushSubnormals::new();
            if cfg!(target_arch = "x86_64") {
                assert!(FlushSubnormals::active());
                // FTZ: a result below the normal range is zero; DAZ: a subnormal input is zero.
                assert_eq!(std::hint::black_box(tiny * 0.5), 0.0);
                let sub = std::hint::black_box(f32::from_bits(1));
                assert_eq!(std::hint::black_box(sub * 2.0), 0.0);
            }
            {
                let _nested = FlushSubnormals::new();
            }
            assert_eq!(FlushSubnormals::active(), cfg!(target_arch = "x86_64"));
        }
        assert_eq!(FlushSubnormals::active(), before);
        if !before {
            assert!((std::hint::black_box(tiny) * 0.5).is_subnormal());
        }
    }
}

//! Training allocates the same large arrays at every step (a convolution's outputs are megabytes
//! per batch). glibc serves allocations above 32 MiB... and, after trimming, many smaller ones too,
//! with fresh pages from the kernel, and every fresh page costs a page fault: measured on
//! report 001's CNN, 103 ms per step with glibc's defaults against 75 ms with large blocks kept
//! in the heap. So, once per process, blocks up to 32 MiB (glibc's maximum for this setting) come
//! from the heap, and freed memory is not handed back to the kernel below 1 GiB.

use std::sync::Once;

static TUNED: Once = Once::new();

pub(crate) fn keep_large_blocks_in_heap() {
    TUNED.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes glibc's allocation thresholds; it is safe to call at any
        // time, and a rejected value leaves the default in place.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        }
    });
}

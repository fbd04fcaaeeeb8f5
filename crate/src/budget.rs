//! Quick mode: one switch that shrinks data and epochs so every notebook runs in about a minute.
//!
//! Set `FASHION_LAB_QUICK=1` (the tests do). Notebooks never branch on it themselves: they load
//! data through [`crate::data::FashionMnist::for_budget`] and pick sizes with [`full_or_quick`].

/// The environment variable that turns quick mode on (`1`, `true` or `yes`).
pub const QUICK_ENV: &str = "FASHION_LAB_QUICK";

/// Whether quick mode is on.
pub fn quick_mode() -> bool {
    std::env::var(QUICK_ENV)
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
        .unwrap_or(false)
}

/// `full` normally, `quick` in quick mode.
pub fn full_or_quick<T>(full: T, quick: T) -> T {
    if quick_mode() {
        quick
    } else {
        full
    }
}

/// A one-line description for the top of a notebook.
pub fn describe() -> String {
    if quick_mode() {
        format!(
            "quick mode ({QUICK_ENV}=1): small data and few epochs, numbers are NOT the report's"
        )
    } else {
        format!("full mode: the notebook's default budget (set {QUICK_ENV}=1 for a one-minute smoke run)")
    }
}

/// How this copy of the crate was compiled: a notebook prints it so a slow kernel is explained
/// (evcxr's own profile keeps debug assertions on unless the kernel spec turns them off).
pub fn build_info() -> String {
    let assertions = if cfg!(debug_assertions) {
        "ON (slow: start Jupyter with `make lab`, whose kernel turns them off)"
    } else {
        "off"
    };
    #[cfg(target_arch = "x86_64")]
    let simd = if std::arch::is_x86_feature_detected!("avx512f") {
        "AVX-512 CPU"
    } else if std::arch::is_x86_feature_detected!("avx2") {
        "AVX2 CPU"
    } else {
        "no AVX2"
    };
    #[cfg(not(target_arch = "x86_64"))]
    let simd = "non-x86 CPU";
    format!(
        "fashion-lab {}: debug assertions {assertions}; {simd}; {} threads",
        env!("CARGO_PKG_VERSION"),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    )
}

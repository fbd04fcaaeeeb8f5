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

/// The folder for a notebook's results and tables, when set (the notebook runner sets it to its
/// output folder, so a quick run never overwrites what `make reports` wrote).
pub const REPORTS_ENV: &str = "FASHION_LAB_REPORTS";

/// The folder for saved models, when set (the runner sets it in quick mode only, so a quick run
/// never replaces the full model `fashion-lab classify` loads).
pub const MODELS_ENV: &str = "FASHION_LAB_MODELS";

fn folder(env: &str, default: &str) -> std::path::PathBuf {
    std::env::var_os(env)
        .filter(|v| !v.is_empty())
        .map_or_else(|| default.into(), Into::into)
}

/// Where a notebook writes `name` among its results: `$FASHION_LAB_REPORTS/name`, else
/// `../reports/name` (the project's `reports/` seen from `notebooks/`, Jupyter's working folder);
/// in quick mode `../reports/quick/name`, so a quick run (in Lab too) never replaces a full one.
pub fn report_file(name: &str) -> std::path::PathBuf {
    folder(REPORTS_ENV, &default_folder("../reports")).join(name)
}

/// Where a notebook saves the model `name`: `$FASHION_LAB_MODELS/name`, else `../models/name`;
/// in quick mode `../models/quick/name`, so a one-epoch model never replaces the model
/// `fashion-lab classify` and the deployment page load.
pub fn model_file(name: &str) -> std::path::PathBuf {
    folder(MODELS_ENV, &default_folder("../models")).join(name)
}

fn default_folder(full: &str) -> String {
    if quick_mode() {
        format!("{full}/quick")
    } else {
        full.to_string()
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    #[test]
    fn output_folders_follow_their_variable_else_the_project_folder() {
        // A variable of this test's own: the process's real ones stay untouched.
        const VAR: &str = "FASHION_LAB_BUDGET_TEST_FOLDER";
        assert_eq!(
            super::folder(VAR, "../reports"),
            PathBuf::from("../reports")
        );
        std::env::set_var(VAR, "");
        assert_eq!(
            super::folder(VAR, "../reports"),
            PathBuf::from("../reports")
        );
        std::env::set_var(VAR, "/tmp/quick-out");
        assert_eq!(
            super::folder(VAR, "../reports").join("04.results.json"),
            PathBuf::from("/tmp/quick-out/04.results.json")
        );
        std::env::remove_var(VAR);
        assert!(super::report_file("x.json").ends_with("x.json"));
    }
}

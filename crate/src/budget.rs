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

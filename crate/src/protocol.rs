//! The protocol switch: which settings a notebook runs with, chosen once, by one variable.
//!
//! - `quick`: small data and an epoch or two, so every notebook runs in minutes (the tests);
//! - `classroom` (the default): the report's experiments, shortened to fit a class hour;
//! - `report`: the report's own settings, exactly (data sizes, epochs, batch, optimiser,
//!   callbacks), nothing added. Runs for hours; finished trainings are kept on disk.
//!
//! Set `FASHION_LAB_PROTOCOL=quick|classroom|report` (`make reports PROTOCOL=report`,
//! `make lab PROTOCOL=report`); `FASHION_LAB_QUICK=1` still means quick. A notebook never
//! branches on the protocol: its settings are a type made by [`crate::protocol_settings!`], whose
//! every field names its quick, classroom and report values, and [`pick`] chooses one of three.

use std::fmt;

/// The environment variable that chooses the protocol.
pub const PROTOCOL_ENV: &str = "FASHION_LAB_PROTOCOL";
/// The older switch for quick mode (`1`, `true` or `yes`), still honoured.
pub const QUICK_ENV: &str = "FASHION_LAB_QUICK";

/// Which settings a notebook runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Small data, an epoch or two: a smoke run for the tests, numbers not the report's.
    Quick,
    /// The report's experiments, shortened to fit a class hour (the default).
    Classroom,
    /// The report's own settings, exactly.
    Report,
}

impl Protocol {
    /// All three, in the order [`Protocol::pick`] takes their values.
    pub const ALL: [Protocol; 3] = [Protocol::Quick, Protocol::Classroom, Protocol::Report];

    /// The protocol this process runs: `FASHION_LAB_PROTOCOL`, else quick when
    /// `FASHION_LAB_QUICK` is set, else classroom. An unknown value is an error that names the
    /// three choices (a typo must not silently run the classroom protocol for an hour).
    pub fn from_env() -> crate::error::Result<Protocol> {
        let chosen = std::env::var(PROTOCOL_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty());
        match chosen {
            Some(value) => value.parse(),
            None => Ok(
                if std::env::var(QUICK_ENV).is_ok_and(|v| {
                    matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes")
                }) {
                    Protocol::Quick
                } else {
                    Protocol::Classroom
                },
            ),
        }
    }

    /// The protocol this process runs; see [`Protocol::from_env`]. An unknown value panics
    /// with the message of [`Protocol::from_env`]'s error: notebooks call `Protocol::from_env()?`
    /// first, so they fail in their first cell instead.
    pub fn current() -> Protocol {
        match Protocol::from_env() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    /// The value for this protocol among three: quick, classroom, report.
    pub fn pick<T>(self, quick: T, classroom: T, report: T) -> T {
        match self {
            Protocol::Quick => quick,
            Protocol::Classroom => classroom,
            Protocol::Report => report,
        }
    }

    /// Its name, as `FASHION_LAB_PROTOCOL` spells it.
    pub fn name(self) -> &'static str {
        self.pick("quick", "classroom", "report")
    }

    /// A folder of its own for results and models, below the project's `reports/` and
    /// `models/`: none for classroom (the default), `quick/` and `report/` for the others, so a
    /// quick or report run never replaces a classroom one.
    pub fn subfolder(self) -> Option<&'static str> {
        self.pick(Some("quick"), None, Some("report"))
    }

    /// A one-line description for the top of a notebook.
    pub fn describe(self) -> String {
        let what = self.pick(
            "small data and an epoch or two; the numbers are NOT the report's",
            "the report's experiments, shortened where the report's settings would not fit a class hour (the settings table lists every difference)",
            "the report's own settings, exactly; runs for hours, finished trainings are kept on disk",
        );
        format!(
            "protocol: {} ({what}); set {PROTOCOL_ENV}=quick|classroom|report to change it",
            self.name()
        )
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Protocol {
    type Err = crate::error::Error;

    fn from_str(s: &str) -> crate::error::Result<Protocol> {
        match s.trim().to_ascii_lowercase().as_str() {
            "quick" => Ok(Protocol::Quick),
            "classroom" | "" => Ok(Protocol::Classroom),
            "report" => Ok(Protocol::Report),
            other => Err(crate::error::Error::InvalidParameter {
                param: PROTOCOL_ENV,
                reason: format!(
                    "`{other}` is not a protocol: set it to quick, classroom or report (or leave it unset for classroom)"
                ),
            }),
        }
    }
}

/// The value for the current protocol among three: quick, classroom, report.
pub fn pick<T>(quick: T, classroom: T, report: T) -> T {
    Protocol::current().pick(quick, classroom, report)
}

/// Whether the quick protocol runs (the tests).
pub fn quick_mode() -> bool {
    // A misspelt protocol is reported by the notebook's first cell (`Protocol::from_env()?`);
    // here it only means "not quick", so loading data never panics on it.
    Protocol::from_env().is_ok_and(|p| p == Protocol::Quick)
}

/// One setting of a notebook, as its table shows it: the value of each protocol.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    /// The field's name in the settings type (what a cell reads).
    pub name: &'static str,
    /// What it sets, from the field's doc comment.
    pub about: String,
    /// The values of quick, classroom and report, written as Rust prints them.
    pub values: [String; 3],
    /// The value this run uses (a cell may have changed it).
    pub this_run: String,
}

impl Setting {
    /// Whether the classroom protocol shortens or changes this setting.
    pub fn classroom_differs(&self) -> bool {
        self.values[1] != self.values[2]
    }
}

/// A value as the settings table writes it: `Some(x)` as `x`, `None` as `none`.
pub fn show<T: fmt::Debug>(value: &T) -> String {
    let text = format!("{value:?}");
    if text == "None" {
        "none".to_string()
    } else if let Some(inner) = text.strip_prefix("Some(").and_then(|t| t.strip_suffix(')')) {
        inner.to_string()
    } else {
        text
    }
}

/// A notebook's settings: a struct whose every field names its quick, classroom and report
/// values. `Settings::current()` picks the protocol's values once; `settings()` lists them for
/// the table at the top of the notebook ([`crate::viz::settings_table`]).
///
/// ```
/// fashion_lab::protocol_settings! {
///     /// Report 001's settings.
///     pub struct Settings {
///         /// CNN: the most epochs (early stopping may end sooner)
///         max_epochs: usize = (1, 12, 20),
///         /// CNN: images per batch (Keras' default)
///         batch_size: usize = (32, 32, 32),
///     }
/// }
/// use fashion_lab::protocol::Protocol;
/// let s = Settings::for_protocol(Protocol::Report);
/// assert_eq!((s.max_epochs, s.batch_size), (20, 32));
/// let differs: Vec<_> = s.settings().into_iter().filter(|x| x.classroom_differs()).collect();
/// assert_eq!(differs.len(), 1);
/// assert_eq!(differs[0].values, ["1", "12", "20"].map(String::from));
/// ```
#[macro_export]
macro_rules! protocol_settings {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $field:ident : $ty:ty = ($quick:expr, $classroom:expr, $report:expr $(,)?)
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl $name {
            /// The values of protocol `p`.
            pub fn for_protocol(p: $crate::protocol::Protocol) -> Self {
                Self { $( $field: p.pick($quick, $classroom, $report), )* }
            }

            /// The values of the protocol this process runs (`FASHION_LAB_PROTOCOL`).
            pub fn current() -> $crate::error::Result<Self> {
                Ok(Self::for_protocol($crate::protocol::Protocol::from_env()?))
            }

            /// Every setting with its three values and the one this run uses.
            pub fn settings(&self) -> Vec<$crate::protocol::Setting> {
                let all = $crate::protocol::Protocol::ALL.map(Self::for_protocol);
                vec![$(
                    $crate::protocol::Setting {
                        name: stringify!($field),
                        about: [$($doc),*].map(str::trim).join(" "),
                        values: [
                            $crate::protocol::show(&all[0].$field),
                            $crate::protocol::show(&all[1].$field),
                            $crate::protocol::show(&all[2].$field),
                        ],
                        this_run: $crate::protocol::show(&self.$field),
                    },
                )*]
            }
        }
    };
}

/// The folder for a notebook's results and tables, when set (the notebook runner sets it to its
/// output folder, so a quick run never overwrites what `make reports` wrote).
pub const REPORTS_ENV: &str = "FASHION_LAB_REPORTS";

/// The folder for saved models, when set (the runner sets it for the quick and report
/// protocols, so neither replaces the classroom model `fashion-lab classify` loads).
pub const MODELS_ENV: &str = "FASHION_LAB_MODELS";

fn folder(env: &str, default: &str) -> std::path::PathBuf {
    std::env::var_os(env)
        .filter(|v| !v.is_empty())
        .map_or_else(|| default.into(), Into::into)
}

/// Where a notebook writes `name` among its results: `$FASHION_LAB_REPORTS/name`, else
/// `../reports/name` (the project's `reports/` seen from `notebooks/`, Jupyter's working folder),
/// `../reports/quick/name` or `../reports/report/name` under those protocols, so a run in Lab
/// never replaces another protocol's results.
pub fn report_file(name: &str) -> std::path::PathBuf {
    folder(REPORTS_ENV, &default_folder("../reports")).join(name)
}

/// Where a notebook saves the model `name`: `$FASHION_LAB_MODELS/name`, else `../models/name`
/// (`../models/quick/`, `../models/report/` under those protocols), so a one-epoch model never
/// replaces the model `fashion-lab classify` and the deployment page load.
pub fn model_file(name: &str) -> std::path::PathBuf {
    folder(MODELS_ENV, &default_folder("../models")).join(name)
}

fn default_folder(base: &str) -> String {
    match Protocol::from_env().ok().and_then(Protocol::subfolder) {
        Some(sub) => format!("{base}/{sub}"),
        None => base.to_string(),
    }
}

/// How this copy of the crate was compiled: a notebook prints it so a slow kernel is explained
/// (evcxr's own profile keeps debug assertions on unless the kernel spec turns them off), with
/// the build fingerprint that keys the kept trainings (`runs/`, crate/src/train/store.rs).
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
        "fashion-lab {} (build {}, opt-level {}): debug assertions {assertions}; {simd}; {} threads",
        env!("CARGO_PKG_VERSION"),
        &env!("FASHION_LAB_BUILD_HASH")[..8],
        env!("FASHION_LAB_OPT_LEVEL"),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    )
}

#[cfg(test)]
mod tests {
    use super::Protocol;
    use std::path::PathBuf;

    #[test]
    fn output_folders_follow_their_variable_else_the_project_folder() {
        // A variable of this test's own: the process's real ones stay untouched.
        const VAR: &str = "FASHION_LAB_PROTOCOL_TEST_FOLDER";
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

    #[test]
    fn protocol_names_parse_and_a_typo_is_an_error_naming_the_choices() {
        for p in Protocol::ALL {
            assert_eq!(p.name().parse::<Protocol>().ok(), Some(p));
        }
        assert_eq!(" Report ".parse::<Protocol>().ok(), Some(Protocol::Report));
        let err = "reprot".parse::<Protocol>().err().map(|e| e.to_string());
        let text = err.unwrap_or_default();
        assert!(
            text.contains("reprot") && text.contains("quick, classroom or report"),
            "{text}"
        );
    }

    #[test]
    fn pick_takes_quick_classroom_report_in_that_order() {
        assert_eq!(Protocol::Quick.pick(1, 2, 3), 1);
        assert_eq!(Protocol::Classroom.pick(1, 2, 3), 2);
        assert_eq!(Protocol::Report.pick(1, 2, 3), 3);
        assert_eq!(Protocol::Report.subfolder(), Some("report"));
        assert_eq!(Protocol::Classroom.subfolder(), None);
    }

    crate::protocol_settings! {
        /// A settings type as a notebook's.
        pub struct Demo {
            /// the most epochs
            /// (early stopping may end sooner)
            epochs: usize = (1, 12, 20),
            /// cut the learning rate on a plateau
            lr_cut: Option<f32> = (None, Some(0.2), None),
            /// images per batch
            batch: usize = (32, 32, 32),
        }
    }

    #[test]
    fn a_settings_type_lists_each_field_with_its_three_values() {
        let mut s = Demo::for_protocol(Protocol::Classroom);
        assert_eq!((s.epochs, s.lr_cut, s.batch), (12, Some(0.2), 32));
        s.epochs = 5; // a student's change shows as this run's value
        let rows = s.settings();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].name, "epochs");
        assert_eq!(
            rows[0].about,
            "the most epochs (early stopping may end sooner)"
        );
        assert_eq!(rows[0].values, ["1", "12", "20"].map(String::from));
        assert_eq!(rows[0].this_run, "5");
        assert_eq!(rows[1].values, ["none", "0.2", "none"].map(String::from));
        let differs: Vec<&str> = rows
            .iter()
            .filter(|r| r.classroom_differs())
            .map(|r| r.name)
            .collect();
        assert_eq!(differs, ["epochs", "lr_cut"]);
        // The process's own protocol: the tests run without FASHION_LAB_PROTOCOL or quick mode.
        assert!(Demo::current().is_ok());
    }
}

//! The crate's layers flow one way: data → prep → nn → models / train → eval → viz, then reports
//! (the notebooks' settings and tables) and serve (the deployment page) on top. A module may use
//! only modules below it (and `base`, `error`, `protocol` at the bottom). Presentation lives in
//! viz, so nothing under it imports viz; nn never imports train or eval.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each top-level module and its rank: a module may import only modules of a lower rank.
/// Equal ranks (models, train) are siblings and may not import each other.
const RANKS: &[(&str, u8)] = &[
    ("error", 0),
    ("base", 1),
    ("protocol", 1),
    ("data", 2),
    ("prep", 3),
    ("nn", 4),
    ("models", 5),
    ("train", 5),
    ("eval", 6),
    ("viz", 7),
    ("reports", 8),
    ("serve", 9),
];

/// Macros exported at the crate root (`crate::name!`), and the module that defines each.
const ROOT_MACROS: &[(&str, &str)] = &[("param_guard", "base"), ("protocol_settings", "protocol")];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments (`//` to the end of a line; doc comments included),
/// so a doc link to a higher module is not counted as an import.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    text.lines().enumerate().map(|(i, line)| {
        let code = match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        };
        (i + 1, code.to_string())
    })
}

/// Every `crate::<module>` a line names.
fn named_modules(line: &str) -> Vec<String> {
    line.match_indices("crate::")
        .filter(|(at, _)| {
            // `fashion_lab_crate::` or `my_crate::` are other paths.
            !line[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        })
        .map(|(at, _)| {
            line[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// (file, line, importer, imported) for every import that runs up or sideways.
fn violations(src: &Path) -> Vec<String> {
    let ranks: BTreeMap<&str, u8> = RANKS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src");
        let first = rel.components().next().expect("a path");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if module == "bin" || module == "lib" {
            continue; // the binaries and the crate root may use everything
        }
        let Some(&rank) = ranks.get(module.as_str()) else {
            found.push(format!(
                "{}: module `{module}` has no rank in RANKS",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("source is readable");
        for (line_no, line) in code_lines(&text) {
            for mut used in named_modules(&line) {
                if let Some((_, home)) = ROOT_MACROS.iter().find(|(name, _)| *name == used) {
                    used = home.to_string();
                }
                if used == module {
                    continue;
                }
                match ranks.get(used.as_str()) {
                    Some(&r) if r < rank => {}
                    _ => found.push(format!(
                        "{}:{line_no}: `{module}` imports `{used}` — {}",
                        rel.display(),
                        line.trim()
                    )),
                }
            }
        }
    }
    found
}

#[test]
fn imports_flow_down_the_pipeline_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(
        found.is_empty(),
        "imports that run up or sideways the pipeline:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_rule_catches_an_upward_import() {
    // The check itself: a copy of nn that imports viz and train must be reported.
    let dir = std::env::temp_dir().join(format!("layering-probe-{}", std::process::id()));
    let nn = dir.join("nn");
    std::fs::create_dir_all(&nn).expect("temp dir");
    std::fs::write(
        nn.join("model.rs"),
        "//! links to [`crate::viz`] in a comment are fine\nuse crate::viz::Table;\nuse crate::train::fit;\nuse crate::prep::MinMaxScaler;\n",
    )
    .expect("write probe");
    let found = violations(&dir);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("`nn` imports `viz`"), "{found:?}");
    assert!(found[1].contains("`nn` imports `train`"), "{found:?}");
}

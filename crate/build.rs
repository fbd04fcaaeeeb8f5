//! A digest of everything the crate's build reads — `src/` (with the page the `serve` feature
//! includes), this file, the Cargo files and lock, the example pictures `serve` includes, the
//! compiler's version, the target and its CPU features — given to the crate twice:
//!
//! - as `FASHION_LAB_BUILD_HASH`, which keys the store of finished trainings (src/train/store.rs),
//!   so a changed crate never reuses a training of another build;
//! - as `--cfg fashion_lab_sources="<digest>"` on the library's compiler command line, so a notebook
//!   kernel can keep its build of the crate. evcxr's compile cache (`:cache`, ~/.cache/evcxr) keys a
//!   build by the compiler's command line alone, which names the source files but not what is in
//!   them; so it never keeps a crate compiled incrementally, which is how Cargo builds path
//!   dependencies, and every kernel compiled the crate again (most of a warm first cell). The
//!   kernels' Cargo settings (tools/kernel-workspace.toml) build this crate without incremental
//!   compilation, and this digest makes the command line change with every edit: an edited crate
//!   misses the cache and is compiled; an unchanged one is copied.
//!
//! Without incremental compilation evcxr keeps this script's own build too, keyed by a command line
//! that does not change when the script is edited; so the script checks that it is the build of
//! the file on disk and otherwise says how to drop the stale build. Std only (FNV-1a, 64 bits): a
//! build dependency would add to every notebook kernel's compile.

use std::fs;
use std::path::{Path, PathBuf};

/// Files under `dir`, recursively.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// 64-bit FNV-1a: stable across Rust versions (std's hashers are not), and enough to tell edits apart.
fn fnv1a(state: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *state ^= u64::from(b);
        *state = state.wrapping_mul(0x0100_0000_01b3);
    }
}

/// This file as this build of it was compiled from.
const THIS_FILE: &str = include_str!("build.rs");

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let script = dir.join("build.rs");
    if fs::read_to_string(&script).is_ok_and(|now| now != THIS_FILE) {
        panic!(
            "{} changed after this build of it was made: evcxr's compile cache handed back an old \
             build. Remove the cached builds of this script and run the cell again:\n    \
             for m in $(grep -l '{}' ~/.cache/evcxr/*/meta); do rm -r \"${{m%/meta}}\"; done",
            script.display(),
            script.display()
        );
    }
    let inputs = [
        dir.join("src"),
        script,
        dir.join("Cargo.toml"),
        dir.join("../Cargo.toml"),
        dir.join("../Cargo.lock"),
        dir.join("../notebooks/examples"),
    ];
    let mut paths = Vec::new();
    for input in &inputs {
        // A listed folder is rescanned: a new file under src/ changes the digest too.
        println!("cargo::rerun-if-changed={}", input.display());
        if input.is_dir() {
            files(input, &mut paths);
        } else {
            paths.push(input.clone());
        }
    }
    // Sorted, so the digest does not depend on the order the file system lists them in.
    paths.sort();
    let mut digest = 0xcbf2_9ce4_8422_2325u64;
    for path in &paths {
        let Ok(contents) = fs::read(path) else {
            continue;
        };
        let relative = path.strip_prefix(&dir).unwrap_or(path);
        fnv1a(&mut digest, relative.to_string_lossy().as_bytes());
        fnv1a(&mut digest, &(contents.len() as u64).to_le_bytes());
        fnv1a(&mut digest, &contents);
    }
    // What else decides the compiled code (a `-C target-cpu=native` build is another build).
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("-V")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    fnv1a(&mut digest, &version);
    for var in ["TARGET", "CARGO_CFG_TARGET_FEATURE"] {
        fnv1a(
            &mut digest,
            std::env::var(var).unwrap_or_default().as_bytes(),
        );
    }
    println!("cargo::rustc-env=FASHION_LAB_BUILD_HASH={digest:016x}");
    // For `build_info()`: a notebook's first cell says how its kernel built the crate.
    let opt_level = std::env::var("OPT_LEVEL").unwrap_or_default();
    println!("cargo::rustc-env=FASHION_LAB_OPT_LEVEL={opt_level}");
    println!("cargo::rustc-check-cfg=cfg(fashion_lab_sources, values(any()))");
    println!("cargo::rustc-cfg=fashion_lab_sources=\"{digest:016x}\"");
}

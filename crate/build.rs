//! Puts a digest of the crate's sources on the library's compiler command line, as
//! `--cfg fashion_lab_sources="<digest>"`, so that a notebook kernel can keep its build of the crate.
//!
//! evcxr's compile cache (`:cache`, ~/.cache/evcxr) keys a build by the compiler's command line
//! alone, which names the source files but not what is in them; so it never keeps a crate compiled
//! incrementally, which is how Cargo builds path dependencies, and every kernel compiled the crate
//! again (most of a warm first cell). The kernels' Cargo settings (tools/kernel-workspace.toml) build
//! this crate without incremental compilation, and this digest makes the command line change with
//! every edit: an edited crate misses the cache and is compiled; an unchanged one is copied.
//!
//! The digest covers everything the library's compile reads from disk: `src/` (with the page the
//! `serve` feature includes), this file, `Cargo.toml`, and the example pictures `serve` includes.
//! Dependencies, features and profiles are on the command line already.
//!
//! Without incremental compilation evcxr keeps this script's own build too, keyed by a command line
//! that does not change when the script is edited; so the script checks that it is the build of
//! the file on disk and otherwise says how to drop the stale build.

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
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by Cargo"));
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
        dir.join("../notebooks/examples"),
    ];
    let mut paths = Vec::new();
    for input in &inputs {
        println!("cargo::rerun-if-changed={}", input.display());
        if input.is_dir() {
            files(input, &mut paths);
        } else {
            paths.push(input.clone());
        }
    }
    paths.sort();
    let mut digest = 0xcbf2_9ce4_8422_2325u64;
    for path in &paths {
        let relative = path.strip_prefix(&dir).unwrap_or(path);
        fnv1a(&mut digest, relative.to_string_lossy().as_bytes());
        let contents = fs::read(path).unwrap_or_default();
        fnv1a(&mut digest, &(contents.len() as u64).to_le_bytes());
        fnv1a(&mut digest, &contents);
    }
    // For `build_info()`: a notebook's first cell says how its kernel built the crate.
    let opt_level = std::env::var("OPT_LEVEL").unwrap_or_default();
    println!("cargo::rustc-env=FASHION_LAB_OPT_LEVEL={opt_level}");
    println!("cargo::rustc-check-cfg=cfg(fashion_lab_sources, values(any()))");
    println!("cargo::rustc-cfg=fashion_lab_sources=\"{digest:016x}\"");
}

//! The crate's build fingerprint, `FASHION_LAB_BUILD_HASH`: a hash of every file under `src/`,
//! the two `Cargo.toml`s and `Cargo.lock`, the compiler's version, the target and its CPU features. The store of finished trainings (src/train/store.rs)
//! keys each training by it, so a changed crate never reuses a training of another build.
//! Std only (FNV-1a, 64 bits): a build dependency would add to every notebook kernel's compile.

use std::path::{Path, PathBuf};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn fnv1a(hash: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *hash ^= u64::from(b);
        *hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let mut files = Vec::new();
    files_under(&manifest.join("src"), &mut files);
    // Sorted, so the hash does not depend on the order the file system lists them in.
    files.sort();
    files.extend(
        ["Cargo.toml", "../Cargo.toml", "../Cargo.lock"]
            .iter()
            .map(|f| manifest.join(f)),
    );
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for file in &files {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        let name = file.strip_prefix(&manifest).unwrap_or(file);
        fnv1a(&mut hash, name.to_string_lossy().as_bytes());
        fnv1a(&mut hash, &(bytes.len() as u64).to_le_bytes());
        fnv1a(&mut hash, &bytes);
        println!("cargo:rerun-if-changed={}", file.display());
    }
    // What else decides the compiled code (a `-C target-cpu=native` build is another build).
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("-V")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    fnv1a(&mut hash, &version);
    for var in ["TARGET", "CARGO_CFG_TARGET_FEATURE"] {
        fnv1a(&mut hash, std::env::var(var).unwrap_or_default().as_bytes());
    }
    // A new file under src/ changes the hash too: cargo rescans a listed folder.
    println!("cargo:rerun-if-changed={}", manifest.join("src").display());
    println!("cargo:rustc-env=FASHION_LAB_BUILD_HASH={hash:016x}");
}

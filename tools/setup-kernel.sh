#!/usr/bin/env bash
# Installs evcxr_jupyter at the pinned version, built with tools/evcxr/library-roots.patch (only
# when missing or different), and writes the Rust kernel spec into
# $KERNEL_PREFIX/share/jupyter/kernels (the project venv .venv, or the conda env fashion-lab),
# where that environment's Jupyter finds it.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${EVCXR_VERSION:?set by the Makefile}
cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
exe=$cargo_bin/evcxr_jupyter
patch=$(pwd)/tools/evcxr/library-roots.patch
# crates.io's sha256 of the two crates the patch applies to (evcxr's is in evcxr_jupyter's lock).
case $version in
  0.22.0) sums="evcxr 0.22.0 ee69caeeefc311959b85962458e370d8eccb165123edbc5270134aaee6d7ed80
evcxr_jupyter 0.22.0 3ce0d7b3058f68a9673df4f1266b641942fea0ec131881d095306e509a382764" ;;
  *) echo "error: $patch is for evcxr 0.22.0, not EVCXR_VERSION=$version; make a patch for $version and add its crates' sha256 here" >&2; exit 1 ;;
esac
sha256() { if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1; }
# The sources live in a folder named after the version and the patch, and cargo's install list
# names the folder it installed from: so the list says whether this build is the one installed.
src=${XDG_CACHE_HOME:-$HOME/.cache}/fashion-lab/evcxr-$version-$(sha256 "$patch" | cut -c1-12)
have=$(cargo install --list 2>/dev/null | grep '^evcxr_jupyter v' || true)
if [ "$have" != "evcxr_jupyter v$version ($src/evcxr_jupyter-$version):" ] || [ ! -x "$exe" ]; then
  command -v cargo >/dev/null || { echo "error: cargo not found; install Rust from rustup" >&2; exit 1; }
  command -v curl >/dev/null || { echo "error: curl not found; install it (apt-get install curl) to fetch evcxr's sources" >&2; exit 1; }
  echo "==> building evcxr_jupyter $version with tools/evcxr/library-roots.patch (found: ${have:-none}); takes ~8 minutes once"
  rm -rf "$src" && mkdir -p "$src"
  while read -r name ver sum; do
    curl -sSfL --retry 3 -o "$src/$name.crate" "https://static.crates.io/crates/$name/$name-$ver.crate"
    [ "$(sha256 "$src/$name.crate")" = "$sum" ] || { echo "error: $name-$ver.crate from crates.io does not have the sha256 tools/setup-kernel.sh expects" >&2; exit 1; }
    tar -xzf "$src/$name.crate" -C "$src" && rm "$src/$name.crate"
  done <<<"$sums"
  # git apply as a plain patch tool (no repository above the folder is looked for).
  (cd "$src" && GIT_CEILING_DIRECTORIES=$(dirname "$src") git apply -p1 "$patch")
  build=$(mktemp -d)  # ~750 MB of intermediate files, removed however the build ends
  trap 'rm -rf "$build"' EXIT
  cargo install --locked --quiet --path "$src/evcxr_jupyter-$version" --target-dir "$build"
fi
# rust-src lets the kernel's code completion work; it is optional.
rustup component list --installed 2>/dev/null | grep -q rust-src || rustup component add rust-src >/dev/null 2>&1 || true
# The spec starts the kernel through tools/evcxr-kernel.sh: each kernel builds in its own folder,
# in a Cargo workspace that keeps the repository's Cargo.lock (the kernel builds the locked
# versions) and sets the profiles (tools/kernel-workspace.toml: optimised as `cargo --release`,
# without debug assertions); the folder is removed when the kernel ends.
spec_dir=${KERNEL_PREFIX:-.venv}/share/jupyter/kernels/rust
mkdir -p "$spec_dir"
root=$(pwd)
spec=$(cat <<JSON
{
  "argv": ["$root/tools/evcxr-kernel.sh", "$exe", "--control_file", "{connection_file}"],
  "display_name": "Rust (fashion-lab)",
  "language": "rust",
  "interrupt_mode": "message"
}
JSON
)
if [ "$(cat "$spec_dir/kernel.json" 2>/dev/null)" != "$spec" ]; then
  echo "==> writing the Rust kernel spec to $spec_dir"
  printf '%s\n' "$spec" > "$spec_dir/kernel.json"
fi
# evcxr_jupyter, each time it starts, writes its own spec (no wrapper) over the one in the folder
# it looks in (JUPYTER_PATH's, else the user's) unless that folder's version.txt is its own. So
# the spec gets evcxr's resources too (its version.txt, and the logos Jupyter Lab shows), from an
# install into a folder of its own.
resources=$(mktemp -d)
JUPYTER_PATH="$resources" "$exe" --install >/dev/null
for f in "$resources"/kernels/rust/*; do
  [ "$(basename "$f")" = kernel.json ] || cmp -s "$f" "$spec_dir/$(basename "$f")" || cp "$f" "$spec_dir/"
done
rm -rf "$resources"

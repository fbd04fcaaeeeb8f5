#!/usr/bin/env bash
# Installs evcxr_jupyter at the pinned version (only when missing or different) and writes the
# Rust kernel spec into $KERNEL_PREFIX/share/jupyter/kernels (the project venv .venv, or the conda
# env fashion-lab), where that environment's Jupyter finds it.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${EVCXR_VERSION:?set by the Makefile}
cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
exe=$cargo_bin/evcxr_jupyter
# evcxr_jupyter has no --version; cargo's install list says which version is there.
have=$(cargo install --list 2>/dev/null | awk '/^evcxr_jupyter v/{sub(/^v/, "", $2); sub(/:$/, "", $2); print $2}')
if [ "$have" != "$version" ] || [ ! -x "$exe" ]; then
  command -v cargo >/dev/null || { echo "error: cargo not found; install Rust from rustup" >&2; exit 1; }
  echo "==> installing evcxr_jupyter $version (found: ${have:-none}); takes ~8 minutes once"
  cargo install --locked --quiet evcxr_jupyter --version "$version"
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

#!/usr/bin/env bash
# Installs evcxr_jupyter at the pinned version (only when missing or different) and writes the
# Rust kernel spec into the project venv, where that venv's Jupyter finds it.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${EVCXR_VERSION:?set by the Makefile}
cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
exe=$(command -v evcxr_jupyter || echo "$cargo_bin/evcxr_jupyter")
have=$("$exe" --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$version" ]; then
  command -v cargo >/dev/null || { echo "error: cargo not found; install Rust from rustup" >&2; exit 1; }
  echo "==> installing evcxr_jupyter $version (found: ${have:-none}); takes ~8 minutes once"
  cargo install --locked --quiet evcxr_jupyter --version "$version"
  exe=$cargo_bin/evcxr_jupyter
fi
# rust-src lets the kernel's code completion work; it is optional.
rustup component list --installed 2>/dev/null | grep -q rust-src || rustup component add rust-src >/dev/null 2>&1 || true
spec_dir=.venv/share/jupyter/kernels/rust
mkdir -p "$spec_dir"
spec=$(cat <<JSON
{
  "argv": ["$exe", "--control_file", "{connection_file}"],
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

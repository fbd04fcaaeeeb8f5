#!/bin/sh
# The Rust kernel as the kernel spec starts it (tools/setup-kernel.sh writes the spec):
#
#     evcxr-kernel.sh EVCXR_JUPYTER --control_file CONNECTION_FILE
#
# evcxr builds every cell in a Cargo project of its own, EVCXR_TMPDIR. This puts that project in a
# fresh folder per kernel and makes the kernel build the versions of the repository's Cargo.lock:
#
#   $dir/build/                  evcxr's project (EVCXR_TMPDIR)
#   $dir/pin/                    a package depending on fashion-lab (written below)
#   $dir/kernel-workspace.toml   tools/kernel-workspace.toml, to become $dir/Cargo.toml
#   $dir/kernel.lock             the repository's Cargo.lock, to become $dir/Cargo.lock
#   $dir/evcxr/init.evcxr        tools/kernel-init.evcxr, which evcxr runs once it has started
#                                (EVCXR_CONFIG_DIR), and which moves the two files into place
#   $dir/pid                     the kernel's process id
#
# Why so: evcxr writes its project's Cargo.toml but no lock, so Cargo would resolve the notebook's
# `:dep`s to the newest release of every crate; a lock put into the project does not survive,
# since evcxr's first build at start-up (a cell with no dependencies) makes Cargo drop every entry,
# and so does each `:dep` (evcxr checks it in a project with that dependency alone). In a workspace
# with `pin` as a member, all of fashion-lab's dependencies stay in use and the workspace's lock
# keeps the repository's versions. The workspace comes into place after start-up, not before, so
# that evcxr's code analysis (rust-analyzer) loads fashion-lab's dependencies only when a cell
# asks for a dependency, as it would without it. tools/kernel-workspace.toml has the profiles.
#
# The folder (~1 GB once the crate is built) is removed when the kernel has gone: a watcher in a
# session of its own waits for the kernel's process, since Jupyter ends a kernel by killing its
# whole process group. Folders of kernels that died without their watcher (a reboot when TMPDIR is
# not cleared) are removed by the next kernel that starts.
set -eu
exe=${1:?usage: evcxr-kernel.sh EVCXR_JUPYTER ARGS...}
shift
tools=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$tools")
tmp=${TMPDIR:-/tmp}

# Leftovers: our kernel folders whose kernel process is gone (folders without a pid file yet are
# being made right now, unless they are older than a minute).
for old in "$tmp"/fashion-lab-kernel-*; do
  [ -d "$old" ] && [ -O "$old" ] || continue
  if [ -f "$old/pid" ]; then
    kill -0 "$(cat "$old/pid")" 2>/dev/null && continue
  elif [ -z "$(find "$old" -maxdepth 0 -mmin +1 2>/dev/null)" ]; then
    continue
  fi
  rm -rf "$old"
done

dir=$(mktemp -d "$tmp/fashion-lab-kernel-XXXXXX")
echo $$ > "$dir/pid"  # exec keeps this process id for evcxr_jupyter
mkdir -p "$dir/build" "$dir/pin/src" "$dir/evcxr"
cp "$tools/kernel-workspace.toml" "$dir/kernel-workspace.toml"
cp "$root/Cargo.lock" "$dir/kernel.lock"
cp "$tools/kernel-init.evcxr" "$dir/evcxr/init.evcxr"
# The crate's real path: evcxr makes a `:dep`'s path absolute the same way, and Cargo must see one
# fashion-lab package, not two.
crate=$(cd "$root/crate" && pwd -P)
cat > "$dir/pin/Cargo.toml" <<EOF
[package]
name = "fashion-lab-kernel-pin"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
fashion-lab = { path = "$crate" }
EOF
: > "$dir/pin/src/lib.rs"

watch='while kill -0 "$1" 2>/dev/null; do sleep 2; done; rm -rf "$2"'
if command -v setsid >/dev/null 2>&1; then
  setsid sh -c "$watch" watcher $$ "$dir" </dev/null >/dev/null 2>&1 &
else
  sh -c "$watch" watcher $$ "$dir" </dev/null >/dev/null 2>&1 &
fi

export EVCXR_TMPDIR="$dir/build"
# evcxr's configuration folder: this kernel's init.evcxr instead of ~/.config/evcxr.
export EVCXR_CONFIG_DIR="$dir/evcxr"
exec "$exe" "$@"

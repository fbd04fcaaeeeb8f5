#!/bin/sh
# The Rust kernel as the kernel spec starts it (tools/setup-kernel.sh writes the spec):
#
#     evcxr-kernel.sh EVCXR_JUPYTER --control_file CONNECTION_FILE
#
# evcxr builds every cell in a Cargo project of its own, EVCXR_TMPDIR. This puts that project in a
# folder of its own per kernel ($dir, below: $TMPDIR/fashion-lab-kernel-<slot>) and makes the
# kernel build the versions of the repository's Cargo.lock:
#
#   $dir/build/                  evcxr's project (EVCXR_TMPDIR)
#   $dir/pin/                    a package depending on fashion-lab (written below)
#   $dir/kernel-workspace.toml   tools/kernel-workspace.toml, to become $dir/Cargo.toml
#   $dir/kernel.lock             the repository's Cargo.lock, to become $dir/Cargo.lock
#   $dir/evcxr/init.evcxr        tools/kernel-init.evcxr, which evcxr runs once it has started
#                                (EVCXR_CONFIG_DIR), and which moves the two files into place
#   $dir/evcxr/prelude.rs        tools/kernel-prelude.rs, which evcxr runs next: a cell ending in
#                                a value compiles once instead of twice
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

# The kernel's folder has a fixed name, $tmp/fashion-lab-kernel-<slot>: the first slot whose lock
# ($tmp/fashion-lab-kernel-<slot>.lock) no running kernel holds; this process takes the lock and
# evcxr_jupyter keeps it, being this process after `exec`. Why a fixed name: evcxr's compile cache
# (`:cache`, ~/.cache/evcxr) keys a crate's build by its compiler command line with the kernel's
# target folder left out, but keeps the build's dep-info as it was written, naming the files the
# crate includes from its build script's output folder, which lies in the target folder of the
# kernel that compiled it first. In a folder of another name Cargo finds those files missing, so
# serde_core, thiserror, pulp and rustversion (and the ~30 crates above them, polars among them)
# were "compiled" again, from the cache, in every build of every cell: about 2 s of each cell.
# Kernels one at a time all run in slot 0 and find their files; a kernel beside them (slot 1 on)
# reuses slot 0's builds as before. tools/kernel-workspace.toml says how the builds of the earlier
# random folders are left behind. Without flock (macOS) each kernel gets a new folder, as before.
dir=
if command -v flock >/dev/null 2>&1; then
  slot=0
  while [ "$slot" -lt 32 ]; do
    exec 9>"$tmp/fashion-lab-kernel-$slot.lock"
    if flock -n 9; then
      dir=$tmp/fashion-lab-kernel-$slot
      rm -rf "$dir"  # a kernel that died without its watcher (the lock is ours now)
      mkdir -p "$dir"
      break
    fi
    exec 9>&-
    slot=$((slot + 1))
  done
fi

# Leftovers of kernels without a slot: folders whose kernel process is gone (folders without a pid
# file yet are being made right now, unless they are older than a minute).
for old in "$tmp"/fashion-lab-kernel-*; do
  [ -d "$old" ] && [ -O "$old" ] || continue
  case ${old##*-} in *[!0-9]*) ;; *) continue ;; esac  # a slot: its lock's holder owns it
  if [ -f "$old/pid" ]; then
    kill -0 "$(cat "$old/pid")" 2>/dev/null && continue
  elif [ -z "$(find "$old" -maxdepth 0 -mmin +1 2>/dev/null)" ]; then
    continue
  fi
  rm -rf "$old"
done

[ -n "$dir" ] || dir=$(mktemp -d "$tmp/fashion-lab-kernel-XXXXXX")
echo $$ > "$dir/pid"  # exec keeps this process id for evcxr_jupyter
mkdir -p "$dir/build" "$dir/pin/src" "$dir/evcxr"
cp "$tools/kernel-workspace.toml" "$dir/kernel-workspace.toml"
cp "$root/Cargo.lock" "$dir/kernel.lock"
cp "$tools/kernel-init.evcxr" "$dir/evcxr/init.evcxr"
cp "$tools/kernel-prelude.rs" "$dir/evcxr/prelude.rs"
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

# A slot's folder is removed only under its lock: a new kernel may have taken the slot already.
watch='while kill -0 "$1" 2>/dev/null; do sleep 2; done
if [ -f "$2.lock" ]; then flock -n "$2.lock" rm -rf "$2"; else rm -rf "$2"; fi'
if command -v setsid >/dev/null 2>&1; then
  setsid sh -c "$watch" watcher $$ "$dir" </dev/null >/dev/null 2>&1 9>&- &
else
  sh -c "$watch" watcher $$ "$dir" </dev/null >/dev/null 2>&1 9>&- &
fi

export EVCXR_TMPDIR="$dir/build"
# evcxr's configuration folder: this kernel's init.evcxr instead of ~/.config/evcxr.
export EVCXR_CONFIG_DIR="$dir/evcxr"
exec "$exe" "$@"

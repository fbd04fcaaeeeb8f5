#!/usr/bin/env python3
"""Times a fresh Rust kernel's cells as the notebooks start: the crate's `:dep` (first cell),
`use fashion_lab::*;`, then trivial cells, and optionally one MLP training as `bench mlp-epoch`.

    time_kernel.py [--kernel rust] [--trivial 3] [--printed 3] [--epoch] [--evcxr-timing]

Two kinds of trivial cell: one whose last line is a `u64` (evcxr compiles it twice: first calling
`evcxr_display()` on the value, which a `u64` lacks, then printing it with `Debug`), and one that
prints the value itself (one compile).

Prints one line per cell (`cell <n> <seconds>s <first line>`), then how the Cargo.lock of the
kernel's build project (`:last_compile_dir`) compares with the repository's, and last a JSON
summary. Run it
alone (`flock /tmp/fashion-lab-heavy.lock ...`): it measures the machine, not only the kernel.
The kernel runs with notebooks/ as its working directory, as run_notebooks.py runs notebooks.
"""

import argparse
import json
import re
import sys
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parent.parent

FIRST = ':cache 4096\n:dep fashion-lab = { path = "../crate" }'
USE = "use fashion_lab::*;"
TRIVIAL = "let trivial_{n}: u64 = {n} + 1;\ntrivial_{n}"
PRINTED = 'let printed_{n}: u64 = {n} + 1;\nprintln!("{{printed_{n}}}");'
# bench.rs's mlp_epoch, in a cell: 5 epochs on the 60k training images, median seconds per epoch.
EPOCH = """let data: FashionMnist = FashionMnist::load()?;
let (train, test): (LabelledSet, LabelledSet) = (Scale255.labelled(&data.train)?, Scale255.labelled(&data.test)?);
let mut model: Model = Sequential::mlp(784, &[256, 128, 64], Activation::Relu, 0.0, 10).build(0)?;
let config: TrainConfig = TrainConfig::default().batch_size(128).optimizer(Optimizer::adam()).epochs(5).verbose(true);
let history: History = fit(&mut model, &train, None, &config)?;
let mut per_epoch: Vec<f64> = history.epochs.iter().map(|e| e.seconds).collect();
per_epoch.sort_by(f64::total_cmp);
println!("mlp-epoch seconds={:.3} accuracy={:.4}", per_epoch[per_epoch.len() / 2], model.score(&test)?);"""


def run(kc, code, timeout=3600):
    """Executes one cell; returns (seconds, status, stdout+stderr text)."""
    started = time.monotonic()
    msg_id = kc.execute(code)
    text = []
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            text.append(content["text"])
        elif kind in ("execute_result", "display_data"):
            text.append(content["data"].get("text/plain", "") + "\n")
        elif kind == "error":
            text.append(f"{content.get('ename')}: {content.get('evalue')}\n")
        elif kind == "status" and content["execution_state"] == "idle":
            break
    reply = kc.get_shell_msg(timeout=timeout)
    return time.monotonic() - started, reply["content"]["status"], "".join(text)


def registry_packages(lock_text):
    """{(name, version)} of the registry packages of a Cargo.lock."""
    found = set()
    for block in lock_text.split("[[package]]")[1:]:
        fields = dict(re.findall(r'^(name|version|source) = "([^"]*)"', block, re.M))
        if fields.get("source", "").startswith("registry+"):
            found.add((fields["name"], fields["version"]))
    return found


def compare_locks(build_dir: Path, root: Path):
    """Prints how the kernel's Cargo.lock (its workspace's, else its build project's) compares with
    the repository's; returns the packages whose versions differ."""
    lock = build_dir.parent / "Cargo.lock"
    if not lock.exists():
        lock = build_dir / "Cargo.lock"
    if not lock.exists():
        print(f"lock: {lock} does not exist")
        return None
    kernel = registry_packages(lock.read_text())
    repo = registry_packages((root / "Cargo.lock").read_text())
    repo_names = {n for n, _ in repo}
    shared = {p for p in kernel if p[0] in repo_names}
    moved = sorted(shared - repo)
    print(f"lock: {lock}: {len(kernel)} registry packages in the kernel's Cargo.lock, {len(shared)} also in the "
          f"repository's; at another version than there: {len(moved)} {moved[:20]}")
    return moved


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernel", default="rust")
    ap.add_argument("--trivial", type=int, default=3, help="trivial cells after the first two, value last")
    ap.add_argument("--printed", type=int, default=0, help="then trivial cells that print their value")
    ap.add_argument("--epoch", action="store_true", help="also train the MLP of bench mlp-epoch")
    ap.add_argument("--evcxr-timing", action="store_true", help="turn on evcxr's :timing first")
    ap.add_argument("--root", type=Path, default=ROOT, help="the project whose notebooks/ and crate/ to use")
    args = ap.parse_args()
    root = args.root.resolve()

    started = time.monotonic()
    km, kc = start_new_kernel(kernel_name=args.kernel, cwd=str(root / "notebooks"), startup_timeout=300)
    summary = {"kernel_start": round(time.monotonic() - started, 2), "cells": []}
    try:
        cells = ([":timing"] if args.evcxr_timing else []) + [FIRST, USE]
        cells += [TRIVIAL.format(n=n) for n in range(1, args.trivial + 1)]
        cells += [PRINTED.format(n=n) for n in range(1, args.printed + 1)]
        cells += [EPOCH] if args.epoch else []
        cells += [":last_compile_dir"]
        for n, code in enumerate(cells, 1):
            seconds, status, text = run(kc, code)
            first = code.splitlines()[0]
            print(f"cell {n} {seconds:.2f}s {status} {first}", flush=True)
            for line in text.splitlines():
                print(f"    {line}", flush=True)
            summary["cells"].append({"code": first, "seconds": round(seconds, 2), "status": status})
            if code == ":last_compile_dir":
                moved = compare_locks(Path(text.strip()), root)
                summary["lock_differs"] = None if moved is None else len(moved)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    print(json.dumps(summary))
    sys.exit(0 if all(c["status"] == "ok" for c in summary["cells"]) else 1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Executes the notebooks headless with the Rust (evcxr) kernel and checks what they produced.

    run_notebooks.py --out reports [--html] [--pdf] [--quick] [--jobs N] [notebooks/NAME.ipynb ...]

Every notebook runs with notebooks/ as its working directory and writes its results JSON and
tables into --out (FASHION_LAB_REPORTS); in quick mode its saved models go to --out/models.
A cell fails the run when it has an error output or evcxr's error text on stderr (evcxr's
execute reply carries no error name, so the outputs are what we read). Cells tagged "plot" must
show an image. Progress goes to stdout, one line per cell, so long notebooks show where they are. `--jobs 2` runs two notebooks at a
time (one kernel each): quick mode is mostly compiling cells, which one core does per kernel.

With more than one job, each kernel gets its own view of evcxr's compiled-crate cache
(~/.cache/evcxr): a folder of hard links to the shared entries, except each entry's `hits` counter,
which evcxr rewrites on every cache hit. Two kernels sharing the folder once failed a cell with
"Failed to wrap rustc: cannot parse integer from empty string" (one kernel read the counter while
the other rewrote it). What a kernel adds to its view is linked back into the shared cache.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

# What evcxr prints on stderr for a compile error, a returned Err (`?`) or a panic.
EVCXR_ERROR = re.compile(
    r"^(error(\[E\d+\])?:|Error: |thread '.*' panicked|Child process terminated|Segmentation fault)",
    re.MULTILINE,
)
IMAGE_TYPES = ("image/svg+xml", "image/png")


def cell_errors(cell):
    """The error texts in a code cell's outputs."""
    found = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            text = "\n".join(out.get("traceback", [])) or f"{out.get('ename')}: {out.get('evalue')}"
            found.append(text)
        elif out.get("output_type") == "stream" and out.get("name") == "stderr":
            if EVCXR_ERROR.search(out.get("text", "")):
                found.append(out["text"])
    return found


def has_image(cell):
    return any(
        any(t in out.get("data", {}) for t in IMAGE_TYPES)
        for out in cell.get("outputs", [])
        if out.get("output_type") in ("display_data", "execute_result")
    )


def first_line(cell):
    src = cell.source.strip().splitlines()
    return src[0][:70] if src else ""


PRINT_LOCK = threading.Lock()


def say(text):
    with PRINT_LOCK:
        print(text, flush=True)


SHARED_EVCXR_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "evcxr"


def link_entries(source: Path, target: Path):
    """Hard-links every complete cache entry of `source` that `target` lacks into `target`; the
    `hits` counters are copied, not linked. An entry is complete once evcxr wrote its `stderr`."""
    target.mkdir(parents=True, exist_ok=True)
    if not source.is_dir():
        return
    for entry in source.iterdir():
        if not (entry / "stderr").exists() or (target / entry.name).exists():
            continue
        staging = target / f".{entry.name}.{os.getpid()}.{threading.get_ident()}"
        staging.mkdir()
        for f in entry.iterdir():
            if f.name == "hits":
                shutil.copyfile(f, staging / f.name)
            else:
                os.link(f, staging / f.name)
        try:
            staging.rename(target / entry.name)
        except OSError:  # another kernel's copy of the same entry got there first
            shutil.rmtree(staging, ignore_errors=True)


class PrivateCache:
    """A kernel's own evcxr cache folder (see the module comment); `sync()` links its new entries
    back into the shared cache."""

    def __init__(self, name: str):
        SHARED_EVCXR_CACHE.parent.mkdir(parents=True, exist_ok=True)  # a fresh machine may have none
        self.home = Path(tempfile.mkdtemp(prefix=f"evcxr-{name}-", dir=SHARED_EVCXR_CACHE.parent))
        link_entries(SHARED_EVCXR_CACHE, self.home / "evcxr")

    def env(self):
        return {**os.environ, "XDG_CACHE_HOME": str(self.home)}

    def sync(self):
        link_entries(self.home / "evcxr", SHARED_EVCXR_CACHE)

    def remove(self):
        self.sync()
        shutil.rmtree(self.home, ignore_errors=True)


def execute(path: Path, timeout: int, startup_timeout: int, crate_ready=None, cache=None):
    """Runs one notebook; sets `crate_ready` once its first two code cells (the crate build) ran,
    after sharing what they compiled when the kernel has its own cache."""
    nb = nbformat.read(path, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    started = time.monotonic()
    state = {"n": 0, "t": started}

    def on_cell_start(cell, cell_index, **_):
        if cell.cell_type != "code":
            return
        state["t"] = time.monotonic()
        state["n"] += 1
        say(f"  [{path.name}] cell {state['n']}/{len(code_cells)}: {first_line(cell)}")

    def on_cell_executed(cell, cell_index, **_):
        if cell.cell_type != "code":
            return
        took = time.monotonic() - state["t"]
        flag = "  ERROR" if cell_errors(cell) else ""
        say(f"  [{path.name}] cell {state['n']} done in {took:.1f}s{flag}")
        if crate_ready is not None and state["n"] == 2:
            if cache is not None:
                cache.sync()
            crate_ready.set()

    client = NotebookClient(
        nb,
        kernel_name="rust",
        timeout=timeout,
        startup_timeout=startup_timeout,
        allow_errors=True,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
        on_cell_start=on_cell_start,
        on_cell_executed=on_cell_executed,
    )
    try:
        client.execute(**({"env": cache.env()} if cache is not None else {}))
    finally:
        if crate_ready is not None:
            crate_ready.set()
    return nb, time.monotonic() - started


def check(nb, name):
    problems = []
    n = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        n += 1
        for err in cell_errors(cell):
            problems.append(f"{name}, cell {n} ({first_line(cell)}):\n{err.strip()[:2000]}")
        if "plot" in cell.get("metadata", {}).get("tags", []) and not has_image(cell):
            problems.append(f"{name}, cell {n} ({first_line(cell)}): tagged 'plot' but shows no image")
    return problems


def export_html(nb, target: Path):
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")


def export_pdf(html: Path, target: Path, chromium: str):
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", f"--user-data-dir={profile}", "--no-pdf-header-footer",
                f"--print-to-pdf={target}", html.resolve().as_uri(),
            ],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300,
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="folder for executed notebooks and exports")
    ap.add_argument("--html", action="store_true", help="also export HTML")
    ap.add_argument("--pdf", action="store_true", help="also export PDF through headless Chromium, if present")
    ap.add_argument("--quick", action="store_true", help="quick mode: FASHION_LAB_QUICK=1 for the kernels")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds one cell may take")
    ap.add_argument("--startup-timeout", type=int, default=300)
    ap.add_argument("--jobs", type=int, default=1, help="notebooks run at the same time")
    args = ap.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    # Results and tables go beside the executed notebooks (the crate's `report_file`); a quick
    # run's models go there too (`model_file`), so `make test` never replaces what `make reports` made.
    os.environ["FASHION_LAB_REPORTS"] = str(args.out.resolve())
    if args.quick:
        os.environ["FASHION_LAB_QUICK"] = "1"
        os.environ["FASHION_LAB_MODELS"] = str((args.out / "models").resolve())
    paths = args.notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    # The first notebook builds the crate (its first two cells) before any other kernel starts:
    # on a fresh machine the kernels would otherwise each compile every dependency.
    crate_ready = threading.Event()

    def run_one(path):
        path = path.resolve()
        first = path == paths[0].resolve()
        if not first:
            crate_ready.wait()
        say(f"==> {path.name}{' (quick mode)' if args.quick else ''}")
        cache = PrivateCache(path.stem) if args.jobs > 1 else None
        try:
            nb, seconds = execute(path, args.timeout, args.startup_timeout, crate_ready if first else None, cache)
        finally:
            if cache is not None:
                cache.remove()
        executed = args.out / path.name
        nbformat.write(nb, executed)
        problems = check(nb, path.name)
        if args.html or args.pdf:
            html = executed.with_suffix(".html")
            export_html(nb, html)
            if args.pdf and chromium:
                export_pdf(html, executed.with_suffix(".pdf"), chromium)
        say(f"    {path.name}: {seconds:.0f}s, {'OK' if not problems else f'{len(problems)} problem(s)'}")
        return path.name, seconds, problems

    failures = []
    summary = {}
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for name, seconds, problems in pool.map(run_one, paths):
            failures += problems
            summary[name] = {"seconds": round(seconds, 1), "errors": len(problems)}
    # Merge with earlier runs: `make reports` runs one notebook per call.
    summary_file = args.out / "run-summary.json"
    previous = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    summary_file.write_text(json.dumps({**previous, **summary}, indent=2, sort_keys=True) + "\n")
    if failures:
        print("\nFAILED:", file=sys.stderr)
        for p in failures:
            print(f"- {p}\n", file=sys.stderr)
        sys.exit(1)
    print(f"{len(paths)} passed, 0 failed")


if __name__ == "__main__":
    main()

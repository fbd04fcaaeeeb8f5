#!/usr/bin/env python3
"""Checks that run_notebooks.py fails every notebook under tools/tests/notebooks/ that should fail,
naming the notebook, the cell and the error, and passes the healthy ones (signed, their lines echoed).

    test_runner.py [NAME ...]        (run with the project venv's python, as `make test` does)

The notebooks are plain std Rust, so each takes seconds; `locked-deps` adds one tiny registry crate
(`:dep itoa`) to check that the kernel builds the versions of the repository's Cargo.lock
(tools/evcxr-kernel.sh seeds the kernel's build project with it).
"""

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.sign import NotebookNotary

TOOLS = Path(__file__).resolve().parent
CASES_DIR = TOOLS / "tests" / "notebooks"
LOCK = TOOLS.parent / "Cargo.lock"


def locked_version(name):
    """The version of registry package `name` in the repository's Cargo.lock."""
    found = re.search(rf'name = "{re.escape(name)}"\nversion = "([^"]+)"\nsource = "registry\+', LOCK.read_text())
    return found.group(1) if found else "(not in Cargo.lock)"


# notebook -> (failing cell number and first line, a piece of the error text); None must pass.
# The texts are std's error messages (ParseIntError's Display and Debug) or our own source line.
EXPECTED = {
    "healthy": None,
    "locked-deps": None,
    "panic": ('cell 2 (let n: u32 = "12a".parse::<u32>().unwrap();)', "InvalidDigit"),
    "question-mark-middle": ('cell 2 (let n: u32 = "12a".parse()?;)', "invalid digit found in string"),
    "question-mark-last": ('cell 2 (let n: u32 = "12a".parse()?;)', "invalid digit found in string"),
    "question-mark-silent": ("cell 1 (#[derive(Debug)])", "(an empty line on stderr)"),
    "compile-error": ('cell 2 (let s: u32 = "not a number";)', "not a number"),
    "lost-figure": ("cell 2 (// Two figures in one cell: the first is lost.)", "drew 2 figure(s)"),
}

# notebook that must pass -> a line it must print (echoed by the runner with the notebook's name).
PASS_LINES = {
    "healthy": lambda: "[healthy] x = 12",
    "locked-deps": lambda: f"[locked-deps] itoa {locked_version('itoa')} as in Cargo.lock",
}


def run_case(name, out: Path):
    """Runs the runner on one notebook; returns a list of what is wrong with the outcome."""
    nb_path = CASES_DIR / f"{name}.ipynb"
    proc = subprocess.run(
        [sys.executable, str(TOOLS / "run_notebooks.py"), "--out", str(out), str(nb_path)],
        capture_output=True, text=True, timeout=600,
    )
    expected = EXPECTED[name]
    wrong = []
    if expected is None:
        if proc.returncode != 0:
            wrong.append(f"should pass, exit code {proc.returncode}")
        line = PASS_LINES[name]()
        if line not in proc.stdout:
            wrong.append(f"the runner did not echo the line `{line}`")
        with NotebookNotary() as notary:
            if not notary.check_signature(nbformat.read(out / nb_path.name, as_version=4)):
                wrong.append("the executed notebook is not trusted")
    else:
        cell, text = expected
        if proc.returncode == 0:
            wrong.append("should fail, exit code 0")
        if f"{nb_path.name}, {cell}:" not in proc.stderr:
            wrong.append(f"the failure does not name `{nb_path.name}, {cell}`")
        if text not in proc.stderr:
            wrong.append(f"the failure does not show the error text `{text}`")
    if wrong:
        wrong.append(f"runner stdout:\n{proc.stdout}\nrunner stderr:\n{proc.stderr}")
    return wrong


def main():
    names = sys.argv[1:] or list(EXPECTED)
    started = time.monotonic()
    failed = 0
    with tempfile.TemporaryDirectory(prefix="test-runner-") as tmp:
        for name in names:
            t = time.monotonic()
            wrong = run_case(name, Path(tmp) / name)
            verdict = "ok" if not wrong else "WRONG"
            want = "pass" if EXPECTED[name] is None else "fail"
            took = time.monotonic() - t
            print(f"test_runner: {name} (must {want}): {verdict} in {took:.1f}s", flush=True)
            for w in wrong:
                print(f"    {w}", flush=True)
            failed += bool(wrong)
    took = time.monotonic() - started
    print(f"test_runner: {len(names) - failed} of {len(names)} as expected in {took:.0f}s", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

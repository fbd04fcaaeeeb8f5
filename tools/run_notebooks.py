#!/usr/bin/env python3
"""Executes the notebooks headless with the Rust (evcxr) kernel and checks what they produced.

    run_notebooks.py --out reports [--protocol quick|classroom|report] [--quick] [--html] [--pdf]
                     [--jobs N] [notebooks/NAME.ipynb ...]

Every notebook runs with notebooks/ as its working directory, under one protocol
(FASHION_LAB_PROTOCOL, crate/src/protocol.rs), and writes its results JSON and tables into --out
(FASHION_LAB_REPORTS); under the quick protocol its saved models go to --out/models.
--out/run-summary.json gets each notebook's seconds, errors, protocol and comparison rows met.
The executed notebooks in --out are signed (trusted) for this user, as `jupyter trust` would, so
JupyterLab shows their SVG figures. Every line a cell prints is echoed as it arrives, prefixed
by the notebook's number (`[02] epoch 3/20 ...`). Cells tagged "plot" must show an image.

When a cell fails. A cell fails the run when the kernel's reply is not "ok", when it has an
`error` output, or when it wrote anything at all to stderr. No error wording is matched, because
evcxr 0.22 reports the three kinds of failure differently (read in its source):
- compile errors: `emit_errors` sends an iopub `error` message and the reply says "error"
  (evcxr_jupyter src/core.rs, `Err(errors) =>` in handle_execution_requests);
- a panic: the cell runs inside `catch_unwind` (evcxr src/eval_context.rs, wrap_user_code), std's
  panic hook prints the message on stderr, and evcxr only notes EVCXR_PANIC_NOTIFICATION on
  stdout: the eval returns Ok, so the reply says "ok" and there is no error output;
- `?` on an Err: the generated `From<T> for EvcxrUserCodeError` does `eprintln!("{}", error)`
  (eval_context.rs, error_trait_code) and the eval returns Ok: the bare message on stderr, reply
  "ok" (evcxr issue 281). An error whose message is empty still writes a newline.
So stderr is the one channel both runtime failures share, and nothing else writes to it: the
kernel forwards only the child process's stderr (core.rs, start_output_pass_through_thread), the
crate prints progress with println!, and the six notebooks' executed quick-mode copies (172 code
cells) had no stderr text. The previous rule matched evcxr's and rustc's wording and missed both
runtime failures (rustc now prints `thread '<unnamed>' (10204) panicked`; `?` has no prefix).
A crash of the child process also shows as an `error` output ("Subprocess terminated ...").

evcxr sends stderr lines on their own thread, with no end-of-cell mark (its PR #354 fixed this for
stdout only), so a line can reach us after the cell's idle message. A late line that still
carries the cell's request id is put back into that cell (nbclient would drop it); after the
last code cell a tiny probe cell prints a marker on stderr, and everything the kernel forwards
before that marker belongs to the last cell (one pipe, one thread, so order holds). A line so
late that evcxr tags it with the next cell's request shows under that next cell, which then
fails in its place; the run fails either way.

`--jobs 2` runs two notebooks at a time (one kernel each): quick mode is mostly compiling cells,
which one core does per kernel. With more than one job, each kernel gets its own view of evcxr's
compiled-crate cache (~/.cache/evcxr): a folder of hard links to the shared entries, except each
entry's `hits` counter, which evcxr rewrites on every cache hit. Two kernels sharing the folder
once failed a cell with "Failed to wrap rustc: cannot parse integer from empty string" (one
kernel read the counter while the other rewrote it). What a kernel adds to its view is linked
back into the shared cache.
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
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from queue import Empty

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import export  # noqa: E402  (tools/export.py: the report's HTML and PDF)
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete
from nbformat.sign import NotebookNotary
from nbformat.v4 import output_from_msg

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

IMAGE_TYPES = export.IMAGE_TYPES
# Line starts a healthy cell may print on stderr. None so far: the crate reports progress on
# stdout and the executed notebooks showed no stderr; add a prefix only after seeing it healthy.
HARMLESS_STDERR = ()
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # evcxr colours compile errors
OUTPUT_TYPES = ("stream", "error", "display_data", "execute_result")
# The crate sends, with every figure and table it shows, how many it has shown in this kernel so
# far (viz::DISPLAY_COUNT_MIME). evcxr keeps only the last output of each MIME type per cell, so
# a cell whose count grew by more than the figures / tables it kept lost a display.
DISPLAY_COUNT_MIME = export.DISPLAY_COUNT_MIME
PROBE_TIMEOUT = 300  # seconds for the end-of-notebook stderr probe, a one-line cell to compile


def stderr_fails(text):
    # An empty line counts too: `?` on an error with an empty message prints just that.
    return any(not line.startswith(HARMLESS_STDERR) for line in text.splitlines() or [""])


def cell_errors(cell, status="ok"):
    """The error texts of a code cell: its error outputs, its stderr text (evcxr sends one output
    per line, joined here) and a reply that is not ok."""
    found = []
    stderr = [
        out.get("text", "") for out in cell.get("outputs", [])
        if out.get("output_type") == "stream" and out.get("name") == "stderr"
    ]
    if stderr and stderr_fails("".join(stderr)):
        found.append("".join(stderr).strip() or "(an empty line on stderr)")
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            text = "\n".join(out.get("traceback", [])) or f"{out.get('ename')}: {out.get('evalue')}"
            found.append(ANSI.sub("", text))
    if status != "ok" and not found:
        found.append(f"the kernel replied {status!r}")
    return found


def has_image(cell):
    return any(
        any(t in out.get("data", {}) for t in IMAGE_TYPES)
        for out in cell.get("outputs", [])
        if out.get("output_type") in ("display_data", "execute_result")
    )


def shown(cell, types):
    return sum(
        sum(t in out.get("data", {}) for t in types)
        for out in cell.get("outputs", [])
        if out.get("output_type") in ("display_data", "execute_result")
    )


def display_count(cell):
    """The crate's running count of figures and tables shown, as of this cell, or None."""
    for out in reversed(cell.get("outputs", [])):
        data = out.get("data", {}).get(DISPLAY_COUNT_MIME)
        if data is not None:
            count = json.loads(data) if isinstance(data, str) else data
            return count.get("figures", 0), count.get("tables", 0)
    return None


def lost_displays(cells):
    """(cell, figures drawn, figures kept, tables drawn, tables kept) for each code cell that
    showed fewer figures or tables than it drew."""
    lost = []
    before = (0, 0)
    for cell in cells:
        count = display_count(cell)
        if count is None:
            continue
        if count[0] < before[0] or count[1] < before[1]:
            before = (0, 0)  # the kernel restarted: its count started again
        drawn = (count[0] - before[0], count[1] - before[1])
        kept = (shown(cell, IMAGE_TYPES), shown(cell, ("text/html",)))
        if drawn[0] > kept[0] or drawn[1] > kept[1]:
            lost.append((cell, drawn[0], kept[0], drawn[1], kept[1]))
        before = count
    return lost


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


def short_name(path: Path):
    """`02` for notebooks/02-logistic-vs-deep-cnn.ipynb, the stem for other notebooks."""
    m = re.match(r"(\d+)-", path.stem)
    return m.group(1) if m else path.stem


class Client(NotebookClient):
    """nbclient's client that echoes every stream line as it arrives, files stderr that comes
    after a cell's idle message under that cell, and after the last code cell waits for a probe's
    marker on stderr (see the module comment). `replies` and `problems` feed `check`."""

    def __init__(self, nb, tag, **kw):
        super().__init__(nb, **kw)
        self.tag = tag
        self.cell_of_request = {}  # execute request id -> index of its cell
        self.replies = {}  # cell index -> the execute reply's status
        self.problems = []
        runs = [
            i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and c.source.strip()
            and self.skip_cells_with_tag not in c.metadata.get("tags", [])
        ]
        self.last_code = runs[-1] if runs else None

    def echo(self, msg):
        if msg["msg_type"] == "stream":
            stream = "" if msg["content"].get("name") == "stdout" else " stderr"
            for line in msg["content"].get("text", "").splitlines():
                say(f"[{self.tag}{stream}] {line}")

    def output(self, outs, msg, display_id, cell_index):
        self.echo(msg)
        return super().output(outs, msg, display_id, cell_index)

    def late(self, msg, index=None):
        """Appends an output that came under an earlier request to that request's cell."""
        if index is None:
            index = self.cell_of_request.get(msg["parent_header"].get("msg_id"))
        if index is None or msg["msg_type"] not in OUTPUT_TYPES:
            return
        self.echo(msg)
        self.nb.cells[index].outputs.append(output_from_msg(msg))

    # nbclient's own loop, except that it drops messages for other requests, which we keep.
    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        self.cell_of_request[parent_msg_id] = cell_index
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            if msg["parent_header"].get("msg_id") == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)  # raises once the cell is idle
                except CellExecutionComplete:
                    return
            else:
                self.late(msg)

    async def async_execute_cell(self, cell, cell_index, **kw):
        cell = await super().async_execute_cell(cell, cell_index, **kw)
        if cell_index == self.last_code:
            await self.flush_stderr(cell_index)
        return cell

    async def flush_stderr(self, index):
        """Runs a cell that prints a marker on stderr; the child's stderr is one pipe read by one
        thread, so whatever the kernel forwards before the marker was printed by cell `index`."""
        started = time.monotonic()
        marker = f"fashion-lab-runner-probe-{uuid.uuid4().hex}"
        probe = await ensure_async(self.kc.execute(f'eprintln!("{marker}");', store_history=False))
        deadline = time.monotonic() + PROBE_TIMEOUT
        while True:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=1))
            except Empty:
                await self._async_check_alive()  # raises DeadKernelError, as a cell would
                if time.monotonic() > deadline:
                    self.problems.append(f"the stderr probe got no answer in {PROBE_TIMEOUT}s")
                    return
                continue
            parent = msg["parent_header"].get("msg_id")
            if parent != probe:
                self.late(msg)
            elif msg["msg_type"] == "error":
                evalue = ANSI.sub("", msg["content"].get("evalue", ""))
                self.problems.append(f"the stderr probe after the last cell failed:\n{evalue}")
                return
            elif msg["msg_type"] == "stream":
                text = msg["content"].get("text", "")
                before, found, _ = text.partition(marker)
                if before or not found:
                    msg = {**msg, "content": {**msg["content"], "text": before if found else text}}
                    self.late(msg, index)
                if found:
                    took = time.monotonic() - started
                    say(f"  [{self.tag}] stderr probe after the last cell done in {took:.1f}s")
                    return


def execute(path: Path, timeout: int, startup_timeout: int, crate_ready=None, cache=None):
    """Runs one notebook; sets `crate_ready` once its first two code cells (the crate build) ran,
    after sharing what they compiled when the kernel has its own cache. Returns the executed
    notebook, the seconds it took and the client (its replies and problems)."""
    nb = nbformat.read(path, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    started = time.monotonic()
    state = {"n": 0, "t": started}
    client = None

    def on_cell_start(cell, cell_index, **_):
        if cell.cell_type != "code":
            return
        state["t"] = time.monotonic()
        state["n"] += 1
        say(f"  [{path.name}] cell {state['n']}/{len(code_cells)}: {first_line(cell)}")

    def on_cell_executed(cell, cell_index, execute_reply=None, **_):
        if cell.cell_type != "code":
            return
        status = (execute_reply or {}).get("content", {}).get("status", "without a reply")
        client.replies[cell_index] = status
        took = time.monotonic() - state["t"]
        flag = "  ERROR" if cell_errors(cell, status) else ""
        say(f"  [{path.name}] cell {state['n']} done in {took:.1f}s{flag}")
        if crate_ready is not None and state["n"] == 2:
            if cache is not None:
                cache.sync()
            crate_ready.set()

    client = Client(
        nb,
        short_name(path),
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
    return nb, time.monotonic() - started, client


def check(nb, name, client):
    problems = []
    n = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        n += 1
        errors = cell_errors(cell, client.replies.get(index, "ok"))
        if errors:
            text = "\n".join(e.strip() for e in errors)
            problems.append(f"{name}, cell {n} ({first_line(cell)}):\n{text[:2000]}")
        if "plot" in cell.get("metadata", {}).get("tags", []) and not has_image(cell):
            problems.append(f"{name}, cell {n} ({first_line(cell)}): tagged 'plot' but shows no image")
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell, figures, kept_figures, tables, kept_tables in lost_displays(code):
        problems.append(
            f"{name}, cell {code.index(cell) + 1} ({first_line(cell)}): drew {figures} figure(s) and "
            f"{tables} table(s) but the notebook kept {kept_figures} and {kept_tables} (evcxr keeps "
            "the last of each kind per cell): compose the figures into one (viz::compose) or split the cell"
        )
    problems += [f"{name}: {p}" for p in client.problems]
    return problems


SIGN_LOCK = threading.Lock()


def write_signed(nb, target: Path):
    """Writes the notebook and trusts it for this user, as `jupyter trust` does: the signature
    goes into the user's Jupyter data dir (nbsignatures.db), where JupyterLab looks."""
    nbformat.write(nb, target)
    written = nbformat.read(target, as_version=4)  # sign exactly what is on disk
    with SIGN_LOCK, NotebookNotary() as notary:  # one sqlite connection per thread
        notary.sign(written)


PROTOCOLS = ("quick", "classroom", "report")


def rows_met(results: Path) -> dict:
    """How many comparison rows of a notebook's results JSON met their own rule (Comparison's `met`)."""
    try:
        rows = json.loads(results.read_text())
    except (OSError, ValueError):
        return {"rows_met": None, "rows": None}
    return {"rows_met": sum(1 for r in rows if r.get("met") is True), "rows": len(rows)}


def record_run(nb, protocol: str):
    """What the export's title block shows: when, which protocol, which build of the crate."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except OSError:
        commit = ""
    nb.metadata["fashion_lab"] = {
        "executed": time.strftime("%Y-%m-%dT%H:%M"),
        "protocol": protocol,
        "crate_version": export.crate_version() + (f" ({commit})" if commit else ""),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="folder for executed notebooks and exports")
    ap.add_argument("--html", action="store_true", help="also export HTML (tools/export.py)")
    ap.add_argument("--pdf", action="store_true", help="also export HTML and PDF (headless Chromium, if present)")
    ap.add_argument("--protocol", choices=PROTOCOLS, default=os.environ.get("FASHION_LAB_PROTOCOL") or "classroom",
                    help="FASHION_LAB_PROTOCOL for the kernels (default: that variable, else classroom)")
    ap.add_argument("--quick", action="store_true", help="the same as --protocol quick (the tests)")
    ap.add_argument("--timeout", type=int, help="seconds one cell may take (default 1 h; 24 h under the report protocol)")
    ap.add_argument("--startup-timeout", type=int, default=300)
    ap.add_argument("--jobs", type=int, default=1, help="notebooks run at the same time")
    args = ap.parse_args()
    if args.quick:
        args.protocol = "quick"
    if args.protocol not in PROTOCOLS:
        ap.error(f"FASHION_LAB_PROTOCOL={args.protocol!r}: choose one of {', '.join(PROTOCOLS)}")
    if args.timeout is None:
        args.timeout = 86400 if args.protocol == "report" else 3600

    args.out.mkdir(parents=True, exist_ok=True)
    # Results and tables go beside the executed notebooks (the crate's `report_file`); a quick
    # run's models go there too (`model_file`), so `make test` never replaces what `make reports` made.
    os.environ["FASHION_LAB_REPORTS"] = str(args.out.resolve())
    os.environ["FASHION_LAB_PROTOCOL"] = args.protocol
    os.environ.pop("FASHION_LAB_QUICK", None)
    if args.protocol == "quick":
        os.environ["FASHION_LAB_MODELS"] = str((args.out / "models").resolve())
    paths = args.notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    chromium = export.find_chromium() if args.pdf else None
    if args.pdf and chromium is None:
        say(f"note: no headless Chromium found, so HTML only; for PDFs: {export.INSTALL_CHROMIUM}")
    # The first notebook builds the crate (its first two cells) before any other kernel starts:
    # on a fresh machine the kernels would otherwise each compile every dependency.
    crate_ready = threading.Event()

    def run_one(path):
        path = path.resolve()
        first = path == paths[0].resolve()
        if not first:
            crate_ready.wait()
        say(f"==> {path.name} ({args.protocol} protocol)")
        cache = PrivateCache(path.stem) if args.jobs > 1 else None
        try:
            nb, seconds, client = execute(
                path, args.timeout, args.startup_timeout, crate_ready if first else None, cache
            )
        finally:
            if cache is not None:
                cache.remove()
        executed = args.out / path.name
        record_run(nb, args.protocol)
        write_signed(nb, executed)
        problems = check(nb, path.name, client)
        if problems:
            # Kept to be read, but dated 1970 so that `make reports` runs it again.
            os.utime(executed, (0, 0))
        if args.html or args.pdf:
            export.export(executed, args.out, args.pdf, chromium)
        say(f"    {path.name}: {seconds:.0f}s, {'OK' if not problems else f'{len(problems)} problem(s)'}")
        return path.name, seconds, problems

    failures = []
    summary = {}
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for name, seconds, problems in pool.map(run_one, paths):
            failures += problems
            summary[name] = {"seconds": round(seconds, 1), "errors": len(problems), "protocol": args.protocol,
                             **rows_met(args.out / f"{Path(name).stem}.results.json")}
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

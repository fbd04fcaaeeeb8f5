#!/usr/bin/env python3
"""Exports notebooks as the report a student hands in: HTML and an A4 PDF, offline, without
running them again (the outputs are the ones saved in the notebook, from Lab or from the runner).

    export.py [--out DIR] [--html-only] NOTEBOOK.ipynb ...      (make export NB=...)

What the export adds to nbconvert's lab template:
- a title block (the notebook's title, date, crate version, protocol) and a table of contents;
- figures and tables numbered, each with a caption: the cell's `caption` metadata, else its first
  `//` comment line, else the figure's or table's own title, else the section it is in;
- print layout (tools/report.css): A4, code and output lines that wrap instead of running off
  the page, figures and wide tables scaled to the page width, figures and tables kept whole
  where they fit, page numbers;
- compact training output: the crate marks the epoch lines a report does not need
  (train::PROGRESS_MARK, Keras' verbose=2 thinned to about ten lines a run): they are left out;
- math typeset offline with the MathJax 2 that the venv's jupyter-server-mathjax ships.
The PDF is printed by headless Chromium (Debian's chromium-headless-shell or chromium). Without
it the HTML is written and the command that installs it is printed.
"""

import argparse
import copy
import datetime as dt
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CSS = Path(__file__).resolve().parent / "report.css"
TEMPLATES = Path(__file__).resolve().parent / "templates"  # report/: lab without network scripts
PROGRESS_MARK = "  ⋯ "  # crate/src/train/mod.rs, PROGRESS_MARK
# An epoch line's running totals, "· 0.6 s (total 5 s, ETA 3 s)": live progress, not a result;
# without them an epoch line fits one printed line.
EPOCH_TOTALS = re.compile(r"^(epoch .*?) \(total [^()]*\)$")
DISPLAY_COUNT_MIME = "application/vnd.fashion-lab.displays+json"
IMAGE_TYPES = ("image/svg+xml", "image/png", "image/jpeg")
CHROMIUMS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
INSTALL_CHROMIUM = "sudo apt-get install chromium-headless-shell   (or: make setup, as root)"

# Wide tables and figures are scaled to the page, not cut at its edge (CSS cannot scale a table).
FIT_SCRIPT = """<script>
window.addEventListener('load', function () {
  document.querySelectorAll('.jp-OutputArea-output table, .jp-RenderedHTMLCommon table').forEach(function (t) {
    var box = t.parentElement.clientWidth, wide = t.scrollWidth;
    if (box > 0 && wide > box) { t.style.zoom = (box / wide).toFixed(3); }
  });
});
</script>"""


def crate_version():
    text = (ROOT / "crate" / "Cargo.toml").read_text(encoding="utf-8")
    found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
    return found.group(1) if found else "unknown"


def text_of(output):
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else text


def protocol_of(nb):
    """The protocol the run used: recorded by the runner, else read from the crate's own line."""
    meta = nb.metadata.get("fashion_lab", {})
    if meta.get("protocol"):
        return meta["protocol"]
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            for line in text_of(out).splitlines():
                if line.startswith(("quick mode", "full mode", "classroom", "report protocol")):
                    return line.split(":")[0].split(" (")[0]
    return "as saved"


def title_and_intro(nb):
    """The notebook's title (its first `# ` heading), taken out of the first markdown cell."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("# "):
                cell.source = "\n".join(lines[:i] + lines[i + 1:]).strip()
                return line[2:].strip()
        break
    return "Fashion-MNIST report"


def compact_streams(cell):
    """Drops the progress lines a report does not need; merges what is left per stream."""
    outputs = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            kept = [
                EPOCH_TOTALS.sub(r"\1", l.rstrip("\n")) + ("\n" if l.endswith("\n") else "")
                for l in text_of(out).splitlines(keepends=True)
                if not l.startswith(PROGRESS_MARK)
            ]
            if not kept:
                continue
            if outputs and outputs[-1].get("output_type") == "stream" and outputs[-1].get("name") == out.get("name"):
                outputs[-1]["text"] = text_of(outputs[-1]) + "".join(kept)
                continue
            out = copy.deepcopy(out)
            out["text"] = "".join(kept)
        elif out.get("output_type") in ("display_data", "execute_result"):
            out = copy.deepcopy(out)
            out.get("data", {}).pop(DISPLAY_COUNT_MIME, None)
            if not out.get("data"):
                continue
        outputs.append(out)
    cell["outputs"] = outputs


def comment_caption(cell):
    """The cell's `caption` metadata, else its first line when that is a `//` comment."""
    caption = cell.get("metadata", {}).get("caption")
    if caption:
        return caption
    for line in cell.source.splitlines():
        line = line.strip()
        if line.startswith("//") and not line.startswith("///"):
            return line.lstrip("/").strip()
        if line:
            break
    return None


def svg_title(data):
    """A figure's own title: the first text drawn in its SVG (plotters draws the caption first)."""
    svg = "".join(data.get("image/svg+xml", ""))
    found = re.search(r"<text[^>]*>([^<]+)</text>", svg)
    return html.unescape(found.group(1)).strip() if found else None


# The report's own number, whole ("Table 6.2: ..." is Table 6.2, not Table 6 with a title "2: ...").
OWN_NUMBER = re.compile(r"^\s*(Figure|Fig\.|Table)\s+(\d+(?:\.\d+)*)\s*[:.]\s*", re.I)


def renumbered(kind, n, caption):
    """A caption that numbers itself after the report ("Table 1: ...") gets our number, and the
    report's in brackets when it differs."""
    found = OWN_NUMBER.match(caption or "")
    if not found:
        return caption
    rest = caption[found.end():]
    return rest if found.group(2) == str(n) else f"{rest} (the report's {found.group(1)} {found.group(2)})"


def caption_output(kind, n, caption):
    caption = renumbered(kind, n, caption)
    text = f" {html.escape(caption)}" if caption else ""
    return nbformat.v4.new_output("display_data", data={"text/html": f'<p class="fl-caption"><b>{kind} {n}.</b>{text}</p>'})


def number_displays(nb):
    """Numbers figures and tables. A table with a title gets 'Table n.' before it; anything
    else gets a caption line under it: the cell's caption or comment, the figure's title, the section."""
    figures = tables = 0
    section = ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    section = line.lstrip("#").strip()
            continue
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            outputs.append(out)
            data = out.get("data", {}) if out.get("output_type") in ("display_data", "execute_result") else {}
            page = "".join(data.get("text/html", ""))
            if any(t in data for t in IMAGE_TYPES):
                figures += 1
                caption = comment_caption(cell) or svg_title(data) or section
                outputs.append(caption_output("Figure", figures, caption))
            elif "<table" in page:
                tables += 1
                own = re.search(r"(<caption[^>]*>)(.*?)(</caption>)", page, re.S)
                if own and not comment_caption(cell):
                    title = html.escape(renumbered("Table", tables, html.unescape(own.group(2))))
                    data["text/html"] = page[:own.start()] + f"{own.group(1)}Table {tables}. {title}{own.group(3)}" + page[own.end():]
                else:
                    outputs.append(caption_output("Table", tables, comment_caption(cell) or section))
        cell["outputs"] = outputs


def mathjax_url():
    try:
        import jupyter_server_mathjax
    except ImportError:
        return None
    js = Path(jupyter_server_mathjax.__file__).parent / "static" / "MathJax.js"
    return js.as_uri() + "?config=TeX-AMS-MML_HTMLorMML-full,Safe" if js.exists() else None


def table_of_contents(body):
    entries = re.findall(r'<h2 id="([^"]+)">(.*?)<a class="anchor-link"', body)
    if not entries:
        return ""
    # The headings carry the report's own numbers ("2 · k-NN"), so the list adds none.
    items = "".join(f'<li><a href="#{i}">{re.sub("<[^>]+>", "", t)}</a></li>' for i, t in entries)
    return f'<nav class="fl-toc"><h2 class="fl-toc-title">Contents</h2><ul>{items}</ul></nav>'


def to_html(path: Path) -> str:
    from nbconvert import HTMLExporter

    nb = nbformat.read(path, as_version=4)
    title = title_and_intro(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            compact_streams(cell)
    number_displays(nb)
    meta = nb.metadata.get("fashion_lab", {})
    executed = meta.get("executed") or dt.datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="minutes")
    exporter = HTMLExporter(template_name="report", extra_template_basedirs=[str(TEMPLATES)])
    url = mathjax_url()
    if url:
        exporter.mathjax_url = url
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    block = (
        '<header class="fl-title-block">'
        f"<h1 class=\"fl-title\">{html.escape(title)}</h1>"
        '<p class="fl-meta">'
        f"<span>{html.escape(executed[:16].replace('T', ' '))}</span> · "
        f"<span>fashion-lab {html.escape(meta.get('crate_version') or crate_version())}</span> · "
        f"<span>protocol: {html.escape(protocol_of(nb))}</span> · "
        f"<span>{html.escape(path.name)}</span></p></header>"
    )
    css = f"<style>\n{CSS.read_text(encoding='utf-8')}\n</style>\n{FIT_SCRIPT}\n"
    body = body.replace("</head>", css + "</head>", 1)
    # The title block and contents go first in the page body, before the first cell.
    main = re.search(r"<main[^>]*>", body) or re.search(r"<body[^>]*>", body)
    at = main.end()
    return body[:at] + block + table_of_contents(body) + body[at:]


def find_chromium():
    for name in CHROMIUMS:
        found = shutil.which(name)
        if found:
            return found
    return None


def to_pdf(html_file: Path, pdf_file: Path, chromium: str):
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--allow-file-access-from-files", f"--user-data-dir={profile}", "--no-pdf-header-footer",
            # time for MathJax and the table-fitting script before the page is printed
            "--virtual-time-budget=30000", "--run-all-compositor-stages-before-draw",
            f"--print-to-pdf={pdf_file}", html_file.resolve().as_uri(),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not pdf_file.exists() or pdf_file.stat().st_size == 0:
        raise SystemExit(f"error: {chromium} did not print {html_file} (exit {done.returncode}):\n{done.stderr[-2000:]}")


def export(path: Path, out: Path, pdf: bool, chromium):
    out.mkdir(parents=True, exist_ok=True)
    html_file = out / (path.stem + ".html")
    html_file.write_text(to_html(path), encoding="utf-8")
    made = [html_file]
    if pdf and chromium:
        pdf_file = out / (path.stem + ".pdf")
        to_pdf(html_file, pdf_file, chromium)
        made.append(pdf_file)
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, help="folder for the exports (default: beside each notebook)")
    ap.add_argument("--html-only", action="store_true")
    args = ap.parse_args()
    chromium = None if args.html_only else find_chromium()
    if not args.html_only and chromium is None:
        print(f"note: no headless Chromium found, so HTML only; for PDFs: {INSTALL_CHROMIUM}", file=sys.stderr)
    for path in args.notebooks:
        if not path.exists():
            raise SystemExit(f"error: {path} does not exist; give the path of a saved notebook (.ipynb)")
        try:
            made = export(path, args.out or path.parent, not args.html_only, chromium)
        except (json.JSONDecodeError, nbformat.reader.NotJSONError) as e:
            raise SystemExit(f"error: {path} is not a notebook ({e}); export the .ipynb file Jupyter saved")
        print(f"exported {path} -> {', '.join(str(m) for m in made)}", flush=True)


if __name__ == "__main__":
    main()

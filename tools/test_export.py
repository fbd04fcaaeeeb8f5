#!/usr/bin/env python3
"""Checks tools/export.py on executed notebooks (make test passes the quick run's copies):

    test_export.py EXECUTED.ipynb ...        (run with the project venv's python)

For each: the HTML has the title block, the contents and a numbered caption for every figure
and table the notebook kept; no progress line (train::PROGRESS_MARK) and no display count is
left; the page head loads nothing from the network; the PDF has pages, all A4. Without headless
Chromium the check fails, saying how to install it (set-up installs it where it can).
"""

import re
import sys
import tempfile
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import export  # noqa: E402

A4 = (595, 842)  # points, as Chromium writes the MediaBox (594.96 x 841.92)


def kept_displays(nb):
    figures = tables = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data", {})
            if any(t in data for t in export.IMAGE_TYPES):
                figures += 1
            elif "<table" in "".join(data.get("text/html", "")):
                tables += 1
    return figures, tables


def check(path: Path, out: Path, chromium):
    wrong = []
    nb = nbformat.read(path, as_version=4)
    figures, tables = kept_displays(nb)
    made = export.export(path, out, True, chromium)
    page = made[0].read_text(encoding="utf-8")
    if 'class="fl-title-block"' not in page or "fashion-lab " not in page:
        wrong.append("no title block with the crate version")
    if 'class="fl-toc"' not in page:
        wrong.append("no table of contents")
    for kind, n in (("Figure", figures), ("Table", tables)):
        numbered = len(set(re.findall(rf"{kind} (\d+)\.", page)))
        if numbered != n:
            wrong.append(f"{n} {kind.lower()}s kept in the notebook but {numbered} numbered in the HTML")
    if export.PROGRESS_MARK.strip() in page:
        wrong.append("a progress line (train::PROGRESS_MARK) reached the export")
    if export.DISPLAY_COUNT_MIME in page:
        wrong.append("the crate's display count reached the export")
    fetched = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?://[^"]+)"|url\(\s*["\']?(https?://[^)"\']+)', page)
    if fetched:
        wrong.append(f"the page loads from the network (an export must work offline): {fetched[:3]}")
    if len(made) < 2:
        wrong.append("no PDF was made")
    else:
        pdf = made[1].read_bytes()
        pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
        boxes = {tuple(round(float(v)) for v in m) for m in re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)}
        if not pdf.startswith(b"%PDF") or pages == 0:
            wrong.append("the PDF has no pages")
        if boxes and boxes != {A4}:
            wrong.append(f"pages are not A4: {boxes}")
    return wrong


def renumbering_mistakes():
    """Captions that number themselves after the report, and what the export must make of them."""
    cases = [
        (("Table", 3, "Table 1: accuracies"), "accuracies (the report's Table 1)"),
        (("Table", 7, "Table 6.2: confusion zones"), "confusion zones (the report's Table 6.2)"),
        (("Figure", 2, "Figure 2. learning curves"), "learning curves"),
        (("Table", 1, "Classes and their counts"), "Classes and their counts"),
    ]
    return [f"{args} gave {export.renumbered(*args)!r}, not {want!r}" for args, want in cases if export.renumbered(*args) != want]


def main():
    paths = [Path(p) for p in sys.argv[1:]]
    if not paths:
        raise SystemExit("usage: test_export.py EXECUTED.ipynb ...")
    chromium = export.find_chromium()
    if chromium is None:
        raise SystemExit(f"test_export: no headless Chromium, so no PDF to check; install it: {export.INSTALL_CHROMIUM}")
    failed = 0
    for w in renumbering_mistakes():
        print(f"test_export: caption numbers: {w}", flush=True)
        failed += 1
    with tempfile.TemporaryDirectory(prefix="test-export-") as tmp:
        for path in paths:
            wrong = check(path, Path(tmp), chromium)
            print(f"test_export: {path.name}: {'ok' if not wrong else 'WRONG'}", flush=True)
            for w in wrong:
                print(f"    {w}", flush=True)
            failed += bool(wrong)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

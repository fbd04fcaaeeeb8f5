#!/usr/bin/env python3
"""The rules a notebook of this project keeps (README, "How notebooks are written here"):

- the machinery lives in the crate: `fn`, `struct`, `enum`, `impl`, `trait` and `type` items only in
  cells tagged `from-scratch` (the algorithm a report is about, written out for the reader);
- cells stay short: no code cell over 30 lines, all notebooks together at most 1,100 code lines;
- one protocol switch, through the crate: no protocol booleans or budget switches in cells;
- sources are stored without outputs (executed copies go to reports/).

Exits 1 naming each notebook, cell and rule broken. A cell's length counts every line; the
total counts non-blank lines.

    python3 tools/check_notebooks.py [NOTEBOOK ...]   (default: notebooks/[0-9][0-9]-*.ipynb)
"""
import json
import re
import sys
from pathlib import Path

MAX_CELL_LINES = 30
MAX_TOTAL_LINES = 1100
# An item definition at the start of a line (after `pub`): not `impl Trait` in a signature.
DEFINITION = re.compile(r"^\s*(pub(\([a-z]+\))?\s+)?(fn|struct|enum|impl|trait|type)\b")
PROTOCOL_SWITCHES = re.compile(r"\b(report_protocol|report_numbers_protocol|full_or_quick|budget::|for_budget_protocol)\b")


def code_lines(cell):
    return [line for line in "".join(cell["source"]).splitlines() if line.strip()]


def check(path: Path):
    """(problems, code lines) of one notebook."""
    nb = json.loads(path.read_text())
    problems, total = [], 0
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        lines = code_lines(cell)
        total += len(lines)
        where = f"{path.name} cell {index}"
        # A cell's length as the reader sees it, blank lines included.
        shown = len("".join(cell["source"]).splitlines())
        if shown > MAX_CELL_LINES:
            problems.append(f"{where}: {shown} lines (at most {MAX_CELL_LINES}: split it, or move machinery into the crate)")
        if "from-scratch" not in cell.get("metadata", {}).get("tags", []):
            for line in lines:
                if DEFINITION.match(line):
                    problems.append(f"{where}: defines `{line.strip()[:60]}` outside a cell tagged from-scratch (put it in the crate)")
        for line in lines:
            if PROTOCOL_SWITCHES.search(line):
                problems.append(f"{where}: protocol switch `{line.strip()[:60]}` (use the crate's Settings::for_protocol)")
        if cell.get("outputs") or cell.get("execution_count"):
            problems.append(f"{where}: stored with outputs (clear them: executed copies go to reports/)")
    return problems, total


def main(argv):
    paths = [Path(p) for p in argv] or sorted(Path("notebooks").glob("[0-9][0-9]-*.ipynb"))
    problems, total = [], 0
    for path in paths:
        found, lines = check(path)
        problems += found
        total += lines
        print(f"{path.name}: {lines} code lines")
    if not argv and total > MAX_TOTAL_LINES:
        problems.append(f"all notebooks: {total} code lines (at most {MAX_TOTAL_LINES})")
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    print(f"{len(paths)} notebooks, {total} code lines, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

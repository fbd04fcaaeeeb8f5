#!/usr/bin/env python3
"""Checks the kernel folders of tools/evcxr-kernel.sh without a real kernel: a stand-in for
evcxr_jupyter records the folder it was given (EVCXR_TMPDIR) and waits to be killed.

- kernels one at a time all get slot 0, `$TMPDIR/fashion-lab-kernel-0` (evcxr's compile cache
  stays valid only in a folder of the same name: see the script);
- two kernels at a time get slots 0 and 1;
- a slot's folder is removed when its kernel has gone, and the slot is taken again;
- a stale slot folder (its kernel died without its watcher) is emptied by the next kernel in it;
- a leftover folder of the earlier random names is removed once its kernel has gone.

    test_kernel_folders.py          (needs flock, from util-linux; without it the script falls
                                     back to random names, and this test says so and fails)
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
SCRIPT = TOOLS / "evcxr-kernel.sh"

STAND_IN = """#!/bin/sh
echo "$EVCXR_TMPDIR" > "$STAND_IN_OUT.$$"
exec sleep 600
"""


def start(tmp: Path, stand_in: Path, out: Path):
    """Starts the kernel script with the stand-in; returns the process and the folder it got."""
    env = {**os.environ, "TMPDIR": str(tmp), "STAND_IN_OUT": str(out)}
    proc = subprocess.Popen([str(SCRIPT), str(stand_in), "--control_file", "none"], env=env,
                            start_new_session=True)
    record = Path(f"{out}.{proc.pid}")
    for _ in range(200):
        if record.exists() and record.read_text().strip():
            return proc, Path(record.read_text().strip()).parent
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the kernel script never started the stand-in")


def wait_gone(path: Path, seconds=15):
    for _ in range(int(seconds / 0.1)):
        if not path.exists():
            return True
        time.sleep(0.1)
    return False


def main():
    if shutil.which("flock") is None:
        print("FAIL: no flock (util-linux): kernels would get random folders and rebuild per cell")
        return 1
    problems = []
    tmp = Path(tempfile.mkdtemp(prefix="kernel-folders-"))
    stand_in = tmp / "stand-in.sh"
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    out = tmp / "record"
    procs = []

    def check(ok, what):
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            problems.append(what)

    try:
        # An old random folder whose kernel is gone, older than a minute.
        old = tmp / "fashion-lab-kernel-Ab3dEf"
        old.mkdir()
        (old / "pid").write_text("999999\n")
        first, d1 = start(tmp, stand_in, out)
        procs.append(first)
        check(d1 == tmp / "fashion-lab-kernel-0", f"the first kernel runs in slot 0 ({d1.name})")
        check((d1 / "pid").read_text().strip() == str(first.pid), "its folder names the kernel's process")
        check(not old.exists(), "a random-named folder of a kernel that has gone is removed")
        second, d2 = start(tmp, stand_in, out)
        procs.append(second)
        check(d2 == tmp / "fashion-lab-kernel-1", f"a kernel beside it runs in slot 1 ({d2.name})")
        os.killpg(first.pid, signal.SIGKILL)  # as Jupyter ends a kernel: its whole process group
        first.wait()
        check(wait_gone(d1), "slot 0's folder is removed once its kernel has gone")
        (d1 / "build").mkdir(parents=True)  # as a kernel that died without its watcher leaves it
        (d1 / "build" / "stale").write_text("x")
        (d1 / "pid").write_text("999999\n")
        third, d3 = start(tmp, stand_in, out)
        procs.append(third)
        check(d3 == d1, f"the next kernel takes slot 0 again ({d3.name})")
        check(not (d3 / "build" / "stale").exists(), "and starts from an empty folder")
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        for d in sorted(tmp.glob("fashion-lab-kernel-*")):
            if d.is_dir():
                wait_gone(d, 10)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"kernel folders: {'all passed' if not problems else f'{len(problems)} failed'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

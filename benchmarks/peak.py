"""`python -m benchmarks.peak FILE ARGS...`: `sessionstore ARGS...`, then this process's peak
resident memory (VmHWM, in kB) written to FILE.

VmHWM is the high-water mark of this program's own memory: unlike the rusage a parent reads
after `wait`, it does not count what the process held between fork and exec.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sessionstore.cli import main


def _peak_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


if __name__ == "__main__":
    out, args = Path(sys.argv[1]), sys.argv[2:]
    try:
        main(args, standalone_mode=False)
    finally:
        out.write_text(str(_peak_kb()))

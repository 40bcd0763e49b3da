"""The README's Python API example runs as written, and runs again on the same store."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def embedding_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Python API (embedding the store)") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no Python block under 'Python API'"
    return match.group(1)


def test_the_embedding_example_runs_twice_on_one_store(tmp_path: Path) -> None:
    code = embedding_example()
    printed = []
    cwd = os.getcwd()
    os.chdir(tmp_path)  # the example writes var/events.db under the working directory
    try:
        for _ in range(2):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, "README.md", "exec"), {})
            printed.append(out.getvalue().strip())
    finally:
        os.chdir(cwd)
    assert printed == ["partially_returned 1", "partially_returned 1"]
    assert (tmp_path / "var" / "events.db").exists()

"""Optional sampling profiles of the real processes under load (`python -m bench.run --py-spy`).

py-spy is not a dependency of the project: install it into the venv for a profiling session
(`.venv/bin/pip install py-spy`) and uninstall it afterwards. It needs ptrace rights over the
processes (root, or CAP_SYS_PTRACE in a container).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

# Frames of our own code worth naming in a summary: the app package and the templates.
_OWN = ("/campaigns/", "/workers/", "/templates/", ".html", ".txt")


def executable() -> str | None:
    candidate = Path(sys.executable).parent / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


class Recorder:
    """`py-spy record` of a process tree (the process and its children) for a fixed duration."""

    def __init__(self, pid: int, seconds: float, out: Path, rate: int = 250) -> None:
        exe = executable()
        if exe is None:
            raise FileNotFoundError("py-spy is not installed (pip install py-spy)")
        self.out = out
        self.proc = subprocess.Popen(
            [
                exe, "record",
                "--pid", str(pid),
                "--subprocesses",
                "--nonblocking",
                "--rate", str(rate),
                "--duration", str(int(seconds)),
                "--format", "raw",
                "--full-filenames",
                "--output", str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )  # fmt: skip

    def wait(self, timeout: float) -> str:
        """Wait for the recording; return an error message, or '' if the profile was written."""
        try:
            _out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            return "py-spy did not finish in time"
        if not self.out.exists():
            return f"py-spy wrote no profile: {err.strip()[-500:]}"
        return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def _frame_name(frame: str) -> str:
    """'render (/x/site-packages/jinja2/environment.py:1275)' -> 'render (jinja2/environment.py)'."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})" if path else name


def summarize(path: Path, top: int = 25) -> str:
    """Inclusive share of our own functions, and the functions where the time itself is spent."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        seen: set[str] = set()
        for frame in frames:
            name = _frame_name(frame)
            if name in seen:
                continue
            seen.add(name)
            inclusive[name] += n
            if any(marker in frame for marker in _OWN):
                own[name] += n
        leaf[_frame_name(frames[-1])] += n
    if not total:
        return "(no samples)"
    lines = [
        f"{total} samples (busy time of all processes of the tree)",
        "",
        "our code, inclusive:",
    ]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in own.most_common(top)]
    lines += ["", "where the CPU is (leaf frames):"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in leaf.most_common(top)]
    return "\n".join(lines)

"""Stops what a launcher started if the launcher dies without stopping it (SIGKILL, a crash).

`make run` (``campaigns.devstack``) and the benchmark (``bench``) each start one watchdog: this
script, run by path with ``python -I`` (standard library only), in its own session. The launcher
keeps a pipe to its stdin open for as long as it lives. Through the pipe it registers each child's
process group as it starts it and unregisters it once it is gone (the `Watchdog` class below)::

    add <pgid>        stop it in the first round
    add <pgid> last   stop it after the others (Redis: the workers use it to their last moment)
    gone <pgid>

When the pipe closes, the launcher is gone, however it ended. Every group still registered gets
SIGTERM, and SIGKILL if it has not ended after the grace period (``argv[1]`` seconds): a process
that missed or ignored the SIGTERM, for example while it was still starting, cannot stay behind.
After a normal stop nothing is registered any more, and the watchdog just exits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO


class Watchdog:
    """The launcher's end: starts the watchdog process and keeps it told."""

    def __init__(self, grace: float) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-I", str(Path(__file__)), str(grace)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            start_new_session=True,  # a terminal's Ctrl-C or hang-up must not reach it
        )

    def add(self, pgid: int, last: bool = False) -> None:
        self._tell(f"add {pgid}" + (" last" if last else ""))

    def gone(self, pgid: int) -> None:
        self._tell(f"gone {pgid}")

    def close(self) -> None:
        """Call once every registered group is gone: the watchdog then exits."""
        try:
            self._proc.communicate(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self._proc.kill()
            self._proc.wait()

    def _tell(self, line: str) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
        except OSError:
            pass  # it died; the launcher still stops its children itself


# -- the watchdog process --------------------------------------------------------------------


def read_registrations(stream: IO[str]) -> tuple[list[int], list[int]]:
    """Follow the launcher's messages until the pipe closes; the groups still registered."""
    first: dict[int, None] = {}  # dicts keep the order the groups were started in
    last: dict[int, None] = {}
    for line in stream:
        words = line.split()
        if len(words) < 2 or not words[1].isdigit():
            continue
        pgid = int(words[1])
        if words[0] == "add":
            (last if words[2:] == ["last"] else first)[pgid] = None
        elif words[0] == "gone":
            first.pop(pgid, None)
            last.pop(pgid, None)
    return list(first), list(last)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_groups(pgids: list[int], signum: int) -> None:
    for pgid in pgids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)


def stop(pgids: list[int], grace: float) -> None:
    signal_groups(pgids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(map(group_alive, pgids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    signal_groups([pgid for pgid in pgids if group_alive(pgid)], signal.SIGKILL)


def say(text: str) -> None:
    # The launcher's terminal may be gone as well.
    with contextlib.suppress(OSError):
        os.write(2, f"watchdog | {text}\n".encode())


def main() -> int:
    grace = float(sys.argv[1])
    first, last = read_registrations(sys.stdin)
    if first or last:
        say("the launcher is gone; stopping the processes it started")
        stop(first, grace)
        stop(last, grace)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where the CPU goes during a phase: per-role CPU seconds read from /proc (Linux only).

A role is a set of processes: a process group we started (gunicorn, celery, the SMTP sink), every
`postgres` process, the `redis-server` on the app's port (a shared server: other users' load shows
up there too), this benchmark process itself (the open-loop generator) and its reaped children
(wrk: measure around a whole wrk run). `machine` is the busy time of all cores (/proc/stat), so
`other()` is what the machine did for anybody else.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid_dir: Path) -> tuple[str, int, float] | None:
    """(comm, process group, CPU seconds) of one process, or None if it is gone."""
    try:
        raw = (pid_dir / "stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
    return comm, int(fields[2]), (int(fields[11]) + int(fields[12])) / _TICKS


def _machine_busy() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: everything but idle and iowait)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return 0.0
    ticks = [int(f) for f in fields[:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / _TICKS


class CpuMeter:
    """Snapshot CPU seconds per role; `delta()` turns two snapshots into cores used."""

    def __init__(self, groups: Callable[[], dict[str, int]], redis_port: int = 6379) -> None:
        self.groups = groups  # role name -> process group id, looked up at each snapshot
        self.redis_port = redis_port

    def _is_our_redis(self, pid_dir: Path) -> bool:
        """The Redis server the app uses (others, e.g. tests' private ones, are not counted)."""
        try:
            cmdline = (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return False
        return f":{self.redis_port}" in cmdline

    def snapshot(self) -> tuple[float, dict[str, float]]:
        by_group = {pgid: role for role, pgid in self.groups().items()}
        totals: dict[str, float] = dict.fromkeys([*by_group.values(), "postgres", "redis"], 0.0)
        own = os.getpid()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == own:
                continue
            stat = _stat(entry)
            if stat is None:
                continue
            comm, pgrp, seconds = stat
            role = by_group.get(pgrp)
            if role is None and comm.startswith("postgres"):
                role = "postgres"
            elif role is None and comm.startswith("redis-server") and self._is_our_redis(entry):
                role = "redis"
            if role is not None:
                totals[role] += seconds
        times = os.times()
        totals["bench"] = times.user + times.system
        # wrk is a direct child of this process: once reaped, its CPU time lands here.
        totals["wrk"] = times.children_user + times.children_system
        totals["machine"] = _machine_busy()
        return time.monotonic(), totals

    @staticmethod
    def other(cores: dict[str, float]) -> float:
        """Cores busy with anything but the roles: other users' processes, kernel threads."""
        ours = sum(v for role, v in cores.items() if role != "machine")
        return max(0.0, cores.get("machine", 0.0) - ours)

    @staticmethod
    def delta(
        before: tuple[float, dict[str, float]], after: tuple[float, dict[str, float]]
    ) -> dict[str, float]:
        """Cores used per role between two snapshots (1.0 = one core busy all the time)."""
        wall = after[0] - before[0]
        if wall <= 0:
            return {}
        return {
            role: max(0.0, (after[1].get(role, 0.0) - before[1].get(role, 0.0)) / wall)
            for role in after[1]
        }

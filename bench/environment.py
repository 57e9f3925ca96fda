"""What a `bench.run` was measured on, for its report: the machine, the code and the versions of
the software (Python, PostgreSQL, Redis, wrk)."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from pathlib import Path

from bench.procs import REPO_ROOT
from bench.stack import Stack


def tool_version(argv: list[str]) -> str:
    """The first line a command prints (its version), or "?"."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "?"


def tree_summary() -> str:
    """The commit measured, and whether the working tree differed from it (outside bench/)."""
    commit = tool_version(["git", "-C", str(REPO_ROOT), "log", "-1", "--format=%h %s"])
    try:
        status = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--", ".", ":!bench"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.splitlines()
    except (OSError, subprocess.TimeoutExpired):
        status = []
    dirty = f" + uncommitted changes in {len(status)} file(s)" if status else ""
    return f"`{commit}`{dirty}"


def machine_summary() -> str:
    """Cores, CPU model, memory and kernel of this machine."""
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f"{kib / 1024 / 1024:.0f} GiB"
    return f"{os.cpu_count()} cores ({model}), {mem} RAM, {platform.system()} {platform.release()}"


def redis_version(stack: Stack) -> str:
    """The version of the Redis server the stack uses, or "?"."""
    import redis as redis_lib

    try:
        client = redis_lib.Redis.from_url(stack.config.redis_url)
        return str(client.info("server").get("redis_version", "?"))
    except Exception:  # noqa: BLE001 - a report line, not worth failing the run
        return "?"


def postgres_version(url: str) -> str:
    """The server version of the PostgreSQL at `url`, as "PostgreSQL 15.20"."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return f"PostgreSQL {row[0].split()[0]}" if row else "PostgreSQL ?"
    except Exception:  # noqa: BLE001 - a report line, not worth failing the run
        return "PostgreSQL ?"

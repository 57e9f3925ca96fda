"""The supervisor of `make run`: starts children in their own process groups, prefixes their
output with their names, and stops them all (SIGTERM, then SIGKILL after a grace period) on a
signal, when one of them dies, or, through the watchdog, when the launcher itself is killed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import IO

from campaigns.devstack.watchdog import Watchdog, group_alive, signal_groups

STOP_TIMEOUT = 10.0
# Stopped after the others: the app processes use it up to their last moment.
STOPPED_LAST = "redis"


class StackError(Exception):
    """Something prevents the stack from starting or running; the message says what."""


class Stopped(Exception):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) arrived: stop everything and exit 0."""


class Supervisor:
    """Starts children in their own process groups, prefixes their output, and stops them."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stop_signal: int | None = None
        self._pumps: list[threading.Thread] = []
        self._out_lock = threading.Lock()
        # If this process dies without stopping its children, the watchdog stops them.
        self._watchdog = Watchdog(grace=STOP_TIMEOUT)

    # output

    def say(self, name: str, text: str) -> None:
        with self._out_lock:
            try:
                sys.stdout.write(f"{name:>8} | {text}\n")
                sys.stdout.flush()
            except (BrokenPipeError, ValueError):
                pass

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        with stream:
            for raw in iter(stream.readline, b""):
                self.say(name, raw.decode("utf-8", "replace").rstrip("\r\n"))

    # signals

    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Only a flag: every wait below polls it, so no exception lands in the middle of a spawn.
        if self.stop_signal is None:
            self.stop_signal = signum

    def check(self) -> None:
        """Raise Stopped if a stop signal arrived, StackError if a child died."""
        if self.stop_signal is not None:
            raise Stopped
        for name, proc in self.children.items():
            code = proc.poll()
            if code is not None:
                raise StackError(f"{name} exited unexpectedly (exit status {code})")

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.stop_signal is None:
            time.sleep(0.1)

    # children

    def spawn(self, name: str, argv: list[str], nice: int = 0) -> subprocess.Popen[bytes]:
        """Start `argv` in a new session (hence its own process group), output prefixed `name`,
        at CPU priority `nice` (19: the lowest)."""
        proc = subprocess.Popen(
            ["nice", "-n", str(nice), *argv] if nice else argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if nice:
            lower_session_priority(proc.pid, nice)
        self.children[name] = proc
        self._watchdog.add(proc.pid, last=name == STOPPED_LAST)
        assert proc.stdout is not None
        pump = threading.Thread(target=self._pump, args=(name, proc.stdout), daemon=True)
        pump.start()
        self._pumps.append(pump)
        return proc

    def run_to_completion(self, name: str, argv: list[str], what: str) -> None:
        """Run a setup command like any child, but wait for it and require success."""
        proc = self.spawn(name, argv)
        while proc.poll() is None:
            if self.stop_signal is not None:
                raise Stopped
            time.sleep(0.1)
        del self.children[name]
        self._watchdog.gone(proc.pid)
        if proc.returncode != 0:
            raise StackError(f"{what} failed (exit status {proc.returncode})")

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            self.check()
            if time.monotonic() > deadline:
                raise StackError(f"{what} did not become ready within {timeout:.0f} s")
            self.sleep(0.25)
        self.check()

    def stop(self, names: Iterable[str], timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM the process groups of `names`, wait up to `timeout`, then SIGKILL the rest."""
        procs = [self.children.pop(name) for name in list(names) if name in self.children]
        for proc in procs:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while any(_group_alive(p) for p in procs) and time.monotonic() < deadline:
            time.sleep(0.1)
        for proc in procs:
            if _group_alive(proc):
                self.say("devstack", f"pid {proc.pid} did not stop in time; killing its group")
                _signal_group(proc, signal.SIGKILL)
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            self._watchdog.gone(proc.pid)

    def stop_all(self) -> None:
        """Stop the app processes first, then Redis (they use it up to their last moment)."""
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal_while_stopping)
        apps = [name for name in self.children if name != STOPPED_LAST]
        order = apps + [name for name in self.children if name == STOPPED_LAST]
        if order:
            self.say("devstack", "stopping " + ", ".join(order))
        self.stop(apps)
        self.stop([STOPPED_LAST])
        for pump in self._pumps:
            pump.join(timeout=2)
        self._watchdog.close()  # nothing is registered any more

    def _on_signal_while_stopping(self, signum: int, frame: FrameType | None) -> None:
        # A raw write: the handler may interrupt say() while it holds the output lock.
        with contextlib.suppress(OSError):
            os.write(sys.stderr.fileno(), b"devstack | already stopping, a few more seconds\n")


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    signal_groups([proc.pid], signum)


def _group_alive(proc: subprocess.Popen[bytes]) -> bool:
    """True while any process of the child's group exists (its leader is reaped first)."""
    proc.poll()
    return group_alive(proc.pid)


# -- the services ----------------------------------------------------------------------------


def lower_session_priority(pid: int, nice: int) -> None:
    """Give the session of `pid` the nice value `nice` too, where Linux groups by session.

    With autogroups (`/proc/sys/kernel/sched_autogroup_enabled`), the scheduler shares the CPU
    between sessions first and applies a process's nice value only within its session; each
    child here has a session of its own (so that it can be stopped as a group), so `nice` alone
    would not rank the workers below the web app. Nothing to do where there are no autogroups."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))

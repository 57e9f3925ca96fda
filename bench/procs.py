"""Child processes of the benchmark: each in its own process group, logged to a file, always stopped.

If the benchmark process dies outright, a watchdog process (``campaigns.devstack.watchdog``) stops them the
same way, so even a SIGKILLed run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from campaigns.devstack.watchdog import Watchdog, group_alive, signal_groups

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STOP_TIMEOUT = 10.0


class BenchError(Exception):
    """Something prevents the benchmark from running; the message says what."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def venv_bin(name: str) -> str:
    """A console script next to the running interpreter (the venv's), else from PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


class Child:
    def __init__(self, name: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
        self.name = name
        self.proc = proc
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def group_alive(self) -> bool:
        self.proc.poll()  # reap the leader first
        return group_alive(self.proc.pid)

    def signal_group(self, signum: int) -> None:
        signal_groups([self.proc.pid], signum)

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Processes:
    """Starts children in new sessions with output to `<logdir>/<name>.log`; stops them all."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env = env
        self.logdir = logdir
        self.children: list[Child] = []
        self._watchdog = Watchdog(grace=STOP_TIMEOUT)

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Child:
        log_path = self.logdir / f"{name}.log"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                env=env or self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._watchdog.add(proc.pid)
        child = Child(name, proc, log_path)
        self.children.append(child)
        return child

    def run(self, name: str, argv: list[str], timeout: float) -> None:
        """Run a setup command to completion; raise BenchError if it fails or takes too long."""
        child = self.spawn(name, argv)
        try:
            child.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop([child])
            raise BenchError(f"`{' '.join(argv)}` took longer than {timeout:.0f} s") from None
        self.children.remove(child)
        self._watchdog.gone(child.pid)
        if child.proc.returncode != 0:
            raise BenchError(
                f"`{' '.join(argv)}` failed (exit status {child.proc.returncode}):\n{child.tail()}"
            )

    def check(self) -> None:
        for child in self.children:
            if not child.alive():
                raise BenchError(
                    f"{child.name} exited unexpectedly (status {child.proc.returncode}):\n"
                    f"{child.tail()}"
                )

    def stop(self, children: list[Child] | None = None, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM each child's process group, wait up to `timeout`, then SIGKILL what is left."""
        targets = list(self.children if children is None else children)
        for child in reversed(targets):
            child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while any(c.group_alive() for c in targets) and time.monotonic() < deadline:
            time.sleep(0.1)
        for child in targets:
            if child.group_alive():
                child.signal_group(signal.SIGKILL)
        for child in targets:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(timeout=5)
            if child in self.children:
                self.children.remove(child)
            self._watchdog.gone(child.pid)

    def close(self) -> None:
        """Stop every child, then the watchdog."""
        self.stop()
        self._watchdog.close()


def wait_until(
    ready: Callable[[], bool], timeout: float, what: str, procs: Processes | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if procs is not None:
            procs.check()
        if time.monotonic() > deadline:
            raise BenchError(f"{what} did not become ready within {timeout:.0f} s")
        time.sleep(0.2)


def port_answers(port: int) -> Callable[[], bool]:
    def answers() -> bool:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return True
        except OSError:
            return False

    return answers

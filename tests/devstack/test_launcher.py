"""`make run` (python -m campaigns.devstack): starts the stack, serves, stops with no orphans."""

from __future__ import annotations

import contextlib
import http.client
import os
import queue
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from campaigns.devstack import launcher
from campaigns.devstack.mailcatcher.server import free_port

WATCHDOG = Path(launcher.__file__).with_name("watchdog.py")

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_LINE = "Campaign platform running: open"
CLEARED = (
    "DATABASE_URL",
    "REDIS_URL",
    "REDIS_PORT",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_CATCHER_DIR",
    "SECRET_KEY",
    "PUBLIC_BASE_URL",
    "CAMPAIGNS_PROFILE",
)


# -- the small pieces, no processes ----------------------------------------------------------


def test_secret_key_is_generated_once_private_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = launcher.secret_key(tmp_path)
    key_file = tmp_path / "secret_key"
    assert len(first) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert launcher.secret_key(tmp_path) == first

    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert launcher.secret_key(tmp_path) == "from-the-environment"


def test_a_busy_web_port_is_a_clear_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(launcher.StackError, match=f"port {port} .* busy.*PORT=<port>"):
            launcher.require_free_port(port, "the web app", "PORT")


def test_the_watchdog_stops_what_a_dead_launcher_left_even_if_it_ignores_sigterm(tmp_path):
    """As a Celery worker did while it was still starting: SIGTERM is lost, SIGKILL follows."""
    log = tmp_path / "order"
    stubborn = _group_leader("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN)")
    polite = _group_leader(_note_sigterm(log, "first"))
    last = _group_leader(_note_sigterm(log, "last"))
    watchdog = subprocess.Popen(
        [sys.executable, "-I", str(WATCHDOG), "1.5"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    started = time.monotonic()
    _, said = watchdog.communicate(
        f"add {stubborn.pid}\nadd {polite.pid}\nadd {last.pid} last\nadd 999999\ngone 999999\n",
        timeout=20,
    )
    assert "the launcher is gone" in said
    for proc in (stubborn, polite, last):
        proc.wait(timeout=5)
    assert stubborn.returncode == -signal.SIGKILL
    assert polite.returncode == last.returncode == 0
    # Redis's turn comes when the first round has ended, after the stubborn one's grace period.
    assert log.read_text() == "first\nlast\n"
    assert time.monotonic() - started >= 1.5


def test_the_watchdog_has_nothing_to_do_after_a_normal_stop():
    proc = _group_leader("")
    proc.terminate()
    proc.wait(timeout=5)
    watchdog = subprocess.run(
        [sys.executable, "-I", str(WATCHDOG), "1"],
        input=f"add {proc.pid}\ngone {proc.pid}\n",
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert watchdog.returncode == 0
    assert watchdog.stderr == ""


def _note_sigterm(log: Path, word: str) -> str:
    return (
        "import signal, sys\n"
        f"def bye(*_): open({str(log)!r}, 'a').write({word + chr(10)!r}); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)"
    )


def _group_leader(setup: str) -> subprocess.Popen[bytes]:
    """A Python process in its own process group that runs `setup` and then sleeps; returned once
    `setup` has run (its signal handlers are in place)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", f"{setup}\nimport time\nprint('ready', flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    return proc


# -- the real thing --------------------------------------------------------------------------


class Launcher:
    """`python -m campaigns.devstack` in its own session, its output collected line by line."""

    def __init__(self, instance: Path, port: int) -> None:
        self.instance = instance
        self.port = port
        env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        env.update(INSTANCE_PATH=str(instance), PORT=str(port), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "campaigns.devstack"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
            errors="replace",
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self._queue.put(line)
        self._queue.put(None)

    @property
    def output(self) -> str:
        return "\n".join(self.lines[-200:])

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"devstack exited ({self.proc.wait()}) before {text!r}:\n{self.output}")
            if text in line:
                return
        pytest.fail(f"no {text!r} within {timeout:.0f} s:\n{self.output}")

    def signal(self, signum: int) -> None:
        # Like Ctrl-C in a terminal: the signal goes to the launcher's whole process group.
        os.killpg(self.proc.pid, signum)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"devstack did not exit within {timeout:.0f} s:\n{self.output}")

    def kill_everything(self) -> None:
        """Cleanup after a failed test: never leave processes behind."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pid in stack_pids(self.instance, self.port):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)


def _read_proc(pid: str, name: str) -> bytes:
    try:
        return Path("/proc", pid, name).read_bytes()
    except OSError:
        return b""


def _is_zombie(pid: str) -> bool:
    stat_line = _read_proc(pid, "stat")
    return not stat_line or stat_line.rsplit(b")", 1)[-1].split()[0] == b"Z"


def stack_pids(instance: Path, port: int) -> set[int]:
    """Live processes that belong to this stack: they carry its INSTANCE_PATH in their environment
    (every child inherits it) or its instance folder or web port on their command line."""
    marker_env = f"INSTANCE_PATH={instance}".encode()
    markers_cmd = (str(instance).encode(), f"127.0.0.1:{port}".encode())
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid() or _is_zombie(pid):
            continue
        environ = _read_proc(pid, "environ").split(b"\0")
        cmdline = _read_proc(pid, "cmdline").replace(b"\0", b" ")
        if marker_env in environ or any(marker in cmdline for marker in markers_cmd):
            found.add(int(pid))
    return found


def _pid_alive(pid: int) -> bool:
    return Path("/proc", str(pid)).exists() and not _is_zombie(str(pid))


def _assert_all_gone(pids: set[int], launcher: Launcher) -> None:
    deadline = time.monotonic() + 5  # reparented grandchildren may take a moment to be reaped
    while time.monotonic() < deadline:
        left = {pid for pid in pids if _pid_alive(pid)}
        left |= stack_pids(launcher.instance, launcher.port)
        if not left:
            return
        time.sleep(0.2)
    cmdlines = {pid: _read_proc(str(pid), "cmdline").replace(b"\0", b" ")[:120] for pid in left}
    pytest.fail(f"processes left behind: {cmdlines}\n{launcher.output}")


def _get(port: int, path: str) -> int:
    """The status of GET `path` from the web app on `port`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def flask_cli(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """What `make flask ARGS=...` runs, in an environment without the stack's settings."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env["INSTANCE_PATH"] = str(instance)
    return subprocess.run(
        [sys.executable, "-m", "campaigns.devstack.flask_cli", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def launch(tmp_path):
    launchers: list[Launcher] = []

    def start(instance: Path, port: int) -> Launcher:
        launcher = Launcher(instance, port)
        launchers.append(launcher)
        return launcher

    yield start
    for running in launchers:
        running.kill_everything()


@pytest.mark.e2e
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="scans /proc")
def test_make_run_serves_and_stops_cleanly(tmp_path, launch):
    instance = tmp_path / "instance"
    port = free_port()
    launcher = launch(instance, port)
    launcher.wait_for(READY_LINE, timeout=90)

    # The root sends the visitor to their language's home page, which must be a page.
    assert _get(port, "/") == 302
    assert _get(port, "/en/") == 200
    # A first admin account to try the staff workspace with, its password readable by us only.
    admin_file = instance / "admin-password.txt"
    launcher.wait_for(f"Staff workspace: http://127.0.0.1:{port}/staff/", timeout=10)
    assert admin_file.read_text().splitlines()[0] == "admin@example.org"
    assert stat.S_IMODE(admin_file.stat().st_mode) == 0o600
    assert _get(port, "/staff/login") == 200

    # From another terminal, with none of the stack's settings exported: `make flask ARGS=...`
    # reaches the same database and Redis.
    launcher.wait_for("make flask ARGS=", timeout=10)
    env_file = instance / "devstack.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    staff = flask_cli(instance, "staff", "list")
    assert staff.returncode == 0, staff.stderr
    assert "admin@example.org" in staff.stdout
    doctor = flask_cli(instance, "doctor")
    assert "OK    Redis: answers" in doctor.stdout, doctor.stdout + doctor.stderr
    assert "OK    Database" in doctor.stdout, doctor.stdout

    pids = stack_pids(instance, port)
    assert len(pids) >= 5, f"expected redis, web (+workers), worker, beat: {pids}"
    assert launcher.proc.pid in pids
    # The workers and beat run at the lowest CPU priority, the web app at the normal one.
    priorities = {
        pid: (_read_proc(str(pid), "cmdline"), os.getpriority(os.PRIO_PROCESS, pid)) for pid in pids
    }
    celery = [nice for cmdline, nice in priorities.values() if b"celery" in cmdline]
    web = [nice for cmdline, nice in priorities.values() if b"gunicorn" in cmdline]
    assert set(celery) == {19}, priorities
    assert set(web) == {0}, priorities

    launcher.signal(signal.SIGINT)
    assert launcher.wait(timeout=60) == 0, launcher.output
    _assert_all_gone(pids, launcher)

    # Stopped, the settings are gone, and a command says what to do instead of failing later.
    assert not env_file.exists()
    stopped = flask_cli(instance, "staff", "list")
    assert stopped.returncode == 1
    assert "Start it first" in stopped.stderr

    # What persists between runs lives in the instance folder.
    assert stat.S_IMODE((instance / "secret_key").stat().st_mode) == 0o600
    assert (instance / "campaigns.sqlite3").is_file()
    assert (instance / "mail" / "new").is_dir()
    assert (instance / "redis" / "dump.rdb").is_file()  # redis saves on shutdown


@pytest.mark.e2e
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="scans /proc")
def test_a_dying_child_stops_the_stack_with_an_error(tmp_path, launch):
    instance = tmp_path / "instance"
    port = free_port()
    launcher = launch(instance, port)
    launcher.wait_for(READY_LINE, timeout=90)
    pids = stack_pids(instance, port)

    beat = [pid for pid in pids if b"\0beat\0" in _read_proc(str(pid), "cmdline")]
    assert beat, launcher.output
    os.kill(beat[0], signal.SIGKILL)

    assert launcher.wait(timeout=60) != 0
    assert "beat exited unexpectedly" in launcher.output
    _assert_all_gone(pids, launcher)


@pytest.mark.e2e
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="scans /proc")
def test_sigterm_to_the_launcher_alone_stops_everything(tmp_path, launch):
    instance = tmp_path / "instance"
    port = free_port()
    launcher = launch(instance, port)
    launcher.wait_for(READY_LINE, timeout=90)
    pids = stack_pids(instance, port)

    launcher.proc.send_signal(signal.SIGTERM)  # e.g. from a process manager, not a terminal
    assert launcher.wait(timeout=60) == 0, launcher.output
    _assert_all_gone(pids, launcher)


@pytest.mark.e2e
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="scans /proc")
def test_killing_the_launcher_outright_leaves_no_orphans(tmp_path, launch):
    instance = tmp_path / "instance"
    port = free_port()
    launcher = launch(instance, port)
    launcher.wait_for("make flask ARGS=", timeout=90)
    pids = stack_pids(instance, port)

    launcher.proc.kill()  # SIGKILL: no handler runs; its watchdog sees its pipe close
    launcher.proc.wait()
    deadline = time.monotonic() + 30
    while {pid for pid in pids if _pid_alive(pid)} and time.monotonic() < deadline:
        time.sleep(0.2)
    _assert_all_gone(pids, launcher)
    # Its settings file is left behind, but names a launcher that is gone: no command uses it.
    assert (instance / "devstack.env").exists()
    assert "Start it first" in flask_cli(instance, "staff", "list").stderr

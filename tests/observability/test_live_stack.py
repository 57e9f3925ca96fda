"""The README's deployment in small: gunicorn (two processes) and a Celery worker (prefork)
sharing a PROMETHEUS_MULTIPROC_DIR, JSON logs. A supporter signs, confirms by mail, gets a
mailing and unsubscribes from it; then /metrics adds up what every process counted, the
request ids reached the worker's lines, and no log line of any process holds an address, the
name or a token of the mails' links."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from campaigns.devstack.mailcatcher.server import free_port
from campaigns.mailings import lifecycle
from tests.mailings.conftest import make_mailing
from tests.observability.conftest import TOKEN
from tests.support import (
    REPO_ROOT,
    commit_change,
    csrf_token,
    links_in,
    process_env,
    start_due_mailings,
    unprocessed_events,
    wait_until,
)

pytestmark = pytest.mark.e2e

SLUG = "naloxone-in-every-pocket"
NAME = "Zebedee Quarrington"
EMAIL = "zebedee.quarrington@example.org"
SIGN_ID = "journey-sign-5d1c"
CONFIRM_ID = "journey-confirm-8e2f"


class Browser:
    """A visitor's browser against the live server: cookies kept, redirects followed."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def open(
        self, path: str, data: dict | None = None, headers: dict | None = None
    ) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        url = self.base_url + path  # always http://127.0.0.1:<port>/...
        request = urllib.request.Request(url, data=body, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


class LiveWeb:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn",
                "--workers", "2",
                "--bind", f"127.0.0.1:{self.port}",
                "--no-control-socket",
                "wsgi:app",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_until(self._answers, timeout=60, interval=0.2)

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError("gunicorn exited:\n" + self.log_path.read_text()[-3000:])
        with contextlib.suppress(OSError):
            return Browser(self.url).open("/en/")[0] == 200
        return False

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._log.close()


@pytest.fixture
def stack(app, demo, tmp_path, start_worker) -> Iterator[tuple[LiveWeb, Path]]:
    """(the web server, the worker's log), sharing one multiprocess directory."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    settings = {
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "METRICS_TOKEN": TOKEN,
        "LOG_FORMAT": "json",
    }
    worker = start_worker(**settings)
    web = LiveWeb(process_env(dict(app.config), **settings), tmp_path / "web.log")
    yield web, worker.log_path
    web.stop()


def scrape(web: LiveWeb) -> dict[tuple[str, frozenset], float]:
    status, text = Browser(web.url).open("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, status
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def tokens_in(url: str) -> list[str]:
    """What in a link could act for its recipient: long path segments and query values."""
    parts = urllib.parse.urlsplit(url)
    found = [s for s in parts.path.split("/") if len(s) >= 16 and s != SLUG]
    found += [v for _k, v in urllib.parse.parse_qsl(parts.query) if len(v) >= 8]
    return found


def test_a_journey_is_counted_by_every_process_traced_and_logged_without_personal_data(
    app, mailbox, stack
):
    web, worker_log = stack
    browser = Browser(web.url)

    # Sign (with the newsletter), as a browser would.
    _status, page = browser.open(f"/en/c/{SLUG}")
    form = {
        "csrf_token": csrf_token(page),
        "name": NAME,
        "email": EMAIL,
        "country": "DE",
        "newsletter": "y",
    }
    status, _page = browser.open(f"/en/c/{SLUG}", form, {"X-Request-ID": SIGN_ID})
    assert status == 200

    # Confirm by the link of the mail.
    [confirmation] = wait_until(lambda: mailbox.to(EMAIL), timeout=30)
    [confirm_url] = [link for link in links_in(confirmation) if "/confirm/" in link]
    path = urllib.parse.urlsplit(confirm_url).path
    _status, page = browser.open(path)
    status, _page = browser.open(
        path, {"csrf_token": csrf_token(page)}, {"X-Request-ID": CONFIRM_ID}
    )
    assert status == 200

    # A mailing reaches the newsletter's subscribers; unsubscribe in one click (RFC 8058).
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    assert start_due_mailings() == [mailing.id]
    lifecycle.start_batches(mailing.id)
    news = wait_until(lambda: len(mailbox.to(EMAIL)) == 2 and mailbox.to(EMAIL)[1], timeout=30)
    unsubscribe_url = re.search(r"<(https?://[^>]+)>", news["List-Unsubscribe"]).group(1)
    status, _page = Browser(web.url).open(
        urllib.parse.urlsplit(unsubscribe_url).path, {"List-Unsubscribe": "One-Click"}
    )
    assert status == 200
    wait_until(lambda: unprocessed_events() == 0, timeout=30)

    # /metrics adds up the web processes' counters and the worker's.
    samples = scrape(web)

    def value(name: str, **labels: str) -> float:
        return samples.get((name, frozenset(labels.items())), 0.0)

    assert value("campaigns_signatures_created_total", kind="petition") == 1
    assert value("campaigns_signatures_confirmed_total", kind="petition") == 1
    assert value("campaigns_mails_total", kind="petitions/confirm", outcome="sent") == 1
    assert value("campaigns_mails_total", kind="mailing", outcome="sent") >= 1
    requests = "campaigns_http_request_duration_seconds_count"
    assert value(requests, endpoint="petitions.petition", status="3xx") == 1  # the POST
    assert value(requests, endpoint="petitions.confirm", status="3xx") == 1
    assert value("campaigns_outbox_waiting_events") == 0
    assert value("campaigns_metrics_source_up", source="redis") == 1

    # Every line of every process (JSON from the handler; Celery's banner is not a log line).
    time.sleep(1)  # the last lines reach the files
    web_lines = [json.loads(x) for x in web.log_path.read_text().splitlines() if x[:1] == "{"]
    worker_text = worker_log.read_text()
    worker_lines = [json.loads(x) for x in worker_text.splitlines() if x[:1] == "{"]
    everything = web.log_path.read_text() + worker_text

    signed = [x for x in web_lines if x.get("method") == "POST" and x["request_id"] == SIGN_ID]
    assert [x["path"] for x in signed] == [f"/en/c/{SLUG}"]
    # The work each request caused logged in the worker under its id.
    tasks = {
        (x["request_id"], x.get("task")) for x in worker_lines if x["logger"] == "campaigns.tasks"
    }
    assert (SIGN_ID, "events.drain") in tasks
    assert (CONFIRM_ID, "events.dispatch") in tasks

    mails = mailbox.to(EMAIL)
    links = [link for m in mails for link in links_in(m)] + [unsubscribe_url]
    secrets = [EMAIL, EMAIL.split("@")[0], *NAME.split()]
    secrets += [token for link in links for token in tokens_in(link)]
    secrets += [to for _sender, recipients in mailbox.envelopes for to in recipients]
    assert len(secrets) > 6
    leaks = sorted({s for s in secrets if s.lower() in everything.lower()})
    assert not leaks, f"in the logs: {leaks}"

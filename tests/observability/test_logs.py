"""Request logs in this process: one line per request with its id, no query string and no token,
the id handed to the tasks the request publishes, and the formatters' safety net. The whole
journey through gunicorn and a worker, with every line searched, is in test_live_stack.py."""

from __future__ import annotations

import json
import logging
import re
import sys

import pytest
import redis

from campaigns.core.logs import JsonFormatter, TextFormatter, redact
from campaigns.core.tasks import TRANSACTIONAL
from tests.support import csrf_token


def request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "campaigns.requests"]


@pytest.fixture
def requests_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="campaigns.requests")
    return caplog


def test_a_sane_request_id_is_kept_and_returned(client, requests_logged):
    response = client.get("/en/", headers={"X-Request-ID": "proxy-4f2a.91:7"})
    assert response.headers["X-Request-ID"] == "proxy-4f2a.91:7"
    [line] = request_lines(requests_logged)
    assert TextFormatter().format(line).split(" [", 1)[1].startswith("proxy-4f2a.91:7]: GET /en/")


@pytest.mark.parametrize("given", [None, "", "x" * 65, "two words", "ada@example.org", "a\tb"])
def test_any_other_request_id_is_replaced_by_a_new_one(client, given):
    headers = {"X-Request-ID": given} if given is not None else {}
    first = client.get("/en/", headers=headers).headers["X-Request-ID"]
    second = client.get("/en/", headers=headers).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_one_line_per_request_without_query_string_or_token(client, demo, requests_logged):
    token = "eyJzIjoxMjN9.ZxKc3Q.aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRva2Vu"
    client.get(f"/en/c/naloxone-in-every-pocket?utm_source=x&t={token}")
    client.get(f"/en/confirm/{token}?again=1")
    client.get(f"/en/nothing/{token}/here?t=1")

    petition, confirm, unmatched = request_lines(requests_logged)
    for record in (petition, confirm, unmatched):
        line = TextFormatter().format(record)
        assert token not in line
        assert "?" not in line
        assert "utm_source" not in line
        assert re.search(r" \d+\.\d ms ", line)
    assert petition.getMessage().startswith("GET /en/c/naloxone-in-every-pocket 200 ")
    assert petition.getMessage().endswith("(petitions.petition)")
    assert confirm.getMessage().startswith("GET /en/confirm/<token> ")
    assert unmatched.getMessage().startswith("GET /en/nothing/<long>/here 404 ")


def test_json_lines_carry_the_fields(client, demo, requests_logged):
    client.get("/en/c/naloxone-in-every-pocket", headers={"X-Request-ID": "json-test-1"})
    [record] = request_lines(requests_logged)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "json-test-1"
    assert line["level"] == "INFO"
    assert line["logger"] == "campaigns.requests"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert line["path"] == "/en/c/naloxone-in-every-pocket"
    assert line["endpoint"] == "petitions.petition"
    assert isinstance(line["duration_ms"], float)


def test_the_formatters_redact_addresses_and_signed_tokens_even_in_tracebacks():
    token = "eyJzaWduYXR1cmUiOjQyfQ.ZxKc3Q.qWzcTb0Wd5kTf4rSzXr1tDzMPv0aBcDeFgH"
    try:
        raise ValueError(f"550 <ada.lovelace@example.org>: unknown, link /confirm/{token}")
    except ValueError:
        record = logging.LogRecord(
            "campaigns.core.mail", logging.WARNING, __file__, 1, "mail to %s failed",
            ("ada.lovelace@example.org",), sys.exc_info(),
        )  # fmt: skip
    for formatter in (TextFormatter(), JsonFormatter()):
        line = formatter.format(record)
        assert "ada.lovelace" not in line
        assert token not in line
        assert "<address>" in line
        assert "<token>" in line
    # Ordinary dotted names and ids are left alone.
    kept = "campaigns.core.mail event 2b9f0c1e6a7d4e3f9a8b7c6d5e4f3a2b"
    assert redact(kept) == kept


def test_a_bad_log_format_is_refused(other_app):
    with pytest.raises(RuntimeError, match="LOG_FORMAT"):
        other_app(LOG_FORMAT="xml")


def test_tasks_published_by_a_request_carry_its_id(app, client, demo, mailbox):
    page = client.get("/en/c/naloxone-in-every-pocket")
    form = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "name": "Tracy Traced",
        "email": "traced@example.org",
        "country": "DE",
    }
    signed = client.post(
        "/en/c/naloxone-in-every-pocket", data=form, headers={"X-Request-ID": "sign-7"}
    )
    assert signed.status_code == 303
    assert signed.headers["X-Request-ID"] == "sign-7"
    # The confirmation's drain task waits in the broker (no worker runs), with the id.
    broker = redis.Redis.from_url(app.config["REDIS_URL"])
    waiting = broker.lrange(app.config["REDIS_KEY_PREFIX"] + TRANSACTIONAL, 0, -1)
    [message] = [json.loads(raw) for raw in waiting]
    assert message["headers"]["task"] == "events.drain"
    assert message["headers"]["request_id"] == "sign-7"

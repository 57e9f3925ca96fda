"""Load shedding in the app: a request that waited too long is refused at once with a busy page
that keeps what was typed; one that did not is served as always.

The wait is given in the WSGI environ, as the gunicorn worker (campaigns/serving/worker.py) gives
it; tests/serving/test_gunicorn.py checks the same against a real gunicorn.
"""

from __future__ import annotations

import logging
import re
import time
from html import unescape

import pytest

from campaigns.core.metrics import REQUESTS_SHED
from campaigns.serving.shedding import parse_request_start
from campaigns.serving.worker import WAITED_KEY
from tests.support import csrf_token

PETITION = "/fr/c/naloxone-in-every-pocket"
LATE = {WAITED_KEY: 0.9}  # the default bound is 500 ms


def hidden_fields(html: str) -> list[tuple[str, str]]:
    return [
        (unescape(name), unescape(value))
        for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', html)
    ]


def signatures(app) -> list[str]:
    from campaigns.extensions import db
    from campaigns.petitions.models import Signature

    with app.app_context():
        return list(db.session.scalars(db.select(Signature.email)))


def test_a_late_post_is_refused_before_any_work_and_its_retry_signs(app, demo, client):
    page = client.get(PETITION)
    typed = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "name": 'Zoë "<b>Ada</b>" & co',
        "email": "ada@example.org",
        "country": "DE",
        "comment": "ligne un\r\nligne deux <script>alert(1)</script>",
        "newsletter": "y",
    }

    shed_before = REQUESTS_SHED._value.get()
    started = time.perf_counter()
    refused = client.post(PETITION, data=typed, environ_overrides=LATE)
    elapsed = time.perf_counter() - started
    assert REQUESTS_SHED._value.get() == shed_before + 1  # counted for /metrics

    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert refused.headers["Cache-Control"] == "no-store"
    assert "default-src 'self'" in refused.headers["Content-Security-Policy"]
    assert elapsed < 0.1
    html = refused.get_data(as_text=True)
    assert 'lang="fr"' in html
    assert "<script>alert" not in html  # escaped, not markup
    assert "<b>Ada</b>" not in html
    # Everything typed comes back, exactly, in a form that posts it to the same address.
    assert dict(hidden_fields(html)) == typed
    assert f'<form method="post" action="{PETITION}">' in html
    assert re.search(r'<button type="submit"[^>]*>[^<]+</button>', html)
    assert signatures(app) == []  # nothing of the app ran

    retried = client.post(PETITION, data=dict(hidden_fields(html)))
    assert retried.status_code == 303
    assert signatures(app) == ["ada@example.org"]


def test_a_request_that_waited_less_than_the_bound_is_served(demo, client):
    assert client.get(PETITION).status_code == 200  # nobody timed it: never refused
    # Half the bound for a first visit (no session yet): newcomers are turned away first...
    client.delete_cookie("session")
    assert client.get(PETITION, environ_overrides={WAITED_KEY: 0.2}).status_code == 200
    client.delete_cookie("session")
    assert client.get(PETITION, environ_overrides={WAITED_KEY: 0.3}).status_code == 503
    # ... and a visitor on their way (the form they were given) is refused last.
    page = client.get(PETITION)
    assert client.get_cookie("session") is not None
    assert client.get(PETITION, environ_overrides={WAITED_KEY: 0.45}).status_code == 200
    signed = client.post(
        PETITION,
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "name": "Ada",
            "email": "ada@example.org",
            "country": "DE",
        },
        environ_overrides={WAITED_KEY: 0.45},
    )
    assert signed.status_code == 303
    assert (
        client.get(signed.headers["Location"], environ_overrides={WAITED_KEY: 0.45}).status_code
        == 200
    )


def test_a_late_get_offers_a_link_to_the_same_address_in_the_visitors_language(client):
    refused = client.get(
        "/staff/campaigns/?page=2&q=a%20b",
        headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"},
        environ_overrides=LATE,
    )
    assert refused.status_code == 503
    assert refused.headers["Content-Language"] == "de"
    html = refused.get_data(as_text=True)
    assert 'lang="de"' in html
    assert 'href="/staff/campaigns/?page=2&amp;q=a%20b"' in html
    assert "<form" not in html

    client.set_cookie("lang", "fr")
    assert client.get("/staff/", environ_overrides=LATE).headers["Content-Language"] == "fr"
    # The address's language comes first.
    assert client.get("/en/", environ_overrides=LATE).headers["Content-Language"] == "en"


def test_a_retry_address_never_points_to_another_site(client):
    # As gunicorn passes `GET //evil.example/x` on (a test client would take it for a host).
    refused = client.get("/", environ_overrides={**LATE, "PATH_INFO": "//evil.example/x"})
    assert refused.status_code == 503
    assert 'href="/evil.example/x"' in refused.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/static/site.css"])
def test_probes_metrics_and_static_files_are_never_refused(client, path):
    answered = client.get(path, environ_overrides={WAITED_KEY: 30.0})
    assert "Very busy right now" not in answered.get_data(as_text=True)
    if path in ("/healthz", "/static/site.css"):
        assert answered.status_code == 200


def test_a_password_is_not_written_into_the_page(client):
    refused = client.post(
        "/staff/login",
        data={"email": "a@example.org", "password": "hunter2-secret"},
        environ_overrides=LATE,
    )
    assert refused.status_code == 503
    html = refused.get_data(as_text=True)
    assert "hunter2-secret" not in html
    assert ("email", "a@example.org") in hidden_fields(html)


def test_x_request_start_counts_only_when_trusted(other_app, client):
    an_hour_ago = {"X-Request-Start": f"t={time.time() - 3600:.3f}"}
    assert client.get("/en/", headers=an_hour_ago).status_code == 200  # a client could send it

    behind_proxy = other_app(SHED_TRUST_X_REQUEST_START=True).test_client()
    assert behind_proxy.get("/en/", headers=an_hour_ago).status_code == 503
    just_now = {"X-Request-Start": f"t={time.time():.3f}"}
    assert behind_proxy.get("/en/", headers=just_now).status_code == 200


def test_shedding_can_be_switched_off(other_app):
    unbounded = other_app(SHED_AFTER_MS=0).test_client()
    assert unbounded.get("/en/", environ_overrides={WAITED_KEY: 60.0}).status_code == 200


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("t=1700000000.123", 1700000000.123),  # nginx ${msec}
        ("1700000000123", 1700000000.123),  # milliseconds
        ("t=1700000000123456", 1700000000.123456),  # microseconds (Apache %t)
        ("t=", None),
        ("soon", None),
        ("t=nan", None),
        ("-5", None),
    ],
)
def test_request_start_formats(header, expected):
    parsed = parse_request_start(header)
    assert parsed == (pytest.approx(expected) if expected is not None else None)


def test_refusals_are_logged_but_not_one_line_each(other_app, caplog):
    client = other_app().test_client()  # a shedder that has refused nothing yet
    with caplog.at_level(logging.WARNING, logger="campaigns.serving.shedding"):
        for _ in range(20):
            assert client.get("/en/", environ_overrides=LATE).status_code == 503
    lines = [r.getMessage() for r in caplog.records if "overloaded" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "more than 500 ms" in lines[0]

"""Bad input: a clear message next to each field, in the page's language, and nothing lost."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from campaigns.core.mail import header_safe, render_email
from campaigns.extensions import db
from campaigns.petitions.models import Signature
from tests.support import csrf_token, sign

SLUG = "naloxone-in-every-pocket"


def errors_on(html: str) -> dict[str, str]:
    """Field id -> the error message shown next to it."""
    return {
        # The visually hidden "Error:" prefix is for screen readers; the message follows it.
        field: re.sub(r'<span class="visually-hidden">.*?</span>', "", message).strip()
        for field, message in re.findall(r'<p class="error" id="([\w-]+)-error">(.*?)</p>', html)
    }


def signatures() -> int:
    return db.session.scalar(select(func.count()).select_from(Signature))


def test_each_invalid_field_gets_its_message_and_keeps_what_was_typed(client, demo):
    response = sign(client, name="", email="not-an-email", country="XX", comment="Ich bin dabei")
    html = response.get_data(as_text=True)

    assert response.status_code == 422
    assert errors_on(html) == {
        "name": "Please enter your name.",
        "email": "Please enter a valid email address, like name@example.org.",
        "country": "Please choose your country from the list.",
    }
    assert 'value="not-an-email"' in html
    assert "Ich bin dabei</textarea>" in html
    # Errors are linked to their fields for screen readers, and summarised with links.
    assert 'aria-describedby="email-hint email-error"' in html
    assert 'aria-invalid="true"' in html
    assert '<a href="#email">' in html
    assert signatures() == 0


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("fr", "Merci d’indiquer votre nom."),
        ("de", "Bitte gib deinen Namen ein."),
    ],
)
def test_messages_are_in_the_page_language(client, demo, lang, expected):
    html = sign(client, lang=lang, name="").get_data(as_text=True)
    assert errors_on(html)["name"] == expected


def test_overlong_and_multiline_values_are_refused_not_truncated(client, demo):
    html = sign(client, name="x" * 121, comment="y" * 1001).get_data(as_text=True)
    errors = errors_on(html)
    assert errors["name"] == "Please use at most 120 characters."
    assert errors["comment"] == "Please use at most 1000 characters."
    html = sign(client, name="Ada\r\nBcc: victim@example.org").get_data(as_text=True)
    assert errors_on(html)["name"] == "Please write this on a single line."
    assert signatures() == 0


def test_a_stale_csrf_token_shows_the_form_again_with_what_was_typed(client, demo):
    response = client.post(
        f"/en/c/{SLUG}",
        data={
            "csrf_token": "stale",
            "name": "Hana",
            "email": "hana@example.org",
            "country": "SE",
            "comment": "Solidarity",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "this form had expired" in html
    assert 'value="Hana"' in html
    assert 'value="hana@example.org"' in html
    assert '<option selected value="SE">' in html
    assert "Solidarity</textarea>" in html
    # The page carries a fresh token: sending again works.
    again = client.post(
        f"/en/c/{SLUG}",
        data={
            "csrf_token": csrf_token(html),
            "name": "Hana",
            "email": "hana@example.org",
            "country": "SE",
        },
    )
    assert again.status_code == 303
    assert signatures() == 1


def test_a_missing_csrf_token_elsewhere_is_a_friendly_page(client, demo):
    response = client.post("/en/not-me/sometoken")
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)


def test_the_honeypot_looks_like_success_but_stores_nothing(client, demo):
    response = sign(client, website="http://spam.example")
    assert response.status_code == 303
    assert response.location.endswith("/check-email")
    assert signatures() == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"country": ["DE", "FR"]},
        {"email": "a@b.c" * 100},
        {"name": "\x00\x01"},
        {"show_name": "definitely"},
        {"source": "x" * 5000},
        {"csrf_token": ""},
    ],
)
def test_nothing_a_visitor_sends_causes_a_500(client, demo, payload):
    assert sign(client, **payload).status_code < 500


@pytest.mark.parametrize(
    "url",
    [
        f"/en/c/{SLUG}?slug=other",
        f"/en/c/{SLUG}?lang=fr",
        f"/en/c/{SLUG}?_external=1&_anchor=x",
        f"/en/c/{SLUG}?source=%00",
        "/en/c/%00",
        "/api/v1/petitions/%00/counts",
        "/en/confirm/%00",
        "/%00/",
    ],
)
def test_nothing_in_a_url_causes_a_500(client, demo, url):
    assert client.get(url).status_code < 500


def test_a_nul_in_any_field_is_refused(client, demo):
    for field in ("comment", "source", "email"):
        assert sign(client, **{field: "a\x00b"}).status_code == 400
    assert signatures() == 0


def test_unknown_methods_and_huge_bodies_are_handled(client, demo):
    assert client.delete(f"/en/c/{SLUG}").status_code == 405
    assert client.post(f"/en/c/{SLUG}", data={"comment": "x" * 400_000}).status_code == 413


@pytest.mark.parametrize(
    "evil",
    [
        "Ada\r\nBcc: victim@example.org",
        "Ada\nSubject: hacked",
        "Ada\rX-Injected: 1",
        "Ada\u2028X-Injected: 1",
        "Ada\x0bX-Injected: 1",
    ],
)
def test_no_line_break_reaches_a_mail_header(app_ctx, evil):
    assert "\r" not in header_safe(evil)
    assert "\n" not in header_safe(evil)
    with app_ctx.test_request_context():
        message = render_email(
            "petitions/confirm",
            "en",
            f"ada@example.org{evil}",
            name=evil,
            title=evil,
            confirm_url="http://x/confirm",
            reject_url="http://x/reject",
            petition_url="http://x/",
            valid_days=7,
        ).as_bytes()
    headers = message.split(b"\r\n\r\n", 1)[0].decode()
    header_names = [
        line.split(":", 1)[0] for line in headers.split("\r\n") if line and not line[0].isspace()
    ]
    assert not {"Bcc", "X-Injected"} & set(header_names)
    assert header_names.count("Subject") == 1


def test_rate_limits_answer_429_with_a_friendly_page(other_app, demo):
    # Per hour, so the test cannot straddle the end of a fixed window.
    per_email = other_app(
        RATELIMIT_SIGN_PER_IP="100 per hour", RATELIMIT_SIGN_PER_EMAIL="2 per hour"
    )
    client = per_email.test_client()
    assert sign(client, email="one@example.org").status_code == 303
    assert sign(client, email="ONE@example.org ").status_code == 303
    blocked = sign(client, email="one@example.org")  # a third try with this address
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    assert blocked.headers["Retry-After"]
    assert sign(client, email="two@example.org").status_code == 303  # other addresses may sign

    per_ip = other_app(RATELIMIT_SIGN_PER_IP="2 per hour", RATELIMIT_SIGN_PER_EMAIL="100 per hour")
    client = per_ip.test_client()
    assert sign(client, email="three@example.org").status_code == 303
    assert sign(client, email="four@example.org").status_code == 303
    assert sign(client, email="five@example.org").status_code == 429  # this IP has signed enough
    # Reading is never limited.
    assert client.get(f"/en/c/{SLUG}").status_code == 200

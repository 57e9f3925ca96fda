"""The checks the staff form and the command share: origins as CSP compares them, contacts as
people write them, and each mistake named by its line."""

from __future__ import annotations

import pytest

from campaigns.network_directory import rules


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("https://www.example.org", "https://www.example.org"),
        ("https://WWW.Example.ORG/", "https://www.example.org"),
        ("https://example.org:443", "https://example.org"),
        ("https://example.org:8443", "https://example.org:8443"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("http://localhost:8001", "http://localhost:8001"),
        ("http://127.0.0.1:8001/", "http://127.0.0.1:8001"),
        ("http://[::1]:8001", "http://[::1]:8001"),
    ],
)
def test_origins_are_written_as_browsers_compare_them(app_ctx, written, canonical):
    assert rules.parse_origins([written]) == ([canonical], [])


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("example.org", "this is not a web address"),
        ("https://example.org/embed", "an origin has no path"),
        ("https://example.org/?x=1", "an origin has no path, query or #part"),
        ("https://user:pw@example.org", "no user name or password"),
        ("https://*.example.org", "no spaces or wildcards"),
        ("https://exa mple.org", "no spaces or wildcards"),
        ("https://example.org:99999", "this is not a web address"),
        ("https://-bad-.example.org", "is not a valid host name"),
        ("http://example.org", "only https:// sites may embed our forms"),
        ("javascript:alert(1)", "this is not a web address"),
    ],
)
def test_what_is_no_origin_is_refused_by_line(app_ctx, written, problem):
    origins, errors = rules.parse_origins(["https://ok.example.org", written])
    assert origins == ["https://ok.example.org"]
    assert len(errors) == 1
    assert errors[0].startswith(f"Line 2: “{written}”")
    assert problem in errors[0]


def test_local_http_is_for_development_and_tests_only(app_ctx):
    app_ctx.config.update(TESTING=False, DEBUG=False, WEBHOOK_ALLOW_HTTP=False)
    try:
        _origins, errors = rules.parse_origins(["http://localhost:8001"])
    finally:
        app_ctx.config.update(TESTING=True)
    assert "only https://" in errors[0]


def test_contacts_as_people_write_them(app_ctx):
    contacts, errors = rules.parse_contacts(
        ["Ana Sousa <Ana.Sousa@Example.org>", "", "  lead@example.org  ", "Zoë <zoe@example.org>"]
    )
    assert errors == []
    assert [(c.name, c.email) for c in contacts] == [
        ("Ana Sousa", "ana.sousa@example.org"),
        ("", "lead@example.org"),
        ("Zoë", "zoe@example.org"),
    ]
    assert rules.contact_lines(contacts) == (
        "Ana Sousa <ana.sousa@example.org>\nlead@example.org\nZoë <zoe@example.org>"
    )


def test_contact_mistakes_name_their_line(app_ctx):
    _contacts, errors = rules.parse_contacts(
        ["ok@example.org", "Name without address", "Two <a@b@example.org>", "OK <OK@example.org>"]
    )
    assert errors[0].startswith("Line 2: “Name without address” is not a valid email address")
    assert errors[1].startswith("Line 3: “a@b@example.org”")
    assert errors[2] == "Line 4: ok@example.org is listed already (Line 1)."
    assert rules.joined(errors + errors).endswith("And 3 more.")

"""An endpoint's address often carries a token (in its query string): it is kept whole only to
deliver and in the form that adds it. The workspace's pages and messages, the audit log and the
"switched off" email show it redacted: scheme, host, port and path, the query string as "?…", no
user name nor password."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from campaigns.audit.models import AuditEntry
from campaigns.extensions import db
from campaigns.webhooks import endpoints
from campaigns.webhooks.endpoints import redacted_url
from campaigns.webhooks.models import WebhookEndpoint
from tests.support import csrf_token, text_part
from tests.webhooks.conftest import add_endpoint
from tests.webhooks.test_pages import base, post

TOKEN = "s3cr3t-t0ken"
SECRET_URL = f"https://93.184.215.14:8443/hooks/euronpud?token={TOKEN}&v=1"
SHOWN = "https://93.184.215.14:8443/hooks/euronpud?…"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (SECRET_URL, SHOWN),
        ("https://hooks.example.org/in", "https://hooks.example.org/in"),
        ("https://hooks.example.org", "https://hooks.example.org"),
        ("https://hooks.example.org/in?", "https://hooks.example.org/in"),
        ("https://user:pass@hooks.example.org/in?k=1", "https://hooks.example.org/in?…"),
        ("https://hooks.example.org/in#key=1", "https://hooks.example.org/in"),
        ("https://[2001:db8::1]:8443/in?k=1", "https://[2001:db8::1]:8443/in?…"),
        ("http://localhost:8001/a%20b?x=ü", "http://localhost:8001/a%20b?…"),
    ],
)
def test_what_is_left_of_an_address(url, shown):
    assert redacted_url(url) == shown


def html_of(response) -> str:
    return response.get_data(as_text=True)


def test_pages_messages_and_the_audit_log_show_it_redacted(admin, network):
    form = admin.get(f"{base(network)}/new")
    added = admin.post(
        f"{base(network)}/new",
        data={"url": SECRET_URL, "csrf_token": csrf_token(html_of(form))},
    )
    assert added.status_code == 303, html_of(added)[:2000]
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    assert endpoint.url == SECRET_URL  # stored whole: the sender needs it

    seen = [html_of(admin.get(added.location))]  # the secret, shown once
    seen.append(html_of(admin.get(f"{base(network)}/")))
    seen.append(html_of(admin.get(f"{base(network)}/{endpoint.id}/")))
    one = f"{base(network)}/{endpoint.id}"
    seen.append(html_of(post(admin, f"{one}/rotate")))  # the question
    rotated = post(admin, f"{one}/rotate", confirmed="yes")
    seen.append(html_of(admin.get(rotated.location)))
    for action in ("disable", "enable"):
        done = post(admin, f"{one}/{action}")
        assert done.status_code == 303
        seen.append(html_of(admin.get(done.location)))  # with its flash message
    seen.append(html_of(post(admin, f"{one}/delete")))  # the question
    deleted = post(admin, f"{one}/delete", confirmed="yes")
    assert deleted.status_code == 303
    seen.append(html_of(admin.get(deleted.location)))

    for page in seen:
        assert TOKEN not in page
    shown = SHOWN.replace("&", "&amp;")
    assert all(shown in page for page in seen[:4])
    assert "Switched off: no message goes to " + shown in seen[5]
    assert "Switched on: new messages go to " + shown in seen[6]
    assert "Delete the endpoint " + shown in seen[7]
    assert "The endpoint " + shown + " was deleted." in seen[8]

    db.session.rollback()
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action.startswith("webhook_endpoint."))
        .order_by(AuditEntry.id)
    ).all()
    assert [entry.action for entry in entries] == [
        "webhook_endpoint.created",
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint.state_changed",
        "webhook_endpoint.state_changed",
        "webhook_endpoint.deleted",
    ]
    assert {entry.detail["url"] for entry in entries} == {SHOWN}
    assert all(TOKEN not in str(entry.detail) for entry in entries)


def test_the_form_that_adds_it_keeps_what_was_typed_whole(admin, network):
    add_endpoint(network, SECRET_URL)
    form = admin.get(f"{base(network)}/new")
    again = admin.post(
        f"{base(network)}/new",
        data={"url": SECRET_URL, "csrf_token": csrf_token(html_of(form))},
    )
    assert again.status_code == 422  # the same address twice
    assert f'value="{SECRET_URL.replace("&", "&amp;")}"' in html_of(again)


def test_the_switch_off_email_shows_it_redacted(app_ctx, network, mailbox):
    endpoint = add_endpoint(network, SECRET_URL)
    endpoints.disable(endpoint, endpoints.FAILING)
    db.session.commit()

    assert endpoints.notify_disabled() == 1
    message = mailbox.wait_for(1)[0]
    text = text_part(message)
    html = message.get_body(("html",)).get_content()
    assert TOKEN not in text
    assert TOKEN not in html
    assert SHOWN in text
    # The link goes to what a browser may open; "?…" follows it, as text.
    assert '<a href="https://93.184.215.14:8443/hooks/euronpud">' in html
    assert "https://93.184.215.14:8443/hooks/euronpud</a>?…" in html

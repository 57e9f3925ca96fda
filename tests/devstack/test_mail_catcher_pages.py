"""Staff read what the built-in mail catcher received: a list, each message with its headers,
its text with clickable links, and its HTML part where no script can run and nothing loads."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import pytest
from sqlalchemy import select

from campaigns.audit.models import AuditEntry
from campaigns.devstack.mailcatcher.server import MailCatcher, list_messages
from campaigns.extensions import db

CONFIRM_URL = "http://127.0.0.1:5000/en/c/naloxone-in-every-pocket/confirm/abc.DEF-123"

HOSTILE_HTML = f"""<html><head><script>alert('head')</script><style>body {{ color: red }}</style></head>
<body style="background:#f4f1ea" onload="alert('load')">
<p style="color:#1d1d1b;position:fixed">Please confirm:
<a href="{CONFIRM_URL}" onclick="alert('click')">Confirm my signature</a></p>
<img src="https://tracker.example/pixel.gif" alt="pixel" onerror="alert('img')">
<script>alert('body')</script>
<a href="javascript:alert('js')">Trap</a>
<iframe src="https://evil.example/"></iframe>
<form action="https://evil.example/"><input name="q"></form>
</body></html>"""


def _message(subject: str, to: str, html: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "EuroNPUD campaigns <campaigns@campaigns.example.org>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate()
    message["Message-ID"] = make_msgid(domain="campaigns.example.org")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        f"Hello,\n\nplease confirm your signature: {CONFIRM_URL}.\n\n<b>not bold</b>"
    )
    if html:
        message.add_alternative(html, subtype="html")
    return message


@pytest.fixture
def maildir(app, tmp_path, monkeypatch):
    path = tmp_path / "mail"
    monkeypatch.setitem(app.config, "MAIL_CATCHER_DIR", str(path))
    return path


@pytest.fixture
def caught(maildir):
    """Send two messages through a real catcher: (older, newer) keys."""
    with (
        MailCatcher("127.0.0.1", 0, maildir) as catcher,
        smtplib.SMTP("127.0.0.1", catcher.port) as smtp,
    ):
        smtp.send_message(_message("Welcome", "old@example.org"))
        smtp.send_message(
            _message("Please confirm your signature", "ana@example.net", HOSTILE_HTML)
        )
    newer, older = (m["key"] for m in list_messages(maildir))
    return older, newer


def test_messages_are_listed_newest_first(caught, make_staff, staff_login):
    older, newer = caught
    client = staff_login(make_staff("admin"))
    response = client.get("/staff/mail/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.index("Please confirm your signature") < page.index("Welcome")
    assert "ana@example.net" in page
    assert "old@example.org" in page
    assert f'href="/staff/mail/{newer}"' in page
    assert f'href="/staff/mail/{older}"' in page
    assert response.headers["Cache-Control"] == "no-store"


def test_a_message_shows_its_headers_text_and_clickable_links(caught, make_staff, staff_login):
    _older, newer = caught
    user = make_staff("admin")
    client = staff_login(user)
    page = client.get(f"/staff/mail/{newer}").get_data(as_text=True)

    for header in ("From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted"):
        assert f"<dt>{header}</dt>" in page
    assert "auto-generated" in page
    # The text part: escaped, with the confirmation link clickable (without the full stop).
    assert f'<a href="{CONFIRM_URL}" rel="noopener noreferrer">{CONFIRM_URL}</a>.' in page
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page
    # The HTML part is framed, sandboxed without scripts, from its own URL.
    frame = re.search(r'<iframe class="mail-frame" src="([^"]+)" sandbox="([^"]*)"', page)
    assert frame
    assert frame.group(1) == f"/staff/mail/{newer}/html"
    assert "allow-scripts" not in frame.group(2)
    assert "allow-same-origin" not in frame.group(2)
    assert "alert(" not in page

    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "mail_catcher.viewed")
    ).one()
    assert entry.actor_id == user.id
    assert entry.detail == {"message": newer}


def test_the_html_part_can_run_no_script_and_load_nothing(caught, make_staff, staff_login):
    _older, newer = caught
    client = staff_login(make_staff("admin"))
    response = client.get(f"/staff/mail/{newer}/html")
    assert response.status_code == 200
    html = response.get_data(as_text=True)

    assert "<script" not in html
    assert "alert(" not in html
    assert "onload" not in html
    assert "onclick" not in html
    assert "onerror" not in html
    assert "javascript:" not in html
    assert "tracker.example" not in html
    assert "evil.example" not in html
    assert "<form" not in html
    assert "<iframe" not in html
    # The links still work (in a new tab, outside the sandbox); harmless styling is kept.
    assert f'href="{CONFIRM_URL}"' in html
    assert 'target="_blank"' in html
    assert "color:#1d1d1b" in html
    assert "position" not in html

    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy  # falls back to default-src 'none'
    assert "img-src" not in policy
    assert "sandbox" in policy
    assert "allow-scripts" not in policy
    assert "frame-ancestors 'self'" in policy
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"

    assert client.get(f"/staff/mail/{caught[0]}/html").status_code == 404  # text only


def test_unknown_messages_are_not_found(caught, make_staff, staff_login):
    client = staff_login(make_staff("admin"))
    for key in ("nonsense", ".hidden", "..%2F..%2Fetc%2Fpasswd"):
        assert client.get(f"/staff/mail/{key}").status_code == 404
        assert client.get(f"/staff/mail/{key}/html").status_code == 404


def test_without_the_catcher_the_page_says_so(maildir, make_staff, staff_login):
    client = staff_login(make_staff("admin"))
    response = client.get("/staff/mail/")
    assert response.status_code == 200
    assert "The built-in mail catcher is not in use here" in response.get_data(as_text=True)


def test_an_empty_catcher(maildir, make_staff, staff_login):
    maildir.mkdir()
    client = staff_login(make_staff("admin"))
    assert "No message yet." in client.get("/staff/mail/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["campaigner", "coordinator"])
def test_only_admins_read_the_mail_catcher(caught, demo, make_staff, staff_login, role):
    """It holds every mail, other staff members' password reset links included."""
    from campaigns.networks.models import Network

    network = db.session.scalars(select(Network)).first()
    client = staff_login(make_staff(role, network=network if role == "coordinator" else None))
    _older, newer = caught
    for url in ("/staff/mail/", f"/staff/mail/{newer}", f"/staff/mail/{newer}/html"):
        response = client.get(url)
        assert response.status_code == 403
        assert "ana@example.net" not in response.get_data(as_text=True)
    assert (
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "mail_catcher.viewed")
        ).all()
        == []
    )

"""Every email, rendered from fixed data and compared with its snapshot in tests/emails/snapshots/,
so that a change to what supporters and staff receive shows up in review. After an intended
change, rewrite the snapshots with `make test PYTEST_ARGS='tests/emails --update-snapshots'` and
read the diff.

Each HTML part must also have a title and make every address it shows a real link."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from campaigns.core.mail import render_email
from campaigns.mailings.compose import prepare
from campaigns.mailings.message import MessageFactory, Recipient, prepare_layout

SNAPSHOTS = Path(__file__).with_name("snapshots")
BASE = "https://campaigns.example.org"

# Who a letter goes to, as the lobbying mails list them.
LETTER_TARGETS = [
    SimpleNamespace(
        name="Marc LEROY", political_group="Renew", role="Member of the European Parliament"
    ),
    SimpleNamespace(
        name="Director of the EU Drugs Agency", political_group=None, role="Executive Director"
    ),
]
# Every mail to a supporter links to their preferences page.
PREFERENCES_URL = f"{BASE}/en/preferences/TOKEN"
LETTER_LINKS = {
    "title": "End the war on people who use drugs",
    "action_url": f"{BASE}/en/write/end-the-war-on-people",
    "reject_url": f"{BASE}/en/letters/not-me/TOKEN",
    "preferences_url": PREFERENCES_URL,
}

# (template, context) of every transactional mail: what its handler passes, with fixed values.
TRANSACTIONAL = {
    "petitions/confirm": {
        "title": "Naloxone in every pocket",
        "confirm_url": f"{BASE}/en/confirm/TOKEN",
        "reject_url": f"{BASE}/en/not-me/TOKEN",
        "petition_url": f"{BASE}/en/c/naloxone-in-every-pocket",
        "preferences_url": PREFERENCES_URL,
        "valid_days": 7,
    },
    "petitions/already_signed": {
        "name": "Ana",
        "title": "Naloxone in every pocket",
        "petition_url": f"{BASE}/en/c/naloxone-in-every-pocket",
        "reject_url": f"{BASE}/en/not-me/TOKEN",
        "preferences_url": PREFERENCES_URL,
    },
    "lobbying/confirm": {
        **LETTER_LINKS,
        "targets": LETTER_TARGETS,
        "confirm_url": f"{BASE}/en/letters/confirm/TOKEN",
        "valid_days": 7,
    },
    "lobbying/receipt": {
        **LETTER_LINKS,
        "name": "Ana",
        "deliveries": [SimpleNamespace(target=t) for t in LETTER_TARGETS],
    },
    "lobbying/already_written": {
        **LETTER_LINKS,
        "name": "Ana",
        "deliveries": [SimpleNamespace(target=t) for t in LETTER_TARGETS],
    },
    "staff/password_reset": {
        "name": "Rosa",
        "reset_url": f"{BASE}/staff/password/reset/TOKEN",
        "valid_minutes": 60,
    },
}

MAILING_BODY = """Hello {{ first_name | friend }},

The EU Drugs Agency published its yearly report. **Read it** and act: {{ action_link }}

Or [sign here]({{ action_link }}).

In solidarity,
the EuroNPUD team"""


def check_snapshot(name: str, content: str, update: bool) -> None:
    path = SNAPSHOTS / name
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        return
    assert path.exists(), f"no snapshot {path.name}: run with --update-snapshots"
    assert content == path.read_text(), f"{path.name} changed: review, then --update-snapshots"


def check_html(html: str) -> None:
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title
    assert title.group(1).strip()
    shown = set(re.findall(r"(?<![\"'=])\bhttps?://[^\s<\"']+", html))
    linked = set(re.findall(r'href="([^"]+)"', html))
    assert shown <= {link.replace("&amp;", "&") for link in linked} | linked, shown - linked


@pytest.mark.parametrize("locale", ["en", "fr", "de"])
@pytest.mark.parametrize("template", sorted(TRANSACTIONAL))
def test_each_transactional_mail_matches_its_snapshot(app_ctx, update_snapshots, template, locale):
    with app_ctx.test_request_context():
        message = render_email(template, locale, "ana@example.org", **TRANSACTIONAL[template])
    stem = f"{template.replace('/', '-')}.{locale}"
    check_snapshot(f"{stem}.subject.txt", message.subject + "\n", update_snapshots)
    check_snapshot(f"{stem}.txt", message.text, update_snapshots)
    check_snapshot(f"{stem}.html", message.html, update_snapshots)
    check_html(message.html)
    if template.startswith("lobbying/"):
        assert "Marc LEROY (Renew)" in message.text  # who receives the letter, by name
    if template.startswith(("petitions/", "lobbying/")):
        # The promise of the consent texts: the link in our emails withdraws at any time.
        assert PREFERENCES_URL in message.text
        assert f'href="{PREFERENCES_URL}"' in message.html
    else:
        assert PREFERENCES_URL not in message.text  # staff mail: not a supporter's
    if template in ("petitions/confirm", "lobbying/confirm"):
        # Not by name: the address is not confirmed yet (see the template).
        assert "Ana" not in message.text
    else:
        assert "Ana" in message.text or "Rosa" in message.text  # greeted by name


def test_a_mailing_matches_its_snapshot(app_ctx, update_snapshots):
    with app_ctx.test_request_context():
        layout = prepare_layout(prepare("en", "News for {{ first_name }}", MAILING_BODY))
        values = {"first_name": "Ana", "action_link": f"{BASE}/en/c/naloxone?source=asud"}
        _sender, data, _message_id = MessageFactory(7).build(
            layout, Recipient(42, "ana@example.org", values)
        )
    message = email.message_from_bytes(data, policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    check_snapshot("mailing.en.txt", text, update_snapshots)
    check_snapshot("mailing.en.html", html, update_snapshots)
    check_html(html)
    assert "<title>News for Ana</title>" in html
    # The one-click unsubscribe link and the preferences page's, in both parts.
    preferences = re.search(r"https?://\S+/en/preferences/\S+", text).group(0)
    assert "/en/u/" in text
    assert f'href="{preferences}"' in html
    assert "**" not in text  # Markdown's marks are for the HTML part
    assert "In solidarity,<br>" in html  # the author's line break is kept

"""Sending alert emails: each AlertEmail once (core.mail.send_once, keyed by its id), in the
network's language, then marked sent or failed.

A worker killed mid-send leaves the mail's claim to lapse (MAIL_CLAIM_LEASE) and the AlertEmail
pending; beat's `alerts.send_pending` finds it and sends it then. Killed after the server
accepted the mail but before the AlertEmail was marked, the claim says "sent", and the next run
only marks it: nothing lost, nothing doubled (but for the one window send_once describes).

Each mail carries its contact's own unsubscribe link (alerts.optouts), in the footer and in
List-Unsubscribe with one-click (RFC 8058). A contact who unsubscribed, or was removed from the
network's contacts, after the alert was made gets nothing: the mail is marked, not sent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update

from campaigns.alerts import optouts
from campaigns.alerts.models import Alert, AlertEmail, Topic
from campaigns.alerts.topics import EMAIL_TEMPLATES
from campaigns.core.db import utcnow
from campaigns.core.mail import (
    Email,
    MailClaimedElsewhere,
    PermanentMailError,
    SentMail,
    render_email,
    send_once,
)
from campaigns.core.urls import public_url
from campaigns.extensions import db
from campaigns.networks.models import NetworkContact

log = logging.getLogger(__name__)

PENDING, SENT, FAILED = "pending", "sent", "failed"
# Not sent: the network was deactivated before its turn came.
CANCELLED = "cancelled"
# Not sent: the contact stopped the network's alert mails before its turn came.
UNSUBSCRIBED = "unsubscribed"
# Not sent: the address is no longer one of the network's contacts (so it has no link to stop).
REMOVED = "removed"
# At most this many emails per run of a task; beat's next run takes the rest.
BATCH = 200


@dataclass
class Outcome:
    sent: int = 0
    failed: int = 0
    left: int = 0  # another worker holds their claim: they stay pending for a later run
    more: bool = False  # stopped for the time or the batch's size: some may still wait


def mail_key(alert_email_id: int) -> str:
    return f"alert-email:{alert_email_id}"


def send_pending(
    alert_ids: list[int] | None = None, limit: int = BATCH, budget: float | None = None
) -> Outcome:
    """Send the pending emails of `alert_ids` (or of every alert), oldest first, starting no
    new one after `budget` seconds. Commits as it goes (send_once does: a claim must be
    visible before the mail goes out)."""
    deadline = None if budget is None else time.monotonic() + budget
    query = (
        select(AlertEmail.id)
        .where(AlertEmail.status == PENDING)
        .order_by(AlertEmail.id)
        .limit(limit)
    )
    if alert_ids is not None:
        query = query.where(AlertEmail.alert_id.in_(alert_ids))
    outcome = Outcome()
    waiting = db.session.scalars(query).all()
    outcome.more = len(waiting) == limit
    for alert_email_id in waiting:
        if deadline is not None and time.monotonic() > deadline:
            outcome.more = True
            break
        status = send_one(alert_email_id)
        if status == SENT:
            outcome.sent += 1
        elif status == FAILED:
            outcome.failed += 1
        elif status == PENDING:
            outcome.left += 1
    return outcome


def send_one(alert_email_id: int) -> str | None:
    """Send one alert email unless it went already; returns its status afterwards (None if it
    is gone or was settled by someone else). SMTP trouble that may pass is raised."""
    row = db.session.get(AlertEmail, alert_email_id)
    if row is None or row.status != PENDING:
        return None
    alert, address = row.alert, row.email
    if not alert.network.is_active:  # deactivated meanwhile: its contacts receive nothing more
        return _mark(alert_email_id, CANCELLED)
    contacts = optouts.contacts_at(alert.network_id, address)
    if not contacts:
        return _mark(alert_email_id, REMOVED)
    if not all(contact.receives_alert_mails for contact in contacts):
        return _mark(alert_email_id, UNSUBSCRIBED)
    key = mail_key(alert_email_id)
    template = EMAIL_TEMPLATES[Topic(alert.topic)]
    try:
        went = send_once(key, template, lambda: build_email(alert, address, contacts[0]))
    except PermanentMailError:
        log.warning("alert email %s refused for good", alert_email_id)
        return _mark(alert_email_id, FAILED)
    except MailClaimedElsewhere:
        return PENDING
    if went:
        return _mark(alert_email_id, SENT)
    # Sent (or refused) before, by a worker that died before it could say so here.
    earlier = db.session.get(SentMail, key)
    return _mark(alert_email_id, FAILED if earlier and earlier.status == FAILED else SENT)


def _mark(alert_email_id: int, status: str) -> str:
    db.session.execute(
        update(AlertEmail)
        .where(AlertEmail.id == alert_email_id, AlertEmail.status == PENDING)
        .values(status=status, sent_at=utcnow() if status == SENT else None)
    )
    db.session.commit()  # the email's outcome, as soon as it is known
    return status


def build_email(alert: Alert, address: str, contact: NetworkContact | None = None) -> Email:
    """The alert's email, in the language its payload was written in; with `contact`, their
    own link to stop these mails, in the footer and the List-Unsubscribe headers."""
    data = alert.payload
    network = alert.network
    locale = data.get("locale", "en")
    link = optouts.unsubscribe_url(contact, locale) if contact is not None else ""
    email = render_email(
        EMAIL_TEMPLATES[Topic(alert.topic)],
        locale,
        address,
        per_mail={"unsubscribe_url": link} if link else None,
        data=data,
        network_name=network.name,
        subscriptions_url=public_url("alerts.subscriptions", network_id=network.id),
        **_days(data),
    )
    if link:
        # RFC 2369 and RFC 8058: mail programs show an unsubscribe button that POSTs here. No
        # mailto: the bounce mailbox reads only mailings' tokens (mailings.bounces).
        email.extra_headers = (
            ("List-Unsubscribe", f"<{link}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        )
    return email


def _days(data: dict) -> dict[str, date | None]:
    """The payload's days as dates, for the templates to write in the reader's language."""

    def day(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    return {
        "deadline": day((data.get("urgent_action") or {}).get("deadline")),
        "first_day": day((data.get("week") or {}).get("from")),
        "last_day": day((data.get("week") or {}).get("to")),
    }

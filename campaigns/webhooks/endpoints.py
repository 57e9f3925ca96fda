"""A network's webhook endpoints: adding one, its secret's rotation, switching it off and on,
deleting it, telling the network by email when repeated failure switched it off, and the form of
an endpoint's address that may be shown anywhere (`redacted_url`).

Services only flush; the view or task commits (the email, sent by `notify_disabled`, commits its
own claim as `core.mail.send_once` does).
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import delete, select, update

from campaigns.core.db import utcnow
from campaigns.core.mail import (
    MailClaimedElsewhere,
    PermanentMailError,
    SentMail,
    render_email,
    send_once,
)
from campaigns.core.urls import public_url
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookStatus,
)
from campaigns.webhooks.signing import new_secret

log = logging.getLogger(__name__)

NO_SYNC = {"synchronize_session": False}

# Why an endpoint was switched off (WebhookEndpoint.disabled_reason).
GONE = "gone"  # it answered 410 Gone
FAILING = "failing"  # WEBHOOK_DISABLE_AFTER_FAILURES messages in a row failed for good
STAFF = "staff"  # someone switched it off in the workspace

# How long after a switch-off its email is still sent if the first try failed (SMTP down).
NOTICE_WINDOW = timedelta(days=2)
NOTICE_TEMPLATE = "webhooks/endpoint_disabled"

# What stands for the query string of an address shown redacted.
HIDDEN_QUERY = "?…"


def redacted_url(url: str) -> str:
    """The endpoint's address as pages, emails and the audit log show it: scheme, host, port and
    path, the query string replaced by "?…", without user name, password nor fragment. Networks
    often put a token in the query string; only the sender and the endpoint's own form need the
    whole address."""
    try:
        parts = urlsplit(url)
    except ValueError:  # never stored: the form refuses what urlsplit cannot read
        return "…"
    host = parts.netloc.rpartition("@")[2]  # as written (an IPv6 address keeps its brackets)
    return f"{parts.scheme}://{host}{parts.path}" + (HIDDEN_QUERY if parts.query else "")


def create_endpoint(network: Network, url: str, description: str = "") -> WebhookEndpoint:
    """A new active endpoint with a fresh secret (shown once, by the page that follows)."""
    endpoint = WebhookEndpoint(
        network_id=network.id,
        url=url,
        description=description,
        secret=new_secret(),
        is_active=True,
        consecutive_failures=0,
    )
    db.session.add(endpoint)
    db.session.flush()
    return endpoint


def rotate_secret(endpoint: WebhookEndpoint, now: datetime | None = None) -> str:
    """Give the endpoint a new secret and return it (shown once). The old one keeps signing
    beside it for WEBHOOK_SECRET_OVERLAP seconds, so the receiver can switch over without
    refusing a message. A secret older than the previous one stops signing at once."""
    now = now or utcnow()
    overlap = timedelta(seconds=current_app.config["WEBHOOK_SECRET_OVERLAP"])
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = now + overlap
    endpoint.secret = new_secret()
    return endpoint.secret


def disable(endpoint: WebhookEndpoint, reason: str, now: datetime | None = None) -> int:
    """Switch the endpoint off and cancel the messages waiting for it. Returns how many."""
    endpoint.is_active = False
    endpoint.disabled_at = now or utcnow()
    endpoint.disabled_reason = reason
    return cancel_waiting(endpoint.id)


def enable(endpoint: WebhookEndpoint) -> None:
    """Switch the endpoint on again, with a clean slate of failures. Messages cancelled while it
    was off stay cancelled: its page offers to resend them all (`delivery.resend_cancelled`),
    since those cancelled before their first try have no line in the delivery log."""
    endpoint.is_active = True
    endpoint.disabled_at = None
    endpoint.disabled_reason = None
    endpoint.consecutive_failures = 0


def cancel_waiting(endpoint_id: int) -> int:
    """Cancel the endpoint's messages waiting for a first try or a retry (not the ones in
    flight: their outcome is recorded when it comes)."""
    cancelled = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status == WebhookStatus.PENDING,
        )
        .values(status=WebhookStatus.CANCELLED, next_attempt_at=None),
        execution_options=NO_SYNC,
    )
    return cancelled.rowcount


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint with its messages and their log."""
    db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint.id))
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.flush()


# -- the email when repeated failure switched an endpoint off ------------------------------------


def notify_disabled(now: datetime | None = None) -> int:
    """Email each contact of each network whose endpoint failure switched off lately, once per
    switch-off and contact, in the network's language. Beat's tick calls it too, so a mail that
    could not go (SMTP down) goes later. Returns how many mails this call sent."""
    now = now or utcnow()
    endpoints = db.session.scalars(
        select(WebhookEndpoint)
        .where(
            WebhookEndpoint.is_active.is_(False),
            WebhookEndpoint.disabled_reason == FAILING,
            WebhookEndpoint.disabled_at >= now - NOTICE_WINDOW,
        )
        .order_by(WebhookEndpoint.id)
        # Afresh: the session keeps loaded objects across commits.
        .execution_options(populate_existing=True)
    ).all()
    notices = [
        (_notice_key(endpoint, contact.id), endpoint, contact.email, contact.name)
        for endpoint in endpoints
        for contact in endpoint.network.contacts
    ]
    if not notices:
        return 0
    settled = set(
        db.session.scalars(
            select(SentMail.key).where(
                SentMail.key.in_([key for key, *_rest in notices]), SentMail.status != "sending"
            )
        )
    )
    waiting = [notice for notice in notices if notice[0] not in settled]
    contexts = {endpoint.id: _notice_context(endpoint) for _key, endpoint, *_r in waiting}
    sent = 0
    for key, endpoint, address, name in waiting:
        context = contexts[endpoint.id]

        def build(address: str = address, name: str = name, context: dict = context) -> object:
            return render_email(
                NOTICE_TEMPLATE, context["locale"], address, name=name, **context["values"]
            )

        try:
            sent += send_once(key, NOTICE_TEMPLATE, build)
        except (MailClaimedElsewhere, PermanentMailError):
            continue  # another worker sends it; or the address refused it for good
        except (smtplib.SMTPException, OSError):
            log.warning("webhook switch-off notice not sent; the next tick tries again")
            break
    return sent


def _notice_key(endpoint: WebhookEndpoint, contact_id: int) -> str:
    stamp = int(endpoint.disabled_at.timestamp()) if endpoint.disabled_at else 0
    return f"webhook-disabled:{endpoint.id}:{stamp}:{contact_id}"


def _notice_context(endpoint: WebhookEndpoint) -> dict:
    """What the mail says, read once per endpoint (plain values: sending commits, which
    expires the loaded rows)."""
    network = endpoint.network
    last = db.session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.endpoint_id == endpoint.id)
        .order_by(WebhookAttempt.id.desc())
        .limit(1)
    ).first()
    return {
        "locale": network.locale if network.locale in current_app.config["LANGUAGES"] else "en",
        "values": {
            "network_name": network.name,
            "url": redacted_url(endpoint.url),
            "failures": current_app.config["WEBHOOK_DISABLE_AFTER_FAILURES"],
            "last_status": last.status_code if last else None,
            "last_detail": last.detail if last else "",
            "endpoints_url": public_url("webhooks.endpoints", network_id=network.id),
        },
    }

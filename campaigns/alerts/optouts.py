"""Alert contacts who stopped the alert mails themselves: the personal link in each mail, what
it names, and the opt-out it records.

A network's contacts are often not staff: they cannot open the network's subscriptions page.
So each alert mail carries a link signed for its contact (core.links, kind "network-contact",
purpose "alerts-unsubscribe": it opens nothing else, and no other link opens it) to a public
page with a button, and the same URL in List-Unsubscribe for one-click (RFC 8058). It never
expires: an unsubscribe link must work for as long as someone keeps the mail.

The opt-out is a row of the network and the address (networks.models.AlertOptOut), not of the
contact: a coordinator who edits the contact list, or removes the contact and adds it again,
does not undo it. It covers the address in that network only: the network still gets its
alerts, by webhook and by mail to its other contacts. Only the contact's own link takes it back
("receive them again"); a coordinator sees it on the network's page (a contact's
`alerts_unsubscribed_at`). Each change is audited without the address (the log is kept for good).
"""

from __future__ import annotations

import enum

from sqlalchemy import func, select

from campaigns.audit.services import NOBODY
from campaigns.audit.services import record as audit
from campaigns.core.db import utcnow
from campaigns.core.links import SignedLinks, TokenError
from campaigns.core.urls import public_url
from campaigns.extensions import db
from campaigns.networks.models import AlertOptOut, Network, NetworkContact

PURPOSE = "alerts-unsubscribe"
# Longer than any token we make (a signed id is under 60 characters): refused unread.
MAX_TOKEN_LENGTH = 200
_LINKS = SignedLinks("network-contact")


class Via(enum.StrEnum):
    """Where an opt-out came from, as the audit entry records it."""

    PAGE = "page"  # the button of the page the mail links to
    ONE_CLICK = "one-click"  # a mail program's POST to the List-Unsubscribe URL (RFC 8058)


def make_token(contact_id: int) -> str:
    return _LINKS.make(contact_id, PURPOSE)


def contact_from_token(token: str) -> NetworkContact | None:
    """The contact a link names; None if it is not ours, or the contact was removed since."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        contact_id = _LINKS.record_id(token, PURPOSE)
    except TokenError:
        return None
    return db.session.get(NetworkContact, contact_id)


def unsubscribe_url(contact: NetworkContact, lang: str) -> str:
    return public_url("alert_contacts.unsubscribe", lang=lang, token=make_token(contact.id))


def contacts_at(network_id: int, address: str) -> list[NetworkContact]:
    """The network's contact rows of this address (one, as the directory's form keeps them)."""
    return list(
        db.session.scalars(
            select(NetworkContact)
            .where(
                NetworkContact.network_id == network_id,
                func.lower(NetworkContact.email) == address.strip().lower(),
            )
            .order_by(NetworkContact.id)
        )
    )


def recipients(network: Network) -> list[str]:
    """The addresses the network's alert mails go to: its contacts', lowercased, but for those
    who unsubscribed (an address listed twice counts as stopped if either row is)."""
    stopped = {c.email.strip().lower() for c in network.contacts if not c.receives_alert_mails}
    return sorted({c.email.strip().lower() for c in network.contacts} - stopped)


def unsubscribed(network: Network) -> list[NetworkContact]:
    """The contacts who stopped the network's alert mails, for its coordinator to see."""
    return [c for c in network.contacts if not c.receives_alert_mails]


def unsubscribe(contact: NetworkContact, via: Via) -> bool:
    """Stop the network's alert mails to the contact's address; False if they were stopped
    already (a second press, the mail program's POST after the page's). The caller commits."""
    address = contact.email.strip().lower()
    if db.session.get(AlertOptOut, (contact.network_id, address)) is not None:
        return False
    db.session.add(AlertOptOut(network_id=contact.network_id, email=address, created_at=utcnow()))
    db.session.flush()
    _forget_loaded(contact)
    _audit("alerts.contact_unsubscribed", contact, via)
    return True


def resubscribe(contact: NetworkContact) -> bool:
    """The contact wants the network's alert mails again; False if they receive them already.
    The caller commits."""
    optout = db.session.get(AlertOptOut, (contact.network_id, contact.email.strip().lower()))
    if optout is None:
        return False
    db.session.delete(optout)
    db.session.flush()
    _forget_loaded(contact)
    _audit("alerts.contact_resubscribed", contact, Via.PAGE)
    return True


def _forget_loaded(contact: NetworkContact) -> None:
    # The contacts of this address read their opt-out afresh (it is a query, not a column).
    for row in contacts_at(contact.network_id, contact.email):
        db.session.expire(row, ["alerts_unsubscribed_at"])


def _audit(action: str, contact: NetworkContact, via: Via) -> None:
    # No address in the entry: the audit log is kept for good, a contact's address need not be.
    audit(
        action,
        target=contact,
        detail={"network": contact.network.slug, "via": str(via)},
        actor=NOBODY,
    )

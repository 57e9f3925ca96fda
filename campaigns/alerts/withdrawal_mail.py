"""The daily email of withdrawals: each member network's contacts get, in the network's first
language, the addresses that withdrew the consent given to it since its last such email, and are
asked to remove them from their lists. For the networks the `supporter.consent_withdrawn`
webhook did not reach: those without an active endpoint, deactivated ones (which get no webhook
any more, yet still hold what they read), or whose every delivery of a message failed for good
(campaigns.alerts.withdrawals).

Beat runs `alerts.withdrawal_notices` every hour. From 08:00 in Brussels, a network with
withdrawals waiting gets the day's notice: made once (unique per network and day, whichever
worker runs), listing every withdrawal waiting then; those that come later wait for the next
day's. Nothing is made on a day without withdrawals. Each contact's email goes once
(core.mail.send_once, keyed by notice and contact); a run that met SMTP trouble leaves the
notice unsent, and the next run sends what is left. Once every contact's email went, the
notice's withdrawals, and with them the addresses, are deleted.

Not an alert: no subscription turns it off, and it goes to every contact of the network.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime, time

from sqlalchemy import ColumnElement, and_, delete, exists, select, update

from campaigns.alerts.digest import DIGEST_TIME_ZONE
from campaigns.alerts.payloads import alert_locale
from campaigns.alerts.withdrawal_models import NetworkWithdrawal, WithdrawalNotice
from campaigns.core.db import insert_unless_present, utcnow
from campaigns.core.mail import (
    Email,
    MailClaimedElsewhere,
    PermanentMailError,
    render_email,
    send_once,
)
from campaigns.extensions import db
from campaigns.networks.models import Network, NetworkContact
from campaigns.webhooks.models import WebhookDelivery, WebhookStatus

log = logging.getLogger(__name__)

TEMPLATE = "alerts/withdrawals"
SEND_FROM = time(8, 0)  # Brussels time, as the weekly digest
# A webhook delivery that went, or may still go (it is retried for about a day).
_REACHING = (WebhookStatus.PENDING, WebhookStatus.SENDING, WebhookStatus.DELIVERED)
NO_SYNC = {"synchronize_session": False}


def notice_day(now: datetime | None = None) -> date | None:
    """The day whose notices are due at `now` (Brussels); None before 08:00."""
    local = (now or utcnow()).astimezone(DIGEST_TIME_ZONE)
    return local.date() if local.time() >= SEND_FROM else None


def _webhook(*statuses: WebhookStatus) -> ColumnElement[bool]:
    return exists().where(
        WebhookDelivery.message_id == NetworkWithdrawal.message_id,
        WebhookDelivery.status.in_(statuses),
    )


def waiting() -> ColumnElement[bool]:
    """A withdrawal for the next notice: in none yet, and no endpoint received its webhook or
    may still receive it."""
    return and_(NetworkWithdrawal.notice_id.is_(None), ~_webhook(*_REACHING))


def make_notices(now: datetime | None = None) -> list[int]:
    """Make today's notice for each network (active or not) with contacts and withdrawals
    waiting that has none today, one transaction per network (this commits). Returns the
    notices' ids."""
    day = notice_day(now)
    if day is None:
        return []
    network_ids = db.session.scalars(
        select(NetworkWithdrawal.network_id)
        .join(Network, Network.id == NetworkWithdrawal.network_id)
        .where(
            waiting(),
            exists().where(NetworkContact.network_id == Network.id),
        )
        .distinct()
    ).all()
    made = []
    for network_id in sorted(network_ids):
        notice_id = db.session.scalar(
            insert_unless_present(WithdrawalNotice)
            .values(network_id=network_id, day=day, addresses=0, created_at=utcnow())
            .returning(WithdrawalNotice.id)
        )
        if notice_id is None:  # today's is made already: these wait for tomorrow's
            db.session.rollback()
            continue
        db.session.execute(
            update(NetworkWithdrawal)
            .where(NetworkWithdrawal.network_id == network_id, waiting())
            .values(notice_id=notice_id),
            execution_options=NO_SYNC,
        )
        listed = len(addresses_of(notice_id))
        if not listed:  # told by webhook meanwhile: no empty notice holds the day
            db.session.rollback()
            continue
        db.session.execute(
            update(WithdrawalNotice)
            .where(WithdrawalNotice.id == notice_id)
            .values(addresses=listed),
            execution_options=NO_SYNC,
        )
        db.session.commit()  # one network's notice: a failure elsewhere does not undo it
        made.append(notice_id)
    return made


def addresses_of(notice_id: int) -> list[str]:
    """The addresses a notice lists, each once, in order."""
    return sorted(
        set(
            db.session.scalars(
                select(NetworkWithdrawal.email).where(NetworkWithdrawal.notice_id == notice_id)
            )
        )
    )


def send_notices() -> int:
    """Send every notice not sent yet, oldest first; returns how many went to all contacts.
    SMTP trouble that may pass is raised: the next run sends what is left."""
    unsent = db.session.scalars(
        select(WithdrawalNotice.id)
        .where(WithdrawalNotice.sent_at.is_(None))
        .order_by(WithdrawalNotice.id)
    ).all()
    return sum(send_notice(notice_id) for notice_id in unsent)


def mail_key(notice_id: int, contact: str) -> str:
    # Hashed: an address may be 254 characters long, a key is at most 120.
    digest = hashlib.sha256(contact.encode()).hexdigest()[:24]
    return f"withdrawal-notice:{notice_id}:{digest}"


def send_notice(notice_id: int) -> bool:
    """Send a notice to each contact of its network once; True once all went (or were refused
    for good), when its withdrawals are deleted. A deactivated network is told too: it gets no
    alerts any more, but what it holds of people who withdrew must still be deleted."""
    notice = db.session.get(WithdrawalNotice, notice_id)
    if notice is None or notice.sent_at is not None:
        return False
    network = notice.network
    addresses = addresses_of(notice.id)
    contacts = sorted({contact.email.strip().lower() for contact in network.contacts})
    for contact in contacts:
        try:
            send_once(
                mail_key(notice.id, contact),
                TEMPLATE,
                lambda to=contact: build_email(network, to, addresses),
            )
        except PermanentMailError:
            log.warning("withdrawal notice %s refused for good by a contact", notice.id)
        except MailClaimedElsewhere:
            return False  # another worker is sending it; the next run looks again
    db.session.execute(
        update(WithdrawalNotice)
        .where(WithdrawalNotice.id == notice.id, WithdrawalNotice.sent_at.is_(None))
        .values(sent_at=utcnow()),
        execution_options=NO_SYNC,
    )
    # The network has them now: we keep no list of who withdrew.
    db.session.execute(
        delete(NetworkWithdrawal).where(NetworkWithdrawal.notice_id == notice.id),
        execution_options=NO_SYNC,
    )
    db.session.commit()
    log.info("withdrawal notice %s sent to network %s", notice.id, network.slug)
    return True


def forget_told_by_webhook() -> int:
    """Delete the withdrawals an endpoint received by webhook (this commits): the network has
    them, and the address need not stay here. Returns how many."""
    deleted = db.session.execute(
        delete(NetworkWithdrawal).where(
            NetworkWithdrawal.notice_id.is_(None), _webhook(WebhookStatus.DELIVERED)
        ),
        execution_options=NO_SYNC,
    ).rowcount
    db.session.commit()
    return deleted


def build_email(network: Network, address: str, addresses: list[str]) -> Email:
    """The notice's email to one contact, in the network's language."""
    return render_email(
        TEMPLATE,
        alert_locale(network),
        address,
        network_name=network.name,
        addresses=addresses,
    )

"""The daily email of withdrawals: a network the webhook did not reach gets, once a day from 08:00
in Brussels, in its first language, the addresses to remove from its lists; nothing on a day
without withdrawals; nothing for what an endpoint received; and the addresses are not kept once
the network has them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import current_app
from sqlalchemy import func, select, update

from campaigns.alerts import withdrawal_mail
from campaigns.alerts.withdrawal_models import NetworkWithdrawal, WithdrawalNotice
from campaigns.core.tasks import celery_settings
from campaigns.extensions import db
from campaigns.privacy import services
from campaigns.webhooks.models import WebhookDelivery, WebhookStatus
from tests.mailings.conftest import add_supporter
from tests.privacy.helpers import CHECKING, NALOXONE, give_network_consent
from tests.support import run_outbox, text_part
from tests.webhooks.conftest import make_network
from workers.withdrawals import withdrawal_notices

# 09:00 and 07:00 in Brussels (UTC+1 in winter).
MORNING = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
TOO_EARLY = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
NEXT_MORNING = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """Sets the time the daily task sees."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(withdrawal_mail, "utcnow", lambda: moment)

    return set_to


@pytest.fixture
def aides(demo):
    """A French network with two contacts and no webhook endpoint."""
    return make_network(contacts=("camille@aides.example.org", "dominique@aides.example.org"))


def withdraw(network, email: str, *, erase: bool = False) -> None:
    """A supporter who gave `network` a confirmed consent withdraws it (or their signature)."""
    signature = add_supporter(NALOXONE, email)
    give_network_consent(signature, network)
    if erase:
        services.withdraw_signature(email, signature.id, "en")
    else:
        services.withdraw_network_consent(email, network.id)
    db.session.commit()
    run_outbox(current_app)


def kept() -> int:
    return db.session.scalar(select(func.count()).select_from(NetworkWithdrawal))


def test_the_contacts_get_the_addresses_once_a_day_in_the_networks_language(
    app, aides, mailbox, clock
):
    withdraw(aides, "ana@example.org")
    withdraw(aides, "ben@example.org", erase=True)

    clock(TOO_EARLY)
    assert withdrawal_notices() == 0
    assert mailbox.messages == []

    clock(MORNING)
    assert withdrawal_notices() == 1
    assert sorted(str(m["To"]) for m in mailbox.messages) == [
        "camille@aides.example.org",
        "dominique@aides.example.org",
    ]
    mail = mailbox.to("camille@aides.example.org")[0]
    assert mail["Content-Language"] == "fr"
    assert "AIDES France" in mail["Subject"]
    assert " 2 " in mail["Subject"]
    text = text_part(mail)
    assert "- ana@example.org" in text
    assert "- ben@example.org" in text
    assert "7(3), 17" in text  # the articles, in any language
    assert kept() == 0  # the network has them: the addresses are not kept here

    # Later the same day: a new withdrawal waits for tomorrow's email.
    withdraw(aides, "cy@example.org")
    assert withdrawal_notices() == 0
    assert len(mailbox.messages) == 2

    clock(NEXT_MORNING)
    assert withdrawal_notices() == 1
    (tomorrow,) = mailbox.to("dominique@aides.example.org")[1:]
    assert "- cy@example.org" in text_part(tomorrow)
    assert "ana@example.org" not in text_part(tomorrow)


def test_nothing_is_sent_on_a_day_without_withdrawals(app, aides, mailbox, clock):
    clock(MORNING)
    assert withdrawal_notices() == 0
    assert mailbox.messages == []
    assert db.session.scalar(select(func.count()).select_from(WithdrawalNotice)) == 0


def test_what_an_endpoint_received_is_not_mailed_but_what_failed_for_good_is(
    app, aides, mailbox, clock
):
    from tests.webhooks.conftest import add_endpoint

    add_endpoint(aides, "https://crm.aides.example.org/hooks")
    withdraw(aides, "ana@example.org")
    withdraw(aides, "ben@example.org")
    clock(MORNING)

    # Still being retried: the email does not list them yet.
    assert withdrawal_notices() == 0
    delivered, failed = db.session.scalars(
        select(WebhookDelivery).order_by(WebhookDelivery.id)
    ).all()
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivered.id)
        .values(status=WebhookStatus.DELIVERED)
    )
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == failed.id)
        .values(status=WebhookStatus.FAILED)
    )
    db.session.commit()

    assert withdrawal_notices() == 1
    (mail, _other) = mailbox.messages
    assert "- ben@example.org" in text_part(mail)
    assert "ana@example.org" not in text_part(mail)
    assert kept() == 0


def test_a_network_with_two_withdrawals_of_one_address_lists_it_once(app, aides, mailbox, clock):
    withdraw(aides, "ana@example.org")
    signature = add_supporter(CHECKING, "ana@example.org")
    give_network_consent(signature, aides)
    services.withdraw_signature("ana@example.org", signature.id, "en")
    db.session.commit()
    run_outbox(app)

    clock(MORNING)
    withdrawal_notices()
    assert text_part(mailbox.messages[0]).count("ana@example.org") == 1


def test_beat_runs_the_task_every_hour(app):
    schedule = celery_settings(app.config)["beat_schedule"]["alerts-withdrawal-notices"]
    assert schedule == {"task": "alerts.withdrawal_notices", "schedule": 3600.0}


def test_a_deactivated_network_is_still_told_by_email(app, aides, mailbox, clock):
    withdraw(aides, "eve@example.org")
    aides.is_active = False  # no alerts any more, but it holds what it read
    db.session.commit()

    clock(MORNING)
    assert withdrawal_notices() == 1
    assert sorted(str(m["To"]) for m in mailbox.messages) == [
        "camille@aides.example.org",
        "dominique@aides.example.org",
    ]
    assert "- eve@example.org" in text_part(mailbox.messages[0])
    assert kept() == 0


def test_a_network_deactivated_before_the_withdrawal_is_told_by_email_not_webhook(
    app, aides, mailbox, clock
):
    signature = add_supporter(NALOXONE, "fred@example.org")
    give_network_consent(signature, aides)
    aides.is_active = False
    db.session.commit()
    services.withdraw_network_consent("fred@example.org", aides.id)
    db.session.commit()
    run_outbox(current_app)

    clock(MORNING)
    assert withdrawal_notices() == 1
    assert "- fred@example.org" in text_part(mailbox.to("camille@aides.example.org")[0])

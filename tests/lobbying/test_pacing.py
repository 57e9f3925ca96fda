"""Letters reach each target at most LOBBYING_PER_TARGET_PER_HOUR an hour, only in its office
hours, exactly once even when a worker dies mid-send or two beats tick at once; and in test mode
no envelope ever names a target's address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from campaigns.core.sent_marks import SentMarks
from campaigns.extensions import db
from campaigns.lobbying import delivery, digest, sending
from campaigns.lobbying.models import (
    Letter,
    LetterDelivery,
    LetterDeliveryStatus,
    LetterStatus,
    Target,
)
from campaigns.lobbying.pacing import parse_office_hours
from campaigns.lobbying.services import confirm
from tests.lobbying.conftest import OFFICE_MORNING

BRUSSELS = ZoneInfo("Europe/Brussels")


def confirmed_letters(action, targets: list[Target], count: int) -> None:
    """`count` confirmed letters to `targets`, scheduled as the worker schedules them."""
    for n in range(count):
        letter = Letter(
            action_id=action.id,
            email=f"supporter{n}@example.org",
            email_digest=f"digest-{n}",
            name=f"Supporter {n}",
            country="FR",
            locale="en",
            status=LetterStatus.PENDING,
        )
        letter.deliveries = [LetterDelivery(target_id=t.id) for t in targets]
        db.session.add(letter)
        db.session.flush()
        confirm(letter)
        delivery.schedule_letter(letter.id)
    db.session.commit()


def run_until_sent(clock, until: datetime, step: timedelta = timedelta(minutes=1)) -> None:
    """Tick as beat would, jumping over the quiet stretches straight to the next letter due."""
    while clock.now < until:
        delivery.tick()
        digest.send_digests()
        next_due = db.session.scalar(
            select(func.min(LetterDelivery.due_at)).where(
                LetterDelivery.status == LetterDeliveryStatus.SCHEDULED
            )
        )
        if next_due is None:
            return
        clock.now = max(clock.now + step, next_due)


def test_office_hours_are_read_from_the_setting():
    hours = parse_office_hours("Mon-Fri 08:00-19:00")
    assert hours.days == frozenset(range(5))
    tuesday_night = datetime(2026, 12, 8, 19, 30, tzinfo=BRUSSELS)
    assert not hours.is_open(tuesday_night)
    opens = hours.next_open(tuesday_night.astimezone(UTC), BRUSSELS)
    assert opens.astimezone(BRUSSELS) == datetime(2026, 12, 9, 8, 0, tzinfo=BRUSSELS)
    friday_night = datetime(2026, 12, 11, 20, 0, tzinfo=BRUSSELS)
    monday = hours.next_open(friday_night.astimezone(UTC), BRUSSELS).astimezone(BRUSSELS)
    assert (monday.weekday(), monday.hour) == (0, 8)
    always = parse_office_hours("Mon-Sun 00:00-24:00")
    assert always.is_open(datetime(2026, 12, 13, 23, 59, 30, tzinfo=BRUSSELS))
    for wrong in ("weekdays 8-19", "Mon-Fri 19:00-08:00", "Mon-Xyz 08:00-19:00"):
        with pytest.raises(ValueError, match="office hours"):
            parse_office_hours(wrong)


def test_no_target_gets_more_than_its_pace_nor_anything_outside_office_hours(
    app, action, directory, office_clock, mailbox
):
    """300 letters to two targets (one in Lisbon), confirmed on a Friday afternoon: a simulated
    week of ticks delivers them all, at most 30 in any hour, on weekdays from 08:00 to 19:00."""
    office_clock.now = datetime(2026, 12, 11, 15, 0, tzinfo=UTC)  # Friday, 16:00 in Brussels
    targets = [directory["marc"], directory["euda"]]
    confirmed_letters(action, targets, 300)
    run_until_sent(office_clock, until=office_clock.now + timedelta(days=7))

    sent = db.session.execute(
        select(LetterDelivery.target_id, LetterDelivery.claimed_at, Target.time_zone)
        .join(Target)
        .where(LetterDelivery.status == LetterDeliveryStatus.SENT)
        .order_by(LetterDelivery.claimed_at)
    ).all()
    assert len(sent) == 600
    assert len(mailbox.messages) == 600
    pace = app.config["LOBBYING_PER_TARGET_PER_HOUR"]
    for target in targets:
        times = [at for target_id, at, _zone in sent if target_id == target.id]
        for i, start in enumerate(times):
            in_the_hour = [t for t in times[i:] if t < start + timedelta(hours=1)]
            assert len(in_the_hour) <= pace
    for _target_id, at, zone in sent:
        local = at.astimezone(ZoneInfo(zone))
        assert local.weekday() < 5, local
        assert 8 <= local.hour < 19, local
    # Paced, not bunched: 300 letters at 30 an hour take ten office hours at least.
    marc = [at for target_id, at, _z in sent if target_id == directory["marc"].id]
    assert marc[-1] - marc[0] > timedelta(hours=9)


def test_a_backlog_after_an_outage_still_goes_at_the_pace(action, directory, office_clock):
    confirmed_letters(action, [directory["marc"]], 40)
    office_clock.now += timedelta(hours=3)  # the workers were down; all 40 are overdue
    delivery.tick()
    delivery.tick()  # a second beat at the same moment
    sent = db.session.scalar(
        select(func.count())
        .select_from(LetterDelivery)
        .where(LetterDelivery.status == LetterDeliveryStatus.SENT)
    )
    assert sent == 1


def test_a_letter_whose_worker_died_before_the_final_dot_goes_again_once(
    action, directory, office_clock, mailbox
):
    confirmed_letters(action, [directory["marc"], directory["claire"]], 1)
    office_clock.now += timedelta(minutes=1)  # past the letters' jitter
    claimed, _deferred, _more = delivery.claim_due(office_clock.now, 10)
    assert len(claimed) == 2
    # The worker died: one letter before its final dot (not marked sent, the server dropped the
    # partial message), the other just after its "sent" commit (the server has it).
    marks = SentMarks(sending.MARK_SENT)
    params = {"b_delivery": claimed[1], "b_sent_at": office_clock.now, "b_test_mode": True}
    assert marks.mark(params, write_dot=lambda: None)  # the dot the server got
    marks.close()

    office_clock.now += timedelta(minutes=4)
    delivery.tick()  # the claim has not lapsed yet: nobody touches it
    assert mailbox.messages == []
    office_clock.now += timedelta(minutes=10)
    delivery.tick()  # lapsed: the unsent letter is taken again and sent; the other never again
    office_clock.now += timedelta(minutes=10)
    delivery.tick()
    statuses = db.session.scalars(select(LetterDelivery.status).order_by(LetterDelivery.id))
    assert list(statuses) == ["sent", "sent"]
    (message,) = mailbox.messages
    assert message["X-Original-To"] == next(
        t.email for t in directory.values() if t.id == _target_of(claimed[0])
    )


def _target_of(delivery_id: int) -> int:
    return db.session.get(LetterDelivery, delivery_id).target_id


def test_two_beats_claim_each_letter_once(action, directory, office_clock):
    confirmed_letters(action, [directory["marc"], directory["claire"], directory["sophie"]], 2)
    office_clock.now += timedelta(minutes=1)
    first, _, _ = delivery.claim_due(office_clock.now, 10)
    second, _, _ = delivery.claim_due(office_clock.now, 10)
    assert len(first) == 3
    assert second == []


def test_a_bounced_address_flags_the_target_and_skips_its_letters(
    app, action, directory, office_clock, mailbox
):
    app.config["LOBBYING_DELIVERY"] = "live"
    action.live = True
    db.session.commit()
    try:
        marc = directory["marc"]
        mailbox.rcpt_replies = {marc.email: "550 5.1.1 No such user"}
        confirmed_letters(action, [marc], 3)
        office_clock.now += timedelta(minutes=1)
        delivery.tick()
        db.session.refresh(marc)
        assert marc.bounced_at is not None
        assert "No such user" in marc.bounce_reason
        statuses = db.session.scalars(select(LetterDelivery.status)).all()
        assert sorted(statuses) == ["bounced", "skipped", "skipped"]
    finally:
        app.config["LOBBYING_DELIVERY"] = "test"


@pytest.mark.parametrize(
    ("deployment", "action_live"), [("test", False), ("test", True), ("live", False)]
)
def test_in_test_mode_no_envelope_names_a_target(
    app, action, directory, office_clock, mailbox, deployment, action_live
):
    app.config["LOBBYING_DELIVERY"] = deployment
    action.live = action_live
    db.session.commit()
    try:
        targets = [t for t in directory.values() if t.active]
        confirmed_letters(action, targets, 2)
        run_until_sent(office_clock, until=office_clock.now + timedelta(hours=2))
    finally:
        app.config["LOBBYING_DELIVERY"] = "test"
    addresses = {t.email for t in directory.values()}
    recipients = {r for _sender, rcpts in mailbox.envelopes for r in rcpts}
    assert len(mailbox.messages) == 2 * len(targets)
    assert recipients == {app.config["LOBBYING_TEST_INBOX"]}
    assert not recipients & addresses


def test_when_both_switches_are_on_letters_reach_the_targets(
    app, action, directory, office_clock, mailbox
):
    """The other side of the guarantee above: the switches really do something."""
    app.config["LOBBYING_DELIVERY"] = "live"
    action.live = True
    db.session.commit()
    try:
        confirmed_letters(action, [directory["marc"]], 1)
        office_clock.now += timedelta(minutes=1)
        delivery.tick()
    finally:
        app.config["LOBBYING_DELIVERY"] = "test"
    assert mailbox.envelopes[0][1] == [directory["marc"].email]
    assert "X-Original-To" not in mailbox.messages[0]


def test_a_target_on_a_daily_digest_gets_one_message_a_day(
    action, directory, office_clock, mailbox
):
    marc = directory["marc"]
    marc.daily_digest = True
    db.session.commit()
    confirmed_letters(action, [marc], 5)
    delivery.tick()
    digest.send_digests()
    assert mailbox.messages == []  # the day's letters wait for the day to end
    office_clock.now = OFFICE_MORNING + timedelta(days=1)
    digest.send_digests()
    digest.send_digests()
    (message,) = mailbox.messages
    assert "5 lettres" in message["Subject"]  # Marc reads French
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert all(f"Supporter {n}" in body for n in range(5))

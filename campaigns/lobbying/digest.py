"""Daily digests: a target staff switched to one message a day (where letters would exceed the
pace for days) receives, in its office hours, one message listing the letters of each past day."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from campaigns.core.db import utcnow
from campaigns.core.mail import MailClaimedElsewhere, PermanentMailError, send_once
from campaigns.extensions import db
from campaigns.lobbying.letters import LetterText, compose
from campaigns.lobbying.message import build_email
from campaigns.lobbying.mode import letters_go_live
from campaigns.lobbying.models import (
    Letter,
    LetterDelivery,
    LetterDeliveryStatus,
    LetterStatus,
    Target,
)
from campaigns.lobbying.pacing import office_hours, zone_of
from campaigns.lobbying.sending import skip_waiting_for


def send_digests(now: datetime | None = None) -> int:
    """Send every digest that is due: letters of days before today (the target's time zone),
    while its office is open. Returns how many letters went out in digests."""
    now = now or utcnow()
    waiting = list(
        db.session.scalars(
            select(LetterDelivery)
            .where(LetterDelivery.status == LetterDeliveryStatus.IN_DIGEST)
            .options(
                joinedload(LetterDelivery.target),
                joinedload(LetterDelivery.letter).joinedload(Letter.action),
            )
            .order_by(LetterDelivery.target_id, LetterDelivery.due_at)
        )
    )
    hours = office_hours()
    days: dict[tuple[int, int, date], list[LetterDelivery]] = defaultdict(list)
    for delivery in waiting:
        zone = zone_of(delivery.target.time_zone)
        local_now = now.astimezone(zone)
        day = delivery.due_at.astimezone(zone).date()
        if day < local_now.date() and hours.is_open(local_now):
            days[(delivery.target_id, delivery.letter.action_id, day)].append(delivery)
    sent = 0
    for (target_id, action_id, day), deliveries in days.items():
        if not deliveries[0].target.receives_letters:  # left office or bounced meanwhile
            skip_waiting_for(
                target_id, "bounced" if deliveries[0].target.bounced_at else "left office"
            )
            db.session.commit()
            continue
        try:
            sent += _send_digest(target_id, action_id, day, deliveries)
        except MailClaimedElsewhere:  # another worker is sending this one: the others go on
            continue
    return sent


def _send_digest(target_id: int, action_id: int, day: date, deliveries: list) -> int:
    confirmed = [d for d in deliveries if d.letter.status == LetterStatus.CONFIRMED]
    if not confirmed:
        _mark(deliveries, LetterDeliveryStatus.CANCELLED)
        return 0
    target: Target = confirmed[0].target
    action = confirmed[0].letter.action
    texts = [compose(action, d.letter, target) for d in confirmed]
    locale = texts[0].locale
    with force_locale(locale):
        intro = ngettext(
            "Dear %(name)s, %(num)d person wrote to you on %(day)s. Their letters follow; "
            "each writer's address is given so that you can answer them.",
            "Dear %(name)s, %(num)d people wrote to you on %(day)s. Their letters follow; "
            "each writer's address is given so that you can answer them.",
            len(texts),
            name=target.name,
            day=day.isoformat(),
        )
        subject = _(
            "%(subject)s (%(num)d letters of %(day)s)",
            subject=texts[0].subject,
            num=len(texts),
            day=day.isoformat(),
        )
    separator = "\n\n" + "-" * 40 + "\n\n"
    body = intro + separator + separator.join(f"{t.subject}\n\n{t.body}" for t in texts)
    first = confirmed[0].letter
    email = build_email(
        first,
        target,
        LetterText(locale=locale, subject=subject, body=body),
        test_mode=not letters_go_live(action),
        test_inbox=current_app.config["LOBBYING_TEST_INBOX"],
    )
    # Replies to a digest go to the platform, not to the first writer.
    email.reply_to = ""
    email.sender = current_app.config["MAIL_DEFAULT_SENDER"]
    key = f"letter-digest:{target_id}:{action_id}:{day.isoformat()}"
    try:
        went = send_once(key, "lobbying/digest", lambda: email)
    except PermanentMailError:
        _mark(confirmed, LetterDeliveryStatus.BOUNCED)
        return 0
    if not went:
        # This day's digest went before (its worker died before recording it): these letters
        # were in it. Recorded now, and not counted as sent by this call.
        _mark(confirmed, LetterDeliveryStatus.SENT, test_mode=not letters_go_live(action))
        return 0
    _mark(confirmed, LetterDeliveryStatus.SENT, test_mode=not letters_go_live(action))
    _mark([d for d in deliveries if d not in confirmed], LetterDeliveryStatus.CANCELLED)
    return len(confirmed)


def _mark(deliveries: list, status: LetterDeliveryStatus, test_mode: bool | None = None) -> None:
    if not deliveries:
        return
    values: dict[str, object] = {"status": status}
    if status == LetterDeliveryStatus.SENT:
        values.update(sent_at=utcnow(), claimed_at=utcnow(), test_mode=test_mode)
    db.session.execute(
        update(LetterDelivery)
        .where(LetterDelivery.id.in_([d.id for d in deliveries]))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()  # the digest's outcome, as soon as it is known

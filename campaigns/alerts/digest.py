"""The weekly digest: for each network subscribed to it, per live campaign, the confirmed
signatures (letters, for a letter campaign) it brought in the week just ended and in all.
Counts only: nothing about who signed.

Beat runs `alerts.weekly_digest` every hour; from Monday 08:00 in Brussels the week just ended
(Monday to Sunday, Brussels time) is due, and the occasion key (`week:2026-W07`) makes its
digest once per network, however often the task runs or whichever worker runs it. A network
that subscribes on a Wednesday gets last week's digest then; a week missed entirely (beat down
for a fortnight) is not sent late: it would tell nothing useful."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from campaigns.alerts import payloads
from campaigns.alerts.audience import subscribers
from campaigns.alerts.fan_out import make_alert
from campaigns.alerts.models import Alert, Topic
from campaigns.alerts.topics import digest_occasion, week_label
from campaigns.campaign.models import Campaign, CampaignStatus
from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.lobbying.models import Letter, LetterAction, LetterStatus
from campaigns.petitions.models import Petition, Signature, SignatureStatus

DIGEST_TIME_ZONE = ZoneInfo("Europe/Brussels")
SEND_FROM = time(8, 0)  # on Monday, Brussels time


class Week:
    """A week, Monday 00:00 to the next Monday 00:00 in Brussels, with its bounds in UTC."""

    def __init__(self, monday: date) -> None:
        self.monday = monday
        self.start = datetime.combine(self.monday, time(0), DIGEST_TIME_ZONE)
        self.end = datetime.combine(self.monday + timedelta(days=7), time(0), DIGEST_TIME_ZONE)
        self.label = week_label(self.monday)
        self.occasion = digest_occasion(self.monday)


def week_just_ended(now: datetime | None = None) -> Week | None:
    """The week whose digest is due at `now`: the last one, once it is Monday 08:00 in
    Brussels or later; None on Monday before 08:00 (last week's is not due yet, and the one
    before went last Monday)."""
    local = (now or utcnow()).astimezone(DIGEST_TIME_ZONE)
    this_monday = local.date() - timedelta(days=local.weekday())
    if local < datetime.combine(this_monday, SEND_FROM, DIGEST_TIME_ZONE):
        return None
    return Week(this_monday - timedelta(days=7))


def live_campaigns() -> list[Campaign]:
    return list(
        db.session.scalars(
            select(Campaign)
            .where(Campaign.status == CampaignStatus.LIVE)
            .order_by(Campaign.launched_at, Campaign.id)
        )
    )


def brought(week: Week, network_ids: list[int], campaign_ids: list[int]) -> dict:
    """{(network id, campaign id): (confirmed in the week, confirmed by its end)}."""
    found: dict[tuple[int, int], tuple[int, int]] = defaultdict(lambda: (0, 0))
    if not network_ids or not campaign_ids:
        return found
    counted = (
        (Signature, Petition, Petition.id == Signature.petition_id, SignatureStatus.CONFIRMED),
        (Letter, LetterAction, LetterAction.id == Letter.action_id, LetterStatus.CONFIRMED),
    )
    for model, parent, joined, confirmed in counted:
        in_week = func.sum(case((model.confirmed_at >= week.start, 1), else_=0))
        rows = db.session.execute(
            select(model.source_network_id, parent.campaign_id, in_week, func.count())
            .join(parent, joined)
            .where(
                model.status == confirmed,
                model.source_network_id.in_(network_ids),
                parent.campaign_id.in_(campaign_ids),
                model.confirmed_at < week.end,
            )
            .group_by(model.source_network_id, parent.campaign_id)
        )
        for network_id, campaign_id, last_week, total in rows:
            before = found[(network_id, campaign_id)]
            found[(network_id, campaign_id)] = (
                before[0] + int(last_week or 0),
                before[1] + int(total),
            )
    return found


def send_weekly_digests(now: datetime | None = None) -> list[int]:
    """Make the digest of the week just ended for every subscribed network without it yet, one
    transaction per network (this commits). Returns the ids of the alerts made."""
    week = week_just_ended(now)
    if week is None:
        return []
    campaigns = live_campaigns()
    if not campaigns:
        return []  # nothing to tell
    waiting = [
        s
        for s in subscribers(Topic.WEEKLY_DIGEST)
        if not db.session.scalar(
            select(Alert.id).where(
                Alert.network_id == s.network.id,
                Alert.topic == Topic.WEEKLY_DIGEST,
                Alert.occasion == week.occasion,
            )
        )
    ]
    counts = brought(week, [s.network.id for s in waiting], [c.id for c in campaigns])
    made = []
    last_day = (week.end - timedelta(days=1)).date()
    for subscriber in waiting:
        rows = [(c, *counts[(subscriber.network.id, c.id)]) for c in campaigns]
        data = payloads.digest(
            subscriber.network, week.occasion, week.label, week.monday, last_day, rows
        )
        alert_id = make_alert(subscriber, Topic.WEEKLY_DIGEST, week.occasion, data)
        db.session.commit()  # one network's digest: a failure elsewhere does not undo it
        if alert_id is not None:
            made.append(alert_id)
    return made

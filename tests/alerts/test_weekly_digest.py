"""The weekly digest: from Monday 08:00 in Brussels, each subscribed network gets, per live
campaign, the confirmed signatures it brought in the week just ended and in all; once a week,
however often beat runs the task."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from campaigns.alerts import digest, emails
from campaigns.alerts.models import Alert, Topic
from campaigns.campaign.models import Campaign, CampaignStatus
from campaigns.extensions import db
from campaigns.petitions.models import Petition, Signature, SignatureStatus
from tests.alerts.conftest import network
from tests.support import text_part

# Monday 9 March 2026, 08:30 in Brussels (07:30 UTC): the digest of week 10 (2 to 8 March).
MONDAY_MORNING = datetime(2026, 3, 9, 7, 30, tzinfo=UTC)
SLUG = "naloxone-in-every-pocket"


def sign(email: str, network_slug: str | None, confirmed_at: datetime, status=None) -> None:
    petition = db.session.scalar(select(Petition).join(Campaign).where(Campaign.slug == SLUG))
    db.session.add(
        Signature(
            petition_id=petition.id,
            status=status or SignatureStatus.CONFIRMED,
            email=email,
            country="FR",
            locale="fr",
            source_network_id=network(network_slug).id if network_slug else None,
            confirmed_at=confirmed_at,
        )
    )


def test_the_week_is_due_from_monday_eight_in_brussels():
    assert digest.week_just_ended(datetime(2026, 3, 9, 6, 59, tzinfo=UTC)) is None  # 07:59
    week = digest.week_just_ended(datetime(2026, 3, 9, 7, 0, tzinfo=UTC))  # 08:00
    assert (week.label, week.occasion) == ("2026-W10", "week:2026-W10")
    assert week.start == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # Monday 2 March, 00:00
    assert week.end == datetime(2026, 3, 8, 23, 0, tzinfo=UTC)
    later = digest.week_just_ended(datetime(2026, 3, 13, 12, 0, tzinfo=UTC))  # Friday
    assert later.label == "2026-W10"
    # Across the change to summer time (29 March): the week is still Monday to Monday.
    summer = digest.week_just_ended(datetime(2026, 3, 30, 12, 0, tzinfo=UTC))
    assert (summer.start, summer.end) == (
        datetime(2026, 3, 22, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
    )


def test_each_subscribed_network_gets_its_counts_once_a_week(app, subscribed, mailbox):
    subscribed(Topic.WEEKLY_DIGEST)
    in_week = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    before = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)
    after = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)  # Monday 07:00 in Brussels: next week's
    sign("a@example.org", "asud", in_week)
    sign("b@example.org", "asud", in_week)
    sign("c@example.org", "asud", before)
    sign("d@example.org", "asud", after)
    sign("e@example.org", "jes", before)
    sign("f@example.org", None, in_week)
    sign("g@example.org", "asud", in_week, status=SignatureStatus.PENDING)
    db.session.commit()

    made = digest.send_weekly_digests(MONDAY_MORNING)
    assert len(made) == 2
    alerts = {a.network.slug: a for a in db.session.scalars(select(Alert))}
    assert sorted(alerts) == ["asud", "jes"]
    asud = alerts["asud"].payload
    assert asud["occasion"] == "week:2026-W10"
    assert asud["week"] == {"label": "2026-W10", "from": "2026-03-02", "to": "2026-03-08"}
    live = db.session.scalar(
        select(func.count()).select_from(Campaign).where(Campaign.status == CampaignStatus.LIVE)
    )
    assert len(asud["campaigns"]) == live
    naloxone = next(c for c in asud["campaigns"] if c["slug"] == SLUG)
    assert (naloxone["signatures_last_week"], naloxone["signatures_total"]) == (2, 3)
    assert naloxone["url"].endswith(f"/fr/c/{SLUG}?source=asud")
    assert asud["totals"] == {"signatures_last_week": 2, "signatures_total": 3}
    assert alerts["jes"].payload["totals"] == {"signatures_last_week": 0, "signatures_total": 1}
    assert "a@example.org" not in str(asud)

    # Beat runs it again, that day and the next: nothing more.
    assert digest.send_weekly_digests(MONDAY_MORNING) == []
    assert digest.send_weekly_digests(datetime(2026, 3, 10, 9, 0, tzinfo=UTC)) == []
    assert digest.send_weekly_digests(datetime(2026, 3, 9, 6, 0, tzinfo=UTC)) == []

    emails.send_pending()
    [french] = mailbox.to("alice@asud.example.org")
    assert "2026-W10" in french["Subject"]
    text = text_part(french)
    assert f"/fr/c/{SLUG}?source=asud" in text

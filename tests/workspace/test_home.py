"""The staff home shows what needs attention, each part to those whose role covers it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from campaigns.campaign.models import Campaign, CampaignStatus, CampaignTranslation
from campaigns.extensions import db
from campaigns.mailings import lifecycle
from campaigns.mailings.models import Delivery, DeliveryStatus, Mailing, MailingStatus
from campaigns.networks.models import Network
from campaigns.petitions.models import Petition
from campaigns.petitions.tallies.models import HourlyConfirmations
from tests.mailings.conftest import add_supporter, make_mailing
from tests.support import commit_change, run_outbox

NALOXONE = "naloxone-in-every-pocket"


def section(html: str, heading: str) -> str:
    """The text of the home page's section under `heading` ("" when there is none)."""
    match = re.search(rf"<h2[^>]*>{re.escape(heading)}</h2>(.*?)</section>", html, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))) if match else ""


def named_mailing(name: str) -> Mailing:
    mailing = make_mailing()
    mailing.name = name
    db.session.commit()
    return mailing


def test_live_campaigns_with_todays_count_mailings_failures_and_translations(
    app, demo, make_staff, staff_login
):
    for address in ("a@example.org", "b@example.org"):
        add_supporter(NALOXONE, address)
    add_supporter(NALOXONE, "pending@example.org", confirmed=False)
    run_outbox(app)  # the workers count the confirmations, per hour too

    scheduled = named_mailing("January news")
    commit_change(lifecycle.schedule, scheduled, None)
    sent = named_mailing("December news")
    sent.status = MailingStatus.SENT
    for status in (DeliveryStatus.SENT, DeliveryStatus.BOUNCED, DeliveryStatus.FAILED):
        db.session.add(
            Delivery(mailing=sent, email=f"{status}@example.org", locale="en", status=status)
        )
    draft = Campaign(
        slug="harm-reduction-at-work", default_locale="en", status=CampaignStatus.DRAFT
    )
    draft.translations.append(
        CampaignTranslation(
            locale="en",
            status="ready",
            title="Harm reduction at work",
            summary="s",
            body_markdown="b",
        )
    )
    draft.translations.append(
        CampaignTranslation(
            locale="fr",
            status="draft",
            title="Réduction des risques",
            summary="s",
            body_markdown="b",
        )
    )
    db.session.add_all([draft, Petition(campaign=draft, goal=1000)])
    db.session.commit()

    # Five confirmations in the hour before midnight in the campaigner's zone: not today's.
    campaigner = make_staff("campaigner")
    campaigner.timezone = "Pacific/Auckland"
    midnight = datetime.now(ZoneInfo("Pacific/Auckland")).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    naloxone = db.session.scalar(select(Petition).join(Campaign).where(Campaign.slug == NALOXONE))
    db.session.add(
        HourlyConfirmations(
            petition_id=naloxone.id,
            hour=(midnight - timedelta(hours=1)).astimezone(UTC),
            confirmed=5,
        )
    )
    db.session.commit()

    html = staff_login(campaigner).get("/staff/").get_data(as_text=True)

    live = section(html, "Live campaigns")
    assert re.search(r"Naloxone in every pocket 2 2 ", live)  # today, in all; pending not counted
    assert "Harm reduction at work" not in live
    mailings = section(html, "Mailings on their way")
    assert "January news Scheduled for" in mailings
    assert "December news" not in mailings
    assert "December news : 2 messages could not be delivered" in section(
        html, "Deliveries that failed"
    )
    translations = section(html, "Translations not ready")
    assert "Harm reduction at work Draft : French (Draft), German (Missing)" in translations
    assert "Nothing needs your attention" not in html


def test_a_coordinator_sees_what_their_network_brought_and_nothing_of_mailings_or_texts(
    demo, make_staff, staff_login
):
    asud = db.session.scalar(select(Network).where(Network.slug == "asud"))
    other = db.session.scalar(select(Network).where(Network.slug != "asud"))
    add_supporter(NALOXONE, "brought@example.org", network=asud)
    add_supporter(NALOXONE, "elsewhere@example.org", network=other)
    add_supporter(NALOXONE, "direct@example.org")
    add_supporter(NALOXONE, "unconfirmed@example.org", network=asud, confirmed=False)
    named_mailing("January news")

    html = (
        staff_login(make_staff("coordinator", network=asud)).get("/staff/").get_data(as_text=True)
    )
    live = section(html, "Live campaigns")
    assert re.search(r"Naloxone in every pocket 1 1 ", live)  # only what their network brought
    assert "Signatures your network brought" in live
    assert "Mailings on their way" not in html
    assert "Translations not ready" not in html


def test_with_nothing_going_on_the_home_says_so(app_ctx, make_staff, staff_login):
    html = staff_login(make_staff("admin")).get("/staff/").get_data(as_text=True)
    assert "Nothing needs your attention right now" in html
    assert "Staff accounts" in html  # the way to every section stays

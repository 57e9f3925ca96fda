"""A mailing in a real browser: a campaigner composes it, previews it, schedules it a minute ahead
and watches the progress bar reach 100 % while a real worker sends it into the SMTP sink. axe-core
checks the compose and progress pages."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import STAFF_PASSWORD
from tests.mailings.conftest import add_supporter
from tests.support import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

READERS = ["ana@example.org", "bo@example.org", "chloe@example.org"]


def mailing_status() -> str:
    from sqlalchemy import select

    from campaigns.extensions import db
    from campaigns.mailings.models import Mailing

    db.session.rollback()
    return str(db.session.scalar(select(Mailing.status)))


def scheduled_for() -> datetime:
    from sqlalchemy import select

    from campaigns.extensions import db
    from campaigns.mailings.models import Mailing

    db.session.rollback()
    return db.session.scalar(select(Mailing.scheduled_at))


def time_passes_until_it_is_due() -> None:
    """The minute comes (rather than waiting for it): the mailing's time is now."""
    from sqlalchemy import update

    from campaigns.core.db import utcnow
    from campaigns.extensions import db
    from campaigns.mailings.models import Mailing

    db.session.execute(update(Mailing).values(scheduled_at=utcnow()))
    db.session.commit()


def test_compose_preview_schedule_and_watch_a_mailing_go_out(
    app, page, live_server, demo, make_staff, mailbox, start_worker, axe
):
    from workers.mailings import tick

    for address, locale in zip(READERS, ("en", "fr", "en"), strict=True):
        add_supporter(
            "naloxone-in-every-pocket", address, name=address.split("@")[0].title(), locale=locale
        )
    campaigner = make_staff("campaigner", name="Cam Paigner")
    # One message every two seconds: the sending lasts long enough to be watched.
    worker = start_worker(PUBLIC_BASE_URL=live_server.url, MAILING_RATE_PER_SECOND="0.5")

    page.goto("/staff/login")
    page.get_by_label("Email address").fill(campaigner.email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("link", name="Mailings").first.click()
    page.get_by_role("link", name="New mailing").click()
    page.get_by_label("Name (for staff only)").fill("Naloxone update")
    english = page.locator("fieldset[lang=en]")
    english.get_by_label("Subject").fill("{{ first_name | Friend }}, naloxone news")
    english.get_by_label("Text (Markdown)").fill(
        "Hello {{ first_name | friend }},\n\n**Thank you** for signing."
    )
    french = page.locator("fieldset[lang=fr]")
    french.get_by_label("Subject").fill("{{ first_name | Ami·e }}, des nouvelles")
    french.get_by_label("Text (Markdown)").fill(
        "Bonjour {{ first_name | ami·e }},\n\n**Merci** d'avoir signé."
    )
    # The audience: ticking narrows it and the count follows; the long list of countries has
    # a filter box.
    count = page.locator("#recipient-count")
    assert count.inner_text() == "3 people would receive it now."
    page.get_by_label("Find in the list").fill("portu")
    countries = page.locator("fieldset.checklist", has_text="Countries")
    assert countries.get_by_label("Germany").is_hidden()
    countries.get_by_label("Portugal").check()
    page.get_by_text("0 people would receive it now.").wait_for()
    axe.check(page, "compose page")
    countries.get_by_label("Portugal").uncheck()
    page.get_by_text("3 people would receive it now.").wait_for()
    page.get_by_role("button", name="Save").click()
    page.get_by_role("heading", level=1, name="Naloxone update").wait_for()
    assert page.locator("dd strong").first.inner_text() == "3"  # the recipients, before sending

    page.get_by_role("link", name="Preview").nth(1).click()  # French (versions are listed en, fr)
    page.locator(".mail-preview").get_by_text("Bonjour Cam,").wait_for()
    page.go_back()

    # A minute ahead, in the campaigner's time zone.
    zone = ZoneInfo(campaigner.timezone)
    send_at = (datetime.now(zone) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    page.get_by_label(re.compile("Send at")).fill(send_at.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule the mailing").click()
    page.get_by_text(re.compile(r"This sends \d+ emails? on ")).wait_for()  # it asks first
    page.get_by_role("button", name="Yes, schedule it").click()
    page.locator(".badge", has_text="scheduled").wait_for()

    # Stored for that minute, in UTC; beat leaves it alone until then.
    assert scheduled_for() == send_at
    with app.app_context():
        tick()
    assert mailing_status() == "scheduled"

    # Its time comes; beat starts it. From then on the page follows by itself: one reload to see
    # it sending, then no more (the page polls, and reloads itself when the state changes).
    time_passes_until_it_is_due()
    with app.app_context():
        tick()
    assert mailing_status() == "sending"
    page.reload()
    page.locator(".badge", has_text="sending").wait_for()
    page.wait_for_function(
        "() => document.getElementById('progress-bar').value > 0", timeout=30_000
    )
    page.locator(".badge", has_text="sent").wait_for(timeout=30_000)
    assert page.locator("#progress-bar").get_attribute("value") == "100"
    axe.check(page, "progress page")

    wait_until(worker.is_idle)  # nothing more is on its way
    assert sorted(str(m["To"]) for m in mailbox.messages) == READERS
    subjects = {str(m["To"]): str(m["Subject"]) for m in mailbox.messages}
    assert subjects["bo@example.org"] == "Bo, des nouvelles"
    assert subjects["ana@example.org"] == "Ana, naloxone news"
    axe.assert_clean()

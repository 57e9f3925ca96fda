"""A network's shared supporters are people, one per email address, in the list and in the CSV
alike (as the API's people are): a supporter who consented on two campaigns is one row that names
both, with their first consent and their latest confirmation, never two rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from campaigns.audit.models import AuditEntry
from campaigns.campaign.models import Campaign
from campaigns.exports.shared import count_people, count_shared, csv_chunks
from campaigns.extensions import db
from campaigns.petitions.consent import NetworkConsent, network_text_id
from campaigns.petitions.models import ConsentRecord, Signature, SignatureStatus
from tests.exports.test_shared_supporters import download, rows_of

NALOXONE = "Naloxone in every pocket"
HANDCUFFS = "Health, not handcuffs: rebalance the new EU Drugs Strategy"


def at(day: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, 10, minute, tzinfo=UTC)


@pytest.fixture
def consented(networks):
    """consented(email, slug, network, day, name=..., locale=...): a confirmed signature on the
    petition of campaign `slug`, with its network's consent given on `day` and confirmed five
    minutes later."""

    def give(email, slug, network, day, name="Nina Twice", locale="en", country="FR"):
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
        signature = Signature(
            petition_id=campaign.petition.id,
            status=SignatureStatus.CONFIRMED,
            email=email,
            name=name,
            country=country,
            locale=locale,
            created_at=at(day),
            confirmed_at=at(day, 5),
        )
        db.session.add(signature)
        db.session.flush()
        text_id = network_text_id(NetworkConsent(network.id, network.name, True), locale)
        db.session.add(
            ConsentRecord(
                signature_id=signature.id,
                consent_text_id=text_id,
                granted=True,
                recorded_at=at(day),
                confirmed_at=at(day, 5),
                network_id=network.id,
            )
        )
        db.session.commit()
        return signature

    return give


def test_a_supporter_who_consented_on_two_campaigns_is_one_row_naming_both(
    networks, consented, make_staff, staff_login
):
    a = networks["asud"]
    consented("nina@example.org", "naloxone-in-every-pocket", a, day=2, name="Nina Old")
    consented("otto@example.org", "health-not-handcuffs", a, day=4, name="Otto Once")
    consented("nina@example.org", "health-not-handcuffs", a, day=9, name="Nina Twice", locale="fr")
    assert (count_shared(a.id), count_people(a.id)) == (3, 2)
    browser = staff_login(make_staff("coordinator", network=a))

    html = browser.get(f"/staff/networks/{a.id}/supporters").get_data(as_text=True)
    assert "1–2 of 2 supporters." in html
    assert html.count("nina@example.org") == 1
    assert "Nina Twice" in html  # as written the latest time
    assert "Nina Old" not in html
    nina_row = html.split("nina@example.org", 1)[1].split("</tr>", 1)[0]
    assert f"{NALOXONE}<br>{HANDCUFFS}" in nina_row  # in the order they consented
    # The latest consents first: Nina's second came after Otto's.
    assert html.index("nina@example.org") < html.index("otto@example.org")

    rows = rows_of(download(browser, a))
    assert rows[0][3:6] == [
        "Campaigns",
        "First consent given at (UTC)",
        "Latest consent confirmed at (UTC)",
    ]
    assert rows[1:] == [
        [
            "Nina Twice",
            "nina@example.org",
            "FR",
            f"{NALOXONE}; {HANDCUFFS}",
            "2026-03-02 10:00:00",
            "2026-03-09 10:05:00",
            "fr",  # the language they read the box in last
            "en v1; fr v1",  # each wording they saw
        ],
        [
            "Otto Once",
            "otto@example.org",
            "FR",
            HANDCUFFS,
            "2026-03-04 10:00:00",
            "2026-03-04 10:05:00",
            "en",
            "en v1",
        ],
    ]

    # The audit log counts what was seen: people, not consents.
    details = [
        entry.detail
        for entry in db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.like("shared_supporters.%"))
            .order_by(AuditEntry.id)
        )
    ]
    assert details[0] == {"network_id": a.id, "page": 1, "rows": 2}
    assert details[-1] == {"network_id": a.id, "rows": 2}


def test_only_the_consents_that_stand_make_up_the_row(networks, consented, make_staff, staff_login):
    a, b = networks["asud"], networks["jes"]
    first = consented("nina@example.org", "naloxone-in-every-pocket", a, day=2)
    consented("nina@example.org", "health-not-handcuffs", a, day=9)
    consented("nina@example.org", "test-dont-guess", b, day=12)  # another network's
    browser = staff_login(make_staff("coordinator", network=a))
    assert rows_of(download(browser, a))[1][3:6] == [
        f"{NALOXONE}; {HANDCUFFS}",
        "2026-03-02 10:00:00",
        "2026-03-09 10:05:00",
    ]

    # The first one withdrawn: the row shows the other campaign only, and its dates.
    db.session.execute(
        update(ConsentRecord)
        .where(ConsentRecord.signature_id == first.id)
        .values(withdrawn_at=at(20))
    )
    db.session.commit()
    assert rows_of(download(browser, a))[1:][0][3:6] == [
        HANDCUFFS,
        "2026-03-09 10:00:00",
        "2026-03-09 10:05:00",
    ]
    html = browser.get(f"/staff/networks/{a.id}/supporters").get_data(as_text=True)
    assert NALOXONE not in html.split("<tbody>", 1)[1]


def test_the_stream_keeps_one_row_per_address_across_its_batches(app_ctx, networks, consented):
    a = networks["asud"]
    emails = [f"person{n}@example.org" for n in range(5)]
    for day, email in enumerate(emails, start=1):
        consented(email, "naloxone-in-every-pocket", a, day=day)
        consented(email, "health-not-handcuffs", a, day=day + 10)
    with app_ctx.test_request_context():
        chunks = list(csv_chunks(a.id, "en", batch_size=2))
    # The header, then batches of two people (the last one short: the stream stops there).
    assert len(chunks) == 4
    body = "".join(chunks)
    for email in emails:
        assert body.count(email) == 1
    assert body.count(f"{NALOXONE}; {HANDCUFFS}") == 5


def test_people_are_paged_by_person(networks, consented, make_staff, staff_login, monkeypatch):
    from campaigns.exports import shared_views

    monkeypatch.setattr(shared_views, "PER_PAGE", 2)
    a = networks["asud"]
    # Names with a space: no random token on the page (CSRF, nonce) can contain one.
    names = ["Person Zero", "Person One", "Person Two"]
    for n, name in enumerate(names):
        consented(f"p{n}@example.org", "naloxone-in-every-pocket", a, day=n + 1, name=name)
        consented(f"p{n}@example.org", "health-not-handcuffs", a, day=n + 10, name=name)
    browser = staff_login(make_staff("coordinator", network=a))
    first = browser.get(f"/staff/networks/{a.id}/supporters").get_data(as_text=True)
    assert "1–2 of 3 supporters." in first
    assert [name in first for name in names] == [False, True, True]
    last = browser.get(f"/staff/networks/{a.id}/supporters?page=2").get_data(as_text=True)
    assert "3–3 of 3 supporters." in last
    assert [name in last for name in names] == [True, False, False]

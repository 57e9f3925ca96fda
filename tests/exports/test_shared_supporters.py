"""A member network's shared supporters, route by route: its coordinators see (and download)
exactly the supporters who gave THAT network the "may contact me" consent, confirmed and not
withdrawn, and never anyone else; admins see any network's; nobody else sees any.

Two networks' data side by side: ASUD (network A) and JES (network B). Around the one supporter
A may see are all those it must not: B's, one A brought without consenting, one who refused,
one who withdrew, one not confirmed yet, one erased by "it wasn't me".
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from campaigns.audit.models import AuditEntry
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions.consent import NetworkConsent, network_text_id
from campaigns.petitions.models import ConsentRecord, Signature, SignatureStatus
from tests.conftest import STAFF_PASSWORD
from tests.support import csrf_token

GIVEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CONFIRMED = datetime(2026, 3, 2, 10, 5, tzinfo=UTC)


@pytest.fixture
def login(app):
    """A signed-in browser on the app with the pages: login(user)."""

    def sign_in(user):
        browser = app.test_client()
        page = browser.get("/staff/login")
        response = browser.post(
            "/staff/login",
            data={
                "csrf_token": csrf_token(page.get_data(as_text=True)),
                "email": user.email,
                "password": STAFF_PASSWORD,
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        return browser

    return sign_in


@pytest.fixture
def consent(app_ctx):
    """consent(signature, network, granted=True, confirmed=True, withdrawn=False): the record
    of the box "<network> may contact me" as signing stores it."""

    def give(signature, network, granted=True, confirmed=True, withdrawn=False, locale="en"):
        text_id = network_text_id(NetworkConsent(network.id, network.name, granted), locale)
        record = ConsentRecord(
            signature_id=signature.id,
            consent_text_id=text_id,
            granted=granted,
            recorded_at=GIVEN,
            confirmed_at=CONFIRMED if confirmed else None,
            network_id=network.id,
            withdrawn_at=CONFIRMED if withdrawn else None,
        )
        db.session.add(record)
        db.session.commit()
        return record

    return give


@pytest.fixture
def two_networks(networks, add_signature, consent):
    """Who gave what to which network. Returns (network A, network B)."""
    a, b = networks["asud"], networks["jes"]
    consent(add_signature(name="Alice Asud", country="FR", network=a), a)
    consent(add_signature(name="Bruno Jes", country="DE", network=b), b)
    # Brought by A, said nothing to A: counts only.
    add_signature(name="Carla Counted", country="FR", network=a)
    consent(add_signature(name="Dora Declined", country="FR", network=a), a, granted=False)
    consent(add_signature(name="Emil Withdrew", country="FR"), a, withdrawn=True)
    pending = add_signature(name="Fritz Pending", country="FR", status=SignatureStatus.PENDING)
    consent(pending, a, confirmed=False)
    erased = add_signature(name="Gina Erased", country="FR", network=a)
    consent(erased, a)
    # "It wasn't me" after confirming: the signature is erased, its consent record stays.
    db.session.execute(
        update(Signature)
        .where(Signature.id == erased.id)
        .values(status=SignatureStatus.REJECTED, email=None, name=None)
    )
    db.session.commit()
    return a, b


NOT_FOR_A = ("Bruno Jes", "Carla Counted", "Dora Declined", "Emil Withdrew", "Fritz Pending")


def page_of(browser, network) -> tuple[int, str]:
    response = browser.get(f"/staff/networks/{network.id}/supporters")
    return response.status_code, response.get_data(as_text=True)


def download(browser, network):
    page = browser.get(f"/staff/networks/{network.id}/supporters")
    token = csrf_token(page.get_data(as_text=True)) if page.status_code == 200 else None
    if token is None:  # a 403 page has no form: take a token from a page every account sees
        token = csrf_token(browser.get("/staff/account").get_data(as_text=True))
    return browser.post(
        f"/staff/networks/{network.id}/supporters/export", data={"csrf_token": token}
    )


def rows_of(response) -> list[list[str]]:
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_a_coordinator_sees_only_who_consented_to_their_own_network(
    two_networks, make_staff, login
):
    a, b = two_networks
    browser = login(make_staff("coordinator", network=a))

    status, html = page_of(browser, a)
    assert status == 200
    assert "Alice Asud" in html
    assert "1–1 of 1 supporters." in html
    for name in (*NOT_FOR_A, "Gina Erased"):
        assert name not in html
    # The page says what the consent was, and what a withdrawal does.
    assert "ASUD – Auto-Support des Usagers de Drogues, a member network of the European" in html
    assert "disappears from this list and from the next download at once" in html

    # Network B's list, by page or by download: refused, whatever the URL says.
    status, html = page_of(browser, b)
    assert status == 403
    assert "Bruno Jes" not in html
    assert download(browser, b).status_code == 403


def test_the_download_holds_the_same_supporters_and_nothing_else(two_networks, make_staff, login):
    a, b = two_networks
    browser = login(make_staff("coordinator", network=a))

    response = download(browser, a)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "asud-supporters-" in response.headers["Content-Disposition"]
    alice = db.session.scalar(select(Signature).where(Signature.name == "Alice Asud"))
    assert rows_of(response) == [
        [
            "Name",
            "Email address",
            "Country (code)",
            "Campaigns",
            "First consent given at (UTC)",
            "Latest consent confirmed at (UTC)",
            "Language (code)",
            "Consent wording (version)",
        ],
        [
            "Alice Asud",
            alice.email,
            "FR",
            "Naloxone in every pocket",
            "2026-03-02 10:00:00",
            "2026-03-02 10:05:00",
            "en",
            "en v1",
        ],
    ]

    jes = login(make_staff("coordinator", network=b))
    assert [row[0] for row in rows_of(download(jes, b))[1:]] == ["Bruno Jes"]


def test_viewing_and_downloading_are_in_the_audit_log(two_networks, make_staff, login):
    a, _b = two_networks
    coordinator = make_staff("coordinator", network=a)
    browser = login(coordinator)
    page_of(browser, a)
    download(browser, a)

    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action.like("shared_supporters.%"))
        .order_by(AuditEntry.id)
    ).all()
    # The download's own page load is a view too.
    assert [e.action for e in entries] == [
        "shared_supporters.viewed",
        "shared_supporters.viewed",
        "shared_supporters.exported",
    ]
    assert all(e.actor_id == coordinator.id for e in entries)
    assert all((e.target_type, e.target_id) == ("networks", a.id) for e in entries)
    assert entries[0].detail == {"network_id": a.id, "page": 1, "rows": 1}
    assert entries[-1].detail == {"network_id": a.id, "rows": 1}


def test_a_withdrawal_disappears_at_once(two_networks, make_staff, login):
    a, _b = two_networks
    browser = login(make_staff("coordinator", network=a))
    assert "Alice Asud" in page_of(browser, a)[1]

    db.session.execute(
        update(ConsentRecord)
        .where(ConsentRecord.network_id == a.id, ConsentRecord.granted.is_(True))
        .values(withdrawn_at=datetime.now(UTC))
    )
    db.session.commit()

    status, html = page_of(browser, a)
    assert status == 200
    assert "Alice Asud" not in html
    assert "Nobody has given this consent yet" in html
    assert rows_of(download(browser, a))[1:] == []


def test_admins_see_any_network_and_an_unknown_one_is_a_404(two_networks, make_staff, login):
    a, b = two_networks
    browser = login(make_staff("admin"))
    assert "Alice Asud" in page_of(browser, a)[1]
    status, html = page_of(browser, b)
    assert status == 200
    assert "Bruno Jes" in html
    assert "Alice Asud" not in html
    assert browser.get("/staff/networks/99999/supporters").status_code == 404
    assert browser.get(f"/staff/networks/{2**63}/supporters").status_code == 404


@pytest.mark.parametrize("role", ["campaigner", "coordinator"])
def test_who_may_not_look_gets_a_403_on_every_route(two_networks, make_staff, login, role):
    """Campaigners hold no VIEW_SHARED_SUPPORTERS: this is a network's list, not the platform's.
    A coordinator without a network has none to see (never "all networks" by accident)."""
    a, b = two_networks
    if role == "coordinator":
        user = make_staff(role, network=a)
        user.network_id = None  # the account service refuses this; the check must not rely on it
        db.session.commit()
    else:
        user = make_staff(role)
    browser = login(user)
    for network in (a, b):
        status, html = page_of(browser, network)
        assert status == 403
        assert "You do not have access to this page" in html
        assert download(browser, network).status_code == 403
    assert browser.get("/staff/networks/99999/supporters").status_code == 403


def test_a_coordinator_of_a_deactivated_network_sees_nothing(two_networks, make_staff, login):
    a, _b = two_networks
    browser = login(make_staff("coordinator", network=a))
    # An UPDATE: `a` may be detached by the requests' teardown (same app context).
    db.session.execute(update(Network).where(Network.id == a.id).values(is_active=False))
    db.session.commit()
    assert page_of(browser, a)[0] == 403
    assert download(browser, a).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(two_networks, app):
    a, _b = two_networks
    browser = app.test_client()
    response = browser.get(f"/staff/networks/{a.id}/supporters")
    assert response.status_code == 302
    assert response.location.startswith("/staff/login")


def test_cells_a_spreadsheet_would_run_are_neutralised(
    networks, add_signature, consent, make_staff, login
):
    a = networks["asud"]
    consent(add_signature(name='=HYPERLINK("http://evil.example","click")', country="FR"), a)
    browser = login(make_staff("coordinator", network=a))
    assert rows_of(download(browser, a))[1][0] == '\'=HYPERLINK("http://evil.example","click")'


def test_the_list_comes_in_pages(networks, add_signature, consent, make_staff, login, monkeypatch):
    from campaigns.exports import shared_views

    monkeypatch.setattr(shared_views, "PER_PAGE", 2)
    a = networks["asud"]
    for n in range(5):
        consent(add_signature(name=f"Supporter {n}", country="FR"), a)
    browser = login(make_staff("coordinator", network=a))

    first = browser.get(f"/staff/networks/{a.id}/supporters").get_data(as_text=True)
    assert "1–2 of 5 supporters." in first
    assert "Supporter 4" in first  # the latest first
    assert "Supporter 3" in first
    assert "Supporter 2" not in first
    last = browser.get(f"/staff/networks/{a.id}/supporters?page=3").get_data(as_text=True)
    assert "5–5 of 5 supporters." in last
    assert "Supporter 0" in last
    # Out of range or not a number: the nearest page, never an error.
    assert "5–5 of 5" in browser.get(f"/staff/networks/{a.id}/supporters?page=99").get_data(
        as_text=True
    )
    assert "1–2 of 5" in browser.get(f"/staff/networks/{a.id}/supporters?page=x").get_data(
        as_text=True
    )
    # The download is always the whole list.
    assert len(rows_of(download(browser, a))) == 6

"""The campaign dashboard: figures from aggregates, charts with their tables, network scope."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select, text

from campaigns.core.db import commit_unit_of_work
from campaigns.core.events import Event
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions import services as petitions
from campaigns.petitions import signing
from campaigns.petitions.models import Petition, Signature
from campaigns.petitions.tallies import handlers, hourly
from campaigns.petitions.tallies import services as tallies
from campaigns.petitions.tallies.models import HourlyConfirmations
from tests.support import run_outbox, scripts_in, wait_until

_emails = iter(range(1_000_000))


def naloxone() -> Petition:
    return db.session.scalar(select(Petition).order_by(Petition.id))


def network(slug: str) -> Network:
    return db.session.scalar(select(Network).where(Network.slug == slug))


def signed(petition: Petition, country: str = "DE", via: Network | None = None) -> Signature:
    n = next(_emails)
    _outcome, signature_id = signing.sign(
        petition.campaign.slug,
        signing.SignatureInput(
            name=f"Signer {n}",
            email=f"signer{n}@example.org",
            country=country,
            comment="",
            show_name=False,
            newsletter=False,
            locale="en",
            source=via.slug if via else "",
        ),
    )
    commit_unit_of_work()  # as the view does
    return db.session.get(Signature, signature_id)


def confirmed(petition: Petition, country: str = "DE", via: Network | None = None) -> Signature:
    signature = signed(petition, country, via)
    petitions.confirm(signature)
    return signature


def hourly_rows(petition: Petition) -> dict[datetime, int]:
    db.session.expire_all()
    rows = db.session.execute(
        select(HourlyConfirmations.hour, HourlyConfirmations.confirmed).where(
            HourlyConfirmations.petition_id == petition.id
        )
    )
    return dict(rows.all())


def dashboard_html(client, petition: Petition) -> str:
    response = client.get(f"/staff/campaigns/{petition.campaign_id}/dashboard")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def table(html: str, table_id: str) -> dict[str, str]:
    """The rows of one of the page's tables as {first cell: second cell}."""
    match = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert match, f"no table {table_id}"
    rows = re.findall(
        r"<tr[^>]*>\s*<th scope=\"row\">(.*?)</th>\s*<td[^>]*>(.*?)</td>", match[0], re.S
    )
    return {re.sub(r"\s+", " ", k).strip(): v.strip() for k, v in rows}


def svg(html: str, chart_id: str) -> str:
    match = re.search(rf'<svg[^>]*id="{chart_id}".*?</svg>', html, re.S)
    assert match, f"no chart {chart_id}"
    return match[0]


# -- hourly series -------------------------------------------------------------------------------


def test_a_confirmation_counts_once_in_its_hour_even_if_the_handler_runs_twice(app, demo, mailbox):
    petition = naloxone()
    signature = confirmed(petition)
    db.session.commit()
    event = db.session.scalar(select(Event).where(Event.type == "signature.confirmed"))

    handlers.count_signature(event)
    handlers.count_signature(event)  # e.g. the relay published it again before it was marked
    db.session.commit()
    run_outbox(app)  # and the worker's own run finds it processed

    assert hourly_rows(petition) == {hourly.floor_hour(signature.confirmed_at): 1}


def test_two_workers_running_the_same_event_at_once_count_it_once(app, demo, mailbox):
    """Both workers load the event while it is unprocessed. The first runs the handler and keeps
    its transaction open until the second's handler is waiting for it (on PostgreSQL the server
    says so; SQLite has writers take turns, so there it is enough that the second one's
    statement is under way); then the first commits, and the second."""
    import threading

    petition = naloxone()
    signature = confirmed(petition)
    db.session.commit()
    event_id = db.session.scalar(select(Event.id).where(Event.type == "signature.confirmed"))
    both_loaded = threading.Barrier(2)
    first_counted = threading.Event()
    second_writing = threading.Event()
    second_done = threading.Event()

    def first(event: Event) -> None:
        handlers.count_signature(event)
        first_counted.set()
        wait_until(
            lambda: second_done.is_set() or (second_writing.is_set() and waiting_for_a_lock()),
            timeout=30,
            interval=0.01,
        )

    def second(event: Event) -> None:
        assert first_counted.wait(timeout=30)
        connection = db.session.connection()
        sa_event.listen(connection, "before_cursor_execute", note_a_write)
        try:
            handlers.count_signature(event)
        finally:
            sa_event.remove(connection, "before_cursor_execute", note_a_write)

    def note_a_write(_conn, _cursor, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT")):
            second_writing.set()  # on its way to the database

    def worker(run, done: threading.Event | None = None) -> None:
        # As dispatch() does: load the unprocessed event, run the handler, then commit.
        with app.app_context():
            try:
                event = db.session.get(Event, event_id)
                both_loaded.wait(timeout=30)
                run(event)
                db.session.commit()
            finally:
                db.session.remove()
                if done is not None:
                    done.set()

    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(worker, first), pool.submit(worker, second, second_done)]
    for run in runs:
        run.result()  # a worker that failed raises here
    assert hourly_rows(petition) == {hourly.floor_hour(signature.confirmed_at): 1}


def waiting_for_a_lock() -> bool:
    """Whether a statement of this test's database waits for another transaction's lock (on
    PostgreSQL; on SQLite, where a writer waits inside the driver, always True)."""
    with db.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            return True
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar()
        )


def test_withdrawn_after_confirming_drops_out(app, demo, mailbox):
    petition = naloxone()
    recent = confirmed(petition)
    old = confirmed(petition, "FR")
    # `old` was confirmed hours ago (its handler never ran): its hour belongs to the reconciler.
    three_hours_ago = hourly.floor_hour(datetime.now(UTC)) - timedelta(hours=3)
    db.session.execute(
        Signature.__table__.update()
        .where(Signature.id == old.id)
        .values(confirmed_at=three_hours_ago + timedelta(minutes=5))
    )
    db.session.commit()
    run_outbox(app)
    tallies.reconcile_all()
    assert hourly_rows(petition) == {
        three_hours_ago: 1,
        hourly.floor_hour(recent.confirmed_at): 1,
    }

    db.session.refresh(old)
    db.session.refresh(recent)
    assert petitions.reject(old)
    assert petitions.reject(recent)
    db.session.commit()
    run_outbox(app)  # the recent hour: the handler takes it off at once
    assert hourly_rows(petition) == {three_hours_ago: 1, hourly.floor_hour(recent.confirmed_at): 0}
    tallies.reconcile_all()  # the older hour: the reconciler rebuilds it from the signatures
    assert hourly_rows(petition) == {hourly.floor_hour(recent.confirmed_at): 0}


def test_the_reconciler_leaves_recent_hours_to_the_handlers(app, demo, mailbox):
    petition = naloxone()
    signature = confirmed(petition)
    db.session.commit()
    hour = hourly.floor_hour(signature.confirmed_at)
    tallies.reconcile_all()  # the handler has not run yet
    assert hourly_rows(petition) == {}
    run_outbox(app)
    tallies.reconcile_all()
    assert hourly_rows(petition) == {hour: 1}
    # Once the hour is well past, the reconciler owns it, and finds the same figure.
    later = hour + timedelta(hours=2)
    hourly.rebuild_hourly(petition.id, before=later)
    db.session.commit()
    assert hourly_rows(petition) == {hour: 1}


def test_a_handler_too_late_for_its_hour_leaves_the_signature_to_the_reconciler(app, demo):
    petition = naloxone()
    signature = confirmed(petition)
    db.session.commit()
    hour = hourly.floor_hour(signature.confirmed_at)
    assert not hourly.count_hourly(signature, +1, now=hour + timedelta(hours=1, minutes=11))
    assert hourly.count_hourly(signature, +1, now=hour + timedelta(hours=1, minutes=9))


# -- the page ------------------------------------------------------------------------------------


def test_a_confirmed_signature_shows_everywhere_and_pending_ones_apart(
    app, demo, mailbox, client, make_staff, staff_login
):
    petition = naloxone()
    confirmed(petition, "PT", via=network("caso"))
    signed(petition, "PT", via=network("caso"))  # pending
    signed(petition, "DE")  # pending
    db.session.commit()
    run_outbox(app)
    staff_login(make_staff("campaigner"))
    html = dashboard_html(client, petition)

    figures = dict(re.findall(r"<dt>([^<]+)</dt><dd>(.*?)</dd>", html, re.S))
    assert figures == {
        "Confirmed": "1",
        "Pending": "2",
        "Email confirmation": "33.3%",
        "Page views": "0",
    }
    hourly = table(html, "table-hourly")
    assert len(hourly) == 48
    assert next(iter(hourly.values())) == "1"  # the current hour, first in the table
    assert sum(int(v) for v in hourly.values()) == 1
    assert sum(int(v) for v in table(html, "table-daily").values()) == 1
    assert table(html, "table-countries")["Portugal"] == "1"
    assert table(html, "table-countries")["Germany"] == "0"
    assert table(html, "table-networks") == {
        "CASO – Consumidores Associados Sobrevivem Organizados": "1"
    }
    # On the map: Portugal's tile has the figure and is coloured, Germany's is empty.
    tiles = svg(html, "chart-map")
    portugal = re.search(r"<title>Portugal: 1</title><rect[^>]*>", tiles)[0]
    germany = re.search(r"<title>Germany: 0</title><rect[^>]*>", tiles)[0]
    assert 'fill="#f6f3f8"' in germany
    assert "stroke-dasharray" in germany
    assert 'fill="#f6f3f8"' not in portugal
    assert "stroke-dasharray" not in portugal
    assert ">PT</text>" in tiles


def test_the_page_has_no_inline_script_or_style_and_named_charts(
    app, demo, mailbox, client, make_staff, staff_login
):
    petition = naloxone()
    petition.eci_progress = True
    confirmed(petition, "MT")
    db.session.commit()
    run_outbox(app)
    staff_login(make_staff("admin"))
    response = client.get(f"/staff/campaigns/{petition.campaign_id}/dashboard")
    html = response.get_data(as_text=True)

    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert scripts_in(html) == ["/static/forms.js"]  # our own file only, nothing inline
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)  # no event handler attributes
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    charts = re.findall(r"<svg[^>]*>", html)
    assert len(charts) == 5  # hourly, daily, map, ECI, networks
    for tag in charts:
        chart_id = re.search(r'id="([^"]+)"', tag)[1]
        assert 'role="img"' in tag
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in tag
        assert re.search(rf'<title id="{chart_id}-title">[^<]+</title>', html)
        assert re.search(rf'<desc id="{chart_id}-desc">[^<]+</desc>', html)
    assert 'href="/static/dashboard.css"' in html


def test_eci_section_only_when_enabled_with_the_thresholds(
    app, demo, mailbox, client, make_staff, staff_login
):
    petition = naloxone()
    for _ in range(3):
        confirmed(petition, "MT")
    confirmed(petition, "NO")
    db.session.commit()
    run_outbox(app)
    staff_login(make_staff("admin"))
    assert 'id="eci"' not in dashboard_html(client, petition)

    petition = naloxone()  # the request ended the session that loaded it
    petition.eci_progress = True
    db.session.commit()
    html = dashboard_html(client, petition)
    assert 'id="eci"' in html
    eci = re.search(r'<table[^>]*id="table-eci".*?</table>', html, re.S)[0]
    rows = {
        code: re.findall(r'<td class="num">(.*?)</td>', row)
        for code, row in re.findall(r'<tr data-country="(\w\w)">(.*?)</tr>', eci, re.S)
    }
    assert len(rows) == 27
    assert "NO" not in rows
    assert rows["MT"] == ["3", "4,320", "0.1%"]
    assert rows["DE"] == ["0", "69,120", "0%"]
    assert rows["FR"][1] == "58,320"
    assert "0 of 7" in html
    assert "1,000,000" in html


def test_eci_counts_a_country_at_its_minimum(app, demo):
    from campaigns.dashboard.services import eci_minimums, eci_progress

    minimums = eci_minimums()
    progress = eci_progress({"MT": minimums["MT"], "CY": minimums["CY"] - 1, "NO": 50_000})
    assert progress.countries_reached == 1
    assert progress.total == 2 * minimums["MT"] - 1  # Norway does not count
    assert (progress.countries_needed, progress.total_needed) == (7, 1_000_000)


def test_a_coordinator_sees_only_their_networks_numbers(
    app, demo, mailbox, client, make_staff, staff_login
):
    petition = naloxone()
    asud, jes = network("asud"), network("jes")
    confirmed(petition, "FR", via=asud)
    confirmed(petition, "BE", via=asud)
    signed(petition, "FR", via=asud)
    for _ in range(5):
        confirmed(petition, "DE", via=jes)
    signed(petition, "DE", via=jes)
    confirmed(petition, "IT")
    db.session.commit()
    run_outbox(app)

    staff_login(make_staff("coordinator", network=asud))
    html = dashboard_html(client, petition)
    assert jes.name not in html
    assert "JES" not in html
    figures = dict(re.findall(r"<dt>(Confirmed|Pending)</dt><dd>(.*?)</dd>", html, re.S))
    assert figures == {"Confirmed": "2", "Pending": "1"}
    assert table(html, "table-networks") == {asud.name: "2"}
    countries = table(html, "table-countries")
    assert (countries["France"], countries["Belgium"]) == ("1", "1")
    assert (countries["Germany"], countries["Italy"]) == ("0", "0")
    assert sum(int(v) for v in table(html, "table-hourly").values()) == 2
    assert sum(int(v) for v in table(html, "table-daily").values()) == 2
    assert "<title>Germany: 0</title>" in svg(html, "chart-map")


def test_a_coordinator_without_a_network_sees_nothing(app, demo, client, make_staff, staff_login):
    petition = naloxone()
    user = make_staff("coordinator", network=network("asud"))
    user.network_id = None  # e.g. its network was removed
    db.session.commit()
    staff_login(user)
    response = client.get(f"/staff/campaigns/{petition.campaign_id}/dashboard")
    assert response.status_code == 403


def test_signing_in_is_required_and_unknown_campaigns_are_404(
    app, demo, client, make_staff, staff_login
):
    petition = naloxone()
    response = client.get(f"/staff/campaigns/{petition.campaign_id}/dashboard")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]
    staff_login(make_staff("campaigner"))
    assert client.get("/staff/campaigns/999999/dashboard").status_code == 404


@pytest.mark.parametrize("lang", ["fr", "de"])
def test_the_page_renders_in_other_languages(app, demo, client, make_staff, staff_login, lang):
    petition = naloxone()
    staff_login(make_staff("admin"))
    client.get(f"/staff/language/{lang}")
    html = dashboard_html(client, petition)
    assert f'<html lang="{lang}">' in html


def test_page_views_are_counted_without_prefetches_and_give_a_conversion(
    app, demo, mailbox, client, make_staff, staff_login
):
    petition = naloxone()
    visitor = app.test_client()
    for _ in range(4):
        assert visitor.get("/en/c/naloxone-in-every-pocket").status_code == 200
    prefetched = visitor.get("/fr/c/naloxone-in-every-pocket", headers={"Sec-Purpose": "prefetch"})
    assert prefetched.status_code == 200
    confirmed(petition, "PT")
    db.session.commit()
    run_outbox(app)

    staff_login(make_staff("campaigner"))
    html = dashboard_html(client, petition)
    figures = dict(re.findall(r"<dt>([^<]+)</dt><dd>(.*?)</dd>", html, re.S))
    assert figures["Page views"] == "4"
    assert "25% of the views became a confirmed signature" in html

    # A coordinator's view has no page views: they are not counted per network.
    coordinator = staff_login(
        make_staff("coordinator", network=network("asud")), on=app.test_client()
    )
    assert "Page views" not in dashboard_html(coordinator, petition)

"""The public scorecard of a letter action: who was written to, how many letters each received and
how many are on their way, and how each answered; grouped by country and by political group. It
names policymakers, never a supporter, and costs the same few queries however many letters."""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from datetime import date, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from campaigns.campaign.models import Campaign, CampaignStatus
from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.lobbying import delivery
from campaigns.lobbying.models import (
    Letter,
    LetterDelivery,
    LetterDeliveryStatus,
    LetterStatus,
    Position,
    TargetResponse,
)
from campaigns.lobbying.services import confirm
from tests.lobbying.conftest import SLUG
from tests.lobbying.test_pacing import run_until_sent
from tests.support import csrf_token

SCORECARD = f"/en/write/{SLUG}/scorecard"
ON_THE_WAY = (
    LetterDeliveryStatus.SCHEDULED,
    LetterDeliveryStatus.SENDING,
    LetterDeliveryStatus.IN_DIGEST,
)


# --- Helpers (also used by test_report_pages.py) ---------------------------------------------------


def write_letters(action, targets, count: int, *, first: int = 0, confirmed: bool = True) -> None:
    """`count` letters to `targets` from distinct supporters, confirmed and scheduled as the worker
    does (or left waiting for their writer's confirmation)."""
    for n in range(first, first + count):
        letter = Letter(
            action_id=action.id,
            email=f"writer{n}@example.org",
            email_digest=f"writer-digest-{n}",
            name=f"Writer Number{n}",
            country="FR",
            locale="en",
            status=LetterStatus.PENDING,
            note=f"My own words {n}",
        )
        letter.deliveries = [LetterDelivery(target_id=t.id) for t in targets]
        db.session.add(letter)
        db.session.flush()
        if confirmed:
            confirm(letter)
            delivery.schedule_letter(letter.id)
    db.session.commit()


@contextmanager
def live_letters(app, action):
    """Both switches on: letters reach the targets themselves."""
    app.config["LOBBYING_DELIVERY"] = "live"
    action.live = True
    db.session.commit()
    try:
        yield
    finally:
        app.config["LOBBYING_DELIVERY"] = "test"
        action.live = False
        db.session.commit()


class _Table(HTMLParser):
    """The rows of one table of a page: (the row's attributes, with its tbody's as "tbody.*";
    the text of each cell)."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.section = table_id, False, {}
        self.rows: list[tuple[dict, list[str]]] = []
        self.row: tuple[dict, list[str]] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if tag == "table" and attrs.get("id") == self.table_id:
            self.inside = True
        elif not self.inside:
            return
        elif tag in ("tbody", "thead", "tfoot"):
            self.section = {f"{tag}.{k}": v for k, v in attrs.items()} | {"section": tag}
        elif tag == "tr":
            self.row = ({**self.section, **attrs}, [])
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row[1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None
        elif tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table_rows(html: str, table_id: str, section: str = "tbody") -> list[tuple[dict, list[str]]]:
    parser = _Table(table_id)
    parser.feed(html)
    assert parser.rows, f"no table #{table_id} on the page"
    return [row for row in parser.rows if row[0].get("section") == section]


def number(text: str) -> int:
    return int(text.replace(",", "").replace("\u202f", "").replace("\xa0", ""))


@contextmanager
def counted_queries():
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def scorecard_rows(html: str) -> dict[str, tuple[str, list[str]]]:
    """Target id -> (its country group, its cells) in the table by country."""
    return {
        attrs["data-target"]: (attrs["tbody.data-country"], cells)
        for attrs, cells in table_rows(html, "score-by-country")
        if "data-target" in attrs
    }


def figure(html: str, figure_id: str) -> int:
    start = html.index(f'id="{figure_id}">') + len(f'id="{figure_id}">')
    return number(html[start : html.index("<", start)])


def report_url(action, page: str = "") -> str:
    return f"/staff/campaigns/{action.campaign_id}/letter/report/{page}"


def today_in_brussels() -> date:
    return utcnow().astimezone(ZoneInfo("Europe/Brussels")).date()


def log_answer(client, action, target, position: str, day: date | None = None, **fields):
    page = client.get(report_url(action, "responses"))
    data = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "target": str(target.id) if target is not None else "",
        "responded_on": (day or today_in_brussels()).isoformat(),
        "position": position,
        "quote": "",
        "link": "",
        **fields,
    }
    return client.post(report_url(action, "responses"), data=data)


@pytest.fixture
def campaigner(make_staff, staff_login):
    user = make_staff("campaigner", name="Cam Paigner")
    staff_login(user)
    return user


# --- Tests ---------------------------------------------------------------------------------------


def test_the_numbers_on_the_scorecard_match_what_was_sent(
    app, client, action, directory, office_clock, mailbox
):
    marc, claire, euda = directory["marc"], directory["claire"], directory["euda"]
    write_letters(action, [marc, claire], 4)
    write_letters(action, [euda], 2, first=10)
    with live_letters(app, action):
        # Six minutes of ticks at 30 letters an hour: some letters went, the others wait.
        run_until_sent(office_clock, until=office_clock.now + timedelta(minutes=6))

    page = client.get(SCORECARD)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = scorecard_rows(html)
    received = Counter(rcpt for _sender, rcpts in mailbox.envelopes for rcpt in rcpts)
    waiting = Counter(
        db.session.scalars(
            select(LetterDelivery.target_id).where(LetterDelivery.status.in_(ON_THE_WAY))
        )
    )
    assert set(rows) == {str(marc.id), str(claire.id), str(euda.id)}
    for target in (marc, claire, euda):
        _country, cells = rows[str(target.id)]
        assert cells[0].startswith(target.name)
        assert number(cells[2]) == received[target.email]  # delivered: what the servers took
        assert number(cells[3]) == waiting[target.id]  # on their way
        assert cells[4] == "No answer yet"
    assert 0 < received[marc.email] < 4
    assert waiting[marc.id] > 0
    assert figure(html, "total-delivered") == len(mailbox.messages)
    assert figure(html, "total-targets") == 3
    assert figure(html, "total-answers") == 0
    assert f"and {sum(waiting.values())} more on their way" in html
    # Grouped by country, EU-wide first; the link back to the action.
    assert [rows[str(t.id)][0] for t in (euda, marc, claire)] == ["EU", "FR", "FR"]
    assert html.index(">EU-wide<") < html.index(">France<")
    assert f'href="/en/write/{SLUG}"' in html


def test_an_answer_logged_by_staff_appears_grouped_by_country_and_group(
    campaigner, client, action, directory
):
    claire, sophie, jonas, euda = (directory[k] for k in ("claire", "sophie", "jonas", "euda"))
    write_letters(action, [claire, sophie, jonas, euda], 2)  # scheduled: on their way
    action.campaign.created_at -= timedelta(days=7)
    db.session.commit()
    ids = {name: target.id for name, target in directory.items()}
    today = today_in_brussels()
    quote = "Harm reduction saves lives.\r\nI will vote for it."
    logged = log_answer(
        client, action, claire, "supports", quote=quote, link="https://example.eu/claire"
    )
    assert logged.status_code == 303
    yesterday = today - timedelta(days=1)
    assert log_answer(client, action, jonas, "opposes", day=yesterday).status_code == 303

    html = client.get(SCORECARD).get_data(as_text=True)
    rows = scorecard_rows(html)
    country, cells = rows[str(ids["claire"])]
    assert country == "FR"
    assert cells[1] == "Greens/EFA"
    assert cells[4] == "Supports"
    assert cells[5]
    assert cells[5] != "–"
    assert "Harm reduction saves lives." in cells[6]
    assert "Read the answer" in cells[6]
    assert 'href="https://example.eu/claire"' in html
    assert rows[str(ids["jonas"])][0] == "DE"
    assert rows[str(ids["jonas"])][1][4] == "Opposes"
    assert rows[str(ids["sophie"])][1][4] == "No answer yet"
    assert rows[str(ids["euda"])][0] == "EU"
    assert figure(html, "total-answers") == 2

    groups = {attrs["data-group"]: cells for attrs, cells in table_rows(html, "score-by-group")}
    # Group, written to, support, oppose, undecided, no answer.
    assert groups["Greens/EFA"] == ["Greens/EFA", "1", "1", "0", "0", "0"]
    assert groups["S&D"] == ["S&D", "2", "0", "1", "0", "1"]
    assert groups[""] == ["No political group", "1", "0", "0", "0", "1"]

    # Jonas changes his mind: the newer answer counts, in both views.
    assert log_answer(client, action, jonas, "undecided").status_code == 303
    html = client.get(SCORECARD).get_data(as_text=True)
    assert scorecard_rows(html)[str(ids["jonas"])][1][4] == "Undecided"
    groups = {attrs["data-group"]: cells for attrs, cells in table_rows(html, "score-by-group")}
    assert groups["S&D"] == ["S&D", "2", "0", "0", "1", "1"]
    assert db.session.scalar(select(db.func.count()).select_from(TargetResponse)) == 3


def test_no_supporter_is_named_on_the_scorecard(app, client, action, directory, office_clock):
    write_letters(action, [directory["marc"], directory["claire"]], 3)
    with live_letters(app, action):
        run_until_sent(office_clock, until=office_clock.now + timedelta(minutes=3))
    html = client.get(SCORECARD).get_data(as_text=True)
    assert "Marc LEROY" in html
    assert figure(html, "total-delivered") > 0
    for n in range(3):
        assert f"Number{n}" not in html
        assert f"writer{n}@" not in html
        assert f"My own words {n}" not in html
    assert "@" not in html  # nor any address, the policymakers' included


def test_a_policymaker_who_left_office_is_still_listed(
    app, client, action, directory, office_clock
):
    marc = directory["marc"]
    write_letters(action, [marc], 2)
    with live_letters(app, action):
        run_until_sent(office_clock, until=office_clock.now + timedelta(minutes=10))
    write_letters(action, [marc], 1, first=10)  # waits for its time
    marc.active = False
    marc.left_office_on = date(2026, 12, 9)
    db.session.commit()
    marc_id = marc.id
    html = client.get(SCORECARD).get_data(as_text=True)
    _country, cells = scorecard_rows(html)[str(marc_id)]
    # Listed, marked, with the letters he received; the one left is skipped, not on its way.
    assert "left office" in cells[0]
    assert cells[2] == "2"
    assert cells[3] == "0"


def test_letters_sent_in_test_mode_are_not_counted_as_delivered(
    client, action, directory, office_clock, mailbox
):
    marc = directory["marc"]
    write_letters(action, [marc], 3)
    run_until_sent(office_clock, until=office_clock.now + timedelta(minutes=3))
    assert mailbox.messages  # to the test inbox
    html = client.get(SCORECARD).get_data(as_text=True)
    assert "This action is being tested" in html
    assert figure(html, "total-delivered") == 0
    _country, cells = scorecard_rows(html)[str(marc.id)]
    assert cells[2] == "0"
    assert number(cells[3]) == 3 - len(mailbox.messages)


def test_the_scorecard_costs_the_same_few_queries_however_many_letters(
    client, action, directory, office_clock
):
    targets = [directory[k] for k in ("marc", "claire", "sophie", "euda")]
    write_letters(action, targets, 2)
    db.session.add(
        TargetResponse(
            action_id=action.id,
            target_id=directory["marc"].id,
            responded_on=date(2026, 12, 8),
            position=Position.SUPPORTS,
        )
    )
    db.session.commit()
    client.get(SCORECARD)  # each request below starts from an empty session, as in production
    with counted_queries() as few:
        assert client.get(SCORECARD).status_code == 200
    write_letters(action, [*targets, directory["jonas"]], 40, first=100)
    with counted_queries() as many:
        html = client.get(SCORECARD).get_data(as_text=True)
    assert "42" in html  # Marc's letters on their way
    assert len(many) == len(few) <= 6, many


def test_only_a_public_letter_action_has_a_scorecard(client, action, demo):
    campaign_id = action.campaign_id
    assert client.get(f"/en/write/{SLUG}-nope/scorecard").status_code == 404
    # A petition has none (the demo's are live petitions).
    assert client.get("/en/write/naloxone-in-every-pocket/scorecard").status_code == 404
    db.session.get(Campaign, campaign_id).status = CampaignStatus.DRAFT
    db.session.commit()
    assert client.get(SCORECARD).status_code == 404


def test_a_closed_action_keeps_its_scorecard_and_an_empty_one_says_so(client, action):
    action.campaign.status = CampaignStatus.CLOSED
    db.session.commit()
    html = client.get(SCORECARD).get_data(as_text=True)
    assert "No letter has reached a policymaker yet." in html
    assert figure(html, "total-delivered") == 0
    french = client.get(f"/fr/write/{SLUG}/scorecard")
    assert french.status_code == 200
    assert "Arrêtons la guerre" in french.get_data(as_text=True)

"""The staff pages of a letter action's delivery: its letters counted by policymaker and by
country, the policymakers whose address bounced, and the answers staff log (checked, audited,
never edited)."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from campaigns.audit.models import AuditEntry
from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.lobbying import delivery
from campaigns.lobbying.models import Position, TargetResponse
from campaigns.networks.models import Network
from tests.lobbying import test_scorecard
from tests.lobbying.conftest import OFFICE_MORNING, SLUG
from tests.lobbying.test_scorecard import (
    counted_queries,
    live_letters,
    log_answer,
    number,
    report_url,
    table_rows,
    today_in_brussels,
    write_letters,
)
from tests.support import csrf_token

campaigner = test_scorecard.campaigner  # a fixture: a campaigner, signed in

COLUMNS = [
    "awaiting",
    "scheduled",
    "deferred_pace",
    "deferred_office_hours",
    "sending",
    "digest",
    "sent",
    "bounced",
    "skipped",
    "failed",
]


def counts(cells: list[str]) -> dict[str, int]:
    return dict(zip(COLUMNS, (number(c) for c in cells[-len(COLUMNS) :]), strict=True))


# --- Statistics --------------------------------------------------------------------------------


def test_the_report_counts_each_policymakers_letters_by_what_became_of_them(
    campaigner, app, client, action, directory, office_clock, mailbox
):
    marc, claire, euda, sophie, jonas, paul = (
        directory[k] for k in ("marc", "claire", "euda", "sophie", "jonas", "paul")
    )
    euda.daily_digest = True
    db.session.commit()
    write_letters(action, [marc, claire, euda], 3)  # each: one at once, two held by the pace
    write_letters(action, [sophie], 1, first=10, confirmed=False)  # not confirmed yet
    mailbox.rcpt_replies = {claire.email: "550 5.1.1 No such user"}
    office_clock.now = OFFICE_MORNING + timedelta(minutes=1)
    with live_letters(app, action):
        delivery.tick()  # Marc's first letter reaches him; Claire's address bounces
    office_clock.now = OFFICE_MORNING + timedelta(minutes=5)
    delivery.tick()  # Marc's second, in test mode: to the test inbox
    office_clock.now = OFFICE_MORNING + timedelta(minutes=10)
    delivery.claim_due(office_clock.now, 10)  # Marc's third: a worker is sending it
    write_letters(action, [paul], 2, first=20)  # one at once, one held by the pace
    office_clock.now = datetime(2026, 12, 8, 18, 30, tzinfo=UTC)  # 19:30 in Brussels
    write_letters(action, [jonas], 1, first=30)  # his office has closed: tomorrow morning
    marc, claire, euda, sophie, jonas, paul = (
        t.id for t in (marc, claire, euda, sophie, jonas, paul)
    )

    html = client.get(report_url(action)).get_data(as_text=True)
    by_target = {
        attrs["data-target"]: counts(cells) for attrs, cells in table_rows(html, "counts-by-target")
    }
    zero = dict.fromkeys(COLUMNS, 0)
    assert by_target == {
        str(marc): zero | {"sent": 2, "sending": 1},
        str(claire): zero | {"bounced": 1, "skipped": 2},
        str(euda): zero | {"digest": 3},
        str(sophie): zero | {"awaiting": 1},
        str(paul): zero | {"scheduled": 1, "deferred_pace": 1},
        str(jonas): zero | {"deferred_office_hours": 1},
    }
    (total,) = table_rows(html, "counts-by-target", section="tfoot")
    assert counts(total[1]) == zero | {
        "awaiting": 1,
        "scheduled": 1,
        "deferred_pace": 1,
        "deferred_office_hours": 1,
        "sending": 1,
        "digest": 3,
        "sent": 2,
        "bounced": 1,
        "skipped": 2,
    }
    by_country = {
        attrs["data-country"]: (cells[0], counts(cells))
        for attrs, cells in table_rows(html, "counts-by-country")
    }
    assert by_country["EU"] == ("EU (EU-wide institutions and agencies)", zero | {"digest": 3})
    assert by_country["DE"] == ("Germany", zero | {"deferred_office_hours": 1})
    assert by_country["FR"][1] == zero | {
        "awaiting": 1,
        "scheduled": 1,
        "deferred_pace": 1,
        "sending": 1,
        "sent": 2,
        "bounced": 1,
        "skipped": 2,
    }
    # EU first, then by the country's name.
    assert list(by_country) == ["EU", "FR", "DE"]  # France before Germany, by name

    # Claire's address bounced: said first, with the reason, since when, and where to fix it.
    alert = html[html.index('class="bounce-alert"') : html.index("</section>")]
    assert "Claire DUPONT" in alert
    assert "No such user" in alert
    assert "since" in alert
    assert "skipped, not sent, until their address is fixed" in alert
    assert f'href="/staff/targets/{claire}"' in alert
    assert "Marc LEROY" not in alert
    # Test mode, said plainly; and the one letter that went to the test inbox.
    assert "Test mode: letters go to letters-test@campaigns.example.org" in html
    assert "1 of the letters sent went to the test inbox" in html
    # The public scorecard, linked; no supporter named.
    assert f'href="/en/write/{SLUG}/scorecard"' in html
    assert "writer" not in html
    assert "Writer" not in html


def test_the_report_costs_the_same_few_queries_however_many_letters(
    campaigner, client, action, directory, office_clock
):
    targets = [directory[k] for k in ("marc", "claire", "euda")]
    write_letters(action, targets, 2)
    client.get(report_url(action))  # each request below starts from an empty session
    with counted_queries() as few:
        assert client.get(report_url(action)).status_code == 200
    write_letters(action, [*targets, directory["jonas"]], 30, first=100)
    with counted_queries() as many:
        assert client.get(report_url(action)).status_code == 200
    assert len(many) == len(few), many


def test_no_test_mode_banner_when_letters_go_live(campaigner, app, client, action, directory):
    with live_letters(app, action):
        html = client.get(report_url(action)).get_data(as_text=True)
    assert "Test mode" not in html
    assert "No letter has been written in this action yet." in html


# --- Answers -----------------------------------------------------------------------------------


def test_staff_log_an_answer_and_it_is_audited(campaigner, client, action, directory):
    claire = directory["claire"]
    write_letters(action, [claire, directory["marc"]], 1)
    claire_id, campaigner_id, campaign_id = claire.id, campaigner.id, action.campaign_id
    page = client.get(report_url(action, "responses")).get_data(as_text=True)
    assert "Log an answer" in page
    rows = {attrs["data-target"]: cells for attrs, cells in table_rows(page, "latest-answers")}
    assert rows[str(claire_id)][3] == "No answer yet"

    quote = "We support harm reduction.\r\nIt works."
    answer = log_answer(
        client, action, claire, "supports", quote=quote, link="https://example.eu/a?b=1"
    )
    assert answer.status_code == 303
    response = db.session.scalar(select(TargetResponse))
    assert response.position == Position.SUPPORTS
    assert response.quote == "We support harm reduction.\nIt works."  # CR LF kept as a line break
    assert response.link == "https://example.eu/a?b=1"
    assert response.recorded_by_id == campaigner_id
    logged = select(AuditEntry).where(AuditEntry.action == "target.response_logged")
    entry = db.session.scalar(logged)
    assert entry.actor_id == campaigner_id
    assert entry.campaign_id == campaign_id
    assert (entry.target_type, entry.target_id) == ("targets", claire_id)
    assert entry.detail["position"] == "supports"

    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "The answer of Claire DUPONT is logged." in page
    rows = {attrs["data-target"]: cells for attrs, cells in table_rows(page, "latest-answers")}
    assert rows[str(claire_id)][3] == "Supports"
    assert "We support harm reduction." in rows[str(claire_id)][5]
    (logged,) = table_rows(page, "answers-logged")
    assert "Cam Paigner" in logged[1][0]
    assert logged[1][1] == "Claire DUPONT"


def test_a_newer_answer_counts_and_the_history_stays(campaigner, client, action, directory):
    jonas = directory["jonas"]
    write_letters(action, [jonas], 1)
    action.campaign.created_at -= timedelta(days=7)
    db.session.commit()
    jonas_id = jonas.id
    today = today_in_brussels()
    log_answer(client, action, jonas, "opposes", day=today - timedelta(days=2))
    log_answer(client, action, jonas, "supports", day=today)
    page = client.get(report_url(action, "responses")).get_data(as_text=True)
    rows = {attrs["data-target"]: cells for attrs, cells in table_rows(page, "latest-answers")}
    assert rows[str(jonas_id)][3] == "Supports"
    assert [cells[2] for _a, cells in table_rows(page, "answers-logged")] == ["Supports", "Opposes"]

    # An answer dated earlier than the latest is kept in the history, and said not to count.
    late = log_answer(client, action, jonas, "undecided", day=today - timedelta(days=1))
    page = client.get(late.headers["Location"]).get_data(as_text=True)
    assert "An answer of a later date was logged before" in page
    rows = {attrs["data-target"]: cells for attrs, cells in table_rows(page, "latest-answers")}
    assert rows[str(jonas_id)][3] == "Supports"
    assert len(table_rows(page, "answers-logged")) == 3
    # Nothing edits or deletes an answer.
    assert client.post(report_url(action, "responses/1")).status_code in (404, 405)


def _typed_kept(html: str, value: str) -> bool:
    return html_lib.escape(value, quote=True) in html or html_lib.escape(value, quote=False) in html


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"day": "tomorrow"}, "responded_on", "This date is in the future"),
        ({"day": "before"}, "responded_on", "before the campaign was created"),
        ({"responded_on": "31/12/2026"}, "responded_on", "Please enter a date as year-month-day"),
        ({"responded_on": ""}, "responded_on", "Please enter the date of the answer."),
        ({"link": "http://example.eu/answer"}, "link", "starts with https://"),
        ({"link": "https://"}, "link", "starts with https://"),
        ({"link": "https://example.eu/" + "a" * 300}, "link", "at most 300 characters"),
        ({"quote": "q" * 501}, "quote", "at most 500 characters"),
        ({"quote": "A bell\x07 rings"}, "quote", "invisible control characters"),
        ({"position": "maybe"}, "position", "Please choose their position."),
        ({"position": ""}, "position", "Please choose their position."),
        ({"target": ""}, "target", "Please choose the policymaker who answered."),
        ({"target": "99999"}, "target", "Please choose a policymaker from the list."),
    ],
)
def test_bad_input_is_refused_next_to_its_field_with_what_was_typed_kept(
    campaigner, client, action, directory, fields, field_id, message
):
    write_letters(action, [directory["marc"]], 1)
    action.campaign.created_at = utcnow() - timedelta(days=30)
    db.session.commit()
    marc = directory["marc"].id
    today = today_in_brussels()
    days = {"tomorrow": today + timedelta(days=1), "before": today - timedelta(days=32)}
    page = client.get(report_url(action, "responses")).get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "target": str(marc),
        "responded_on": today.isoformat(),
        "position": "undecided",
        "quote": "They said:\r\n“we will see” & <maybe>.",
        "link": "https://example.eu/ok?a=1&b=2",
    }
    data.update({k: v for k, v in fields.items() if k != "day"})
    if "day" in fields:
        data["responded_on"] = days[fields["day"]].isoformat()

    answer = client.post(report_url(action, "responses"), data=data)

    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "Please correct the following:" in html  # the summary, linking to the field
    assert f'href="#{field_id}"' in html
    assert f'id="{field_id}-error"' in html
    assert message in html
    for name in ("quote", "link", "responded_on"):
        if data[name]:
            assert _typed_kept(html, data[name].replace("\r\n", "\n")), name
    if data["position"] in ("supports", "opposes", "undecided", "no_reply"):
        assert re.search(rf'<input checked id="position-\d" [^>]*value="{data["position"]}"', html)
    if data["target"] == str(marc):
        assert f'selected value="{marc}"' in html or f'value="{marc}" selected' in html
    assert db.session.scalar(select(func.count()).select_from(TargetResponse)) == 0
    audited = select(func.count()).where(AuditEntry.action == "target.response_logged")
    assert db.session.scalar(audited) == 0


def test_a_quote_of_500_characters_with_line_breaks_is_fine_but_a_nul_is_refused(
    campaigner, client, action, directory
):
    marc = directory["marc"]
    write_letters(action, [marc], 1)
    quote = "a" * 250 + "\r\n" + "b" * 249  # 500 characters as the reader sees them
    assert log_answer(client, action, marc, "supports", quote=quote).status_code == 303
    assert len(db.session.scalar(select(TargetResponse.quote))) == 500
    # A NUL never reaches the form: the whole app refuses it (PostgreSQL could not store it).
    refused = log_answer(client, action, marc, "opposes", quote="nul\x00here")
    assert refused.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(TargetResponse)) == 1


def test_the_form_itself_refuses_a_nul(app, action, directory):
    from werkzeug.datastructures import MultiDict

    from campaigns.lobbying.report_forms import ResponseForm

    with app.test_request_context(method="POST"):
        form = ResponseForm(
            formdata=MultiDict({"quote": "nul\x00here", "position": "supports"}),
            meta={"csrf": False},
        )
        form.target.choices = [("", "–")]
        assert not form.validate()
        assert "invisible control characters" in str(form.quote.errors[0])


# --- Who may see what --------------------------------------------------------------------------


def test_coordinators_may_not_see_nor_log_answers(client, action, make_staff, staff_login):
    network = Network(slug="asud", name="ASUD", countries=["FR"])
    db.session.add(network)
    db.session.commit()
    staff_login(make_staff("coordinator", network=network))
    token = csrf_token(client.get("/staff/").get_data(as_text=True))
    assert client.get(report_url(action)).status_code == 403
    assert client.get(report_url(action, "responses")).status_code == 403
    refused = client.post(
        report_url(action, "responses"),
        data={"csrf_token": token, "target": "1", "position": "supports"},
    )
    assert refused.status_code == 403
    assert "You do not have access to this page" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(TargetResponse)) == 0


def test_anonymous_visitors_are_sent_to_sign_in(client, action):
    answer = client.get(report_url(action))
    assert answer.status_code == 302
    assert answer.location.startswith("/staff/login")


def test_a_petition_has_no_letter_report(campaigner, client, demo):
    from campaigns.campaign.models import Campaign

    petition = db.session.scalars(select(Campaign)).first()
    assert client.get(f"/staff/campaigns/{petition.id}/letter/report/").status_code == 404
    assert client.get(f"/staff/campaigns/{petition.id}/letter/report/responses").status_code == 404

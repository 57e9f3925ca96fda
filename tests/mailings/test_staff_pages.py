"""The staff pages of mailings: compose with checks, preview, test send, schedule, follow."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select

from campaigns.audit.models import AuditEntry
from campaigns.extensions import db
from campaigns.mailings import batches, lifecycle
from campaigns.mailings.models import Mailing, MailingStatus
from campaigns.networks.models import Network
from tests.mailings.conftest import make_mailing
from tests.support import commit_change, csrf_token, run_outbox, start_due_mailings, text_part

NALOXONE = "naloxone-in-every-pocket"


def compose(client, **fields):
    page = client.get("/staff/mailings/new")
    data = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "name": "December news",
        "default_locale": "en",
        "action_campaign_id": "",
        "subject_en": "News for {{ first_name | friend }}",
        "body_en": "Hello {{ first_name | friend }},\n\nThank you.",
    }
    data.update(fields)
    return client.post("/staff/mailings/new", data=data)


def test_a_campaigner_composes_and_sees_the_recipient_count(supporter, make_staff, staff_login):
    supporter(NALOXONE, "reader@example.org")
    supporter(NALOXONE, "silent@example.org", newsletter=False)
    client = staff_login(make_staff("campaigner"))

    response = compose(client, subject_fr="Nouvelles", body_fr="Bonjour")
    assert response.status_code == 302
    mailing = db.session.scalars(select(Mailing)).one()
    assert sorted(v.locale for v in mailing.versions) == ["en", "fr"]
    page = client.get(response.location).get_data(as_text=True)
    assert "Recipients now" in page
    assert "<strong>1</strong>" in page
    assert db.session.scalars(select(AuditEntry.action)).all().count("mailing.saved") == 1


def test_bad_compositions_are_refused_next_to_the_field_and_keep_the_text(
    make_staff, staff_login, demo
):
    client = staff_login(make_staff("campaigner"))

    unknown = compose(client, body_en="Dear {{ nickname }}, hello")
    assert unknown.status_code == 422
    html = unknown.get_data(as_text=True)
    assert "Unknown merge field {{ nickname }}." in html
    assert "Dear {{ nickname }}, hello" in html

    no_default = compose(client, subject_en="", body_en="", subject_de="Hallo", body_de="Text")
    assert no_default.status_code == 422
    assert "The default language needs its version" in no_default.get_data(as_text=True)

    half = compose(client, subject_fr="Sujet sans texte", body_fr="")
    assert half.status_code == 422
    assert "Write both a subject and a text" in half.get_data(as_text=True)

    header = compose(client, subject_en="Two\r\nlines")
    assert header.status_code == 422
    assert db.session.scalars(select(Mailing)).all() == []


def test_an_empty_save_reports_every_problem_at_once_and_saves_nothing(
    make_staff, staff_login, demo
):
    client = staff_login(make_staff("campaigner"))
    response = compose(client, name="", subject_en="", body_en="", subject_fr="Sujet")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    summary = page[
        page.index('class="error-summary"') : page.index("</div>", page.index("error-summary"))
    ]
    assert "Please give the mailing a name." in summary
    assert "The default language needs its version" in summary
    assert "Write both a subject and a text in this language" in summary
    assert 'value="Sujet"' in page  # what was typed stays
    assert db.session.scalars(select(Mailing)).all() == []


def recipients(client, query: str):
    response = client.get(f"/staff/mailings/recipients.json{query}")
    return response.status_code, response.get_json()


def test_the_recipient_count_follows_the_audience_as_it_is_chosen(
    supporter, make_staff, staff_login
):
    supporter(NALOXONE, "de@example.org", country="DE")
    supporter(NALOXONE, "pt@example.org", country="PT", locale="fr")
    supporter(NALOXONE, "quiet@example.org", country="PT", newsletter=False)
    client = staff_login(make_staff("campaigner"))

    assert recipients(client, "") == (200, {"count": 2, "text": "2 people would receive it now."})
    assert recipients(client, "?countries=PT")[1]["count"] == 1
    assert recipients(client, "?countries=PT&countries=DE&locales=fr")[1]["count"] == 1
    assert recipients(client, "?countries=AT")[1]["text"] == "0 people would receive it now."
    status, body = recipients(client, "?countries=XX")
    assert status == 400
    assert "countries" in body["errors"]
    # The same count on the page itself, before any script runs and after a failed save.
    page = compose(client, name="", countries="PT").get_data(as_text=True)
    assert "1 person would receive it now." in page


def test_odd_values_in_the_audience_or_campaign_are_refused_with_the_rest_still_counted(
    supporter, make_staff, staff_login
):
    supporter(NALOXONE, "pt@example.org", country="PT")
    supporter(NALOXONE, "de@example.org", country="DE")
    client = staff_login(make_staff("campaigner"))
    for odd in ("²", "9" * 30, "x"):
        response = compose(client, action_campaign_id=odd, countries=["PT", "XX"])
        assert response.status_code == 422, odd
        page = response.get_data(as_text=True)
        assert "1 person would receive it now." in page  # Portugal, the valid tick
        assert 'href="#countries-0"' in page  # the summary leads to the first box of the list
        assert 'aria-describedby="countries-error"' in page


def test_the_recipient_count_is_written_as_a_number_of_the_page_language(app):
    from campaigns.mailings.staff_views import recipients_text

    with app.test_request_context("/en/"):
        assert recipients_text(12345) == "12,345 people would receive it now."
        assert recipients_text(1) == "1 person would receive it now."


def test_the_recipient_count_is_for_staff_who_send_mailings(make_staff, staff_login, demo):
    asud = db.session.scalar(select(Network).where(Network.slug == "asud"))
    client = staff_login(make_staff("coordinator", network=asud))
    assert client.get("/staff/mailings/recipients.json").status_code == 403


def test_merge_fields_are_shown_as_what_they_produce(make_staff, staff_login, demo):
    client = staff_login(make_staff("campaigner"))
    page = client.get("/staff/mailings/new").get_data(as_text=True)
    assert "A supporter called Ada receives" in page
    assert "<td>friend</td>" in page  # {{ first_name | friend }} for someone without a name
    assert "stay empty until you choose a campaign" in page

    campaign_id = re.search(r'<option value="(\d+)">Naloxone in every pocket', page).group(1)
    chosen = compose(client, name="", action_campaign_id=campaign_id).get_data(as_text=True)
    assert "<td>Naloxone in every pocket" in chosen
    assert f"/en/c/{NALOXONE}</td>" in chosen
    assert "stay empty until you choose a campaign" not in chosen


def test_preview_fills_merge_fields_as_for_the_staff_member(make_staff, staff_login, demo):
    client = staff_login(make_staff("campaigner", name="Grace Hopper"))
    mailing = make_mailing()
    page = client.get(f"/staff/mailings/{mailing.id}/preview/fr").get_data(as_text=True)
    assert "Nouvelles pour Grace" in page
    assert "Bonjour Grace," in page
    assert client.get(f"/staff/mailings/{mailing.id}/preview/de").status_code == 404


def test_tests_go_to_staff_addresses_only(app, make_staff, staff_login, demo, mailbox):
    user = make_staff("campaigner")
    client = staff_login(user)
    mailing = make_mailing()
    page = client.get(f"/staff/mailings/{mailing.id}").get_data(as_text=True)
    refused = client.post(
        f"/staff/mailings/{mailing.id}/test",
        data={"csrf_token": csrf_token(page), "locale": "en", "addresses": "stranger@example.org"},
        follow_redirects=True,
    )
    assert "Not a staff address: stranger@example.org" in refused.get_data(as_text=True)

    batches.send_test(db.session.get(Mailing, mailing.id), "fr", [user.email])
    (message,) = mailbox.messages
    assert message["Subject"].startswith("[TEST] Nouvelles")
    assert message["List-Unsubscribe"]
    assert "Bonjour" in text_part(message)


def test_scheduling_in_the_staff_members_time_zone(supporter, make_staff, staff_login):
    supporter(NALOXONE, "reader@example.org")
    user = make_staff("campaigner")
    user.timezone = "Europe/Lisbon"
    db.session.commit()
    client = staff_login(user)
    mailing = make_mailing()
    page = client.get(f"/staff/mailings/{mailing.id}").get_data(as_text=True)
    token = csrf_token(page)

    past = client.post(
        f"/staff/mailings/{mailing.id}/schedule",
        data={"csrf_token": token, "send_at": "2020-01-01T10:00"},
        follow_redirects=True,
    )
    assert "This time has passed" in past.get_data(as_text=True)
    nonsense = client.post(
        f"/staff/mailings/{mailing.id}/schedule",
        data={"csrf_token": token, "send_at": "tomorrow"},
        follow_redirects=True,
    )
    assert "Use a date and time like" in nonsense.get_data(as_text=True)

    local = (datetime.now(ZoneInfo("Europe/Lisbon")) + timedelta(days=2)).replace(
        second=0, microsecond=0, tzinfo=None
    )
    client.post(
        f"/staff/mailings/{mailing.id}/schedule",
        data={
            "csrf_token": token,
            "send_at": local.strftime("%Y-%m-%dT%H:%M"),
            "confirmed": "yes",
        },
    )
    mailing = db.session.get(Mailing, mailing.id)
    assert mailing.status == MailingStatus.SCHEDULED
    expected = local.replace(tzinfo=ZoneInfo("Europe/Lisbon")).astimezone(UTC)
    assert mailing.scheduled_at == expected
    assert start_due_mailings() == []  # not yet due


def test_sending_now_starts_at_once_through_the_outbox(app, supporter, make_staff, staff_login):
    supporter(NALOXONE, "reader@example.org")
    client = staff_login(make_staff("campaigner"))
    mailing = make_mailing()
    token = csrf_token(client.get(f"/staff/mailings/{mailing.id}").get_data(as_text=True))
    client.post(
        f"/staff/mailings/{mailing.id}/schedule",
        data={"csrf_token": token, "send_at": "", "confirmed": "yes"},
    )
    assert db.session.get(Mailing, mailing.id).status == MailingStatus.SCHEDULED
    run_outbox(app)  # the event of the commit, without beat's tick
    db.session.expire_all()
    assert db.session.get(Mailing, mailing.id).status in (
        MailingStatus.SENDING,
        MailingStatus.SENT,
    )
    assert start_due_mailings() == []  # nothing left for the tick


def test_times_outside_the_calendar_are_field_errors(supporter, make_staff, staff_login):
    supporter(NALOXONE, "reader@example.org")
    user = make_staff("campaigner")
    user.timezone = "Europe/Athens"  # east of Greenwich: 0001-01-01 00:00 is before year 1 in UTC
    db.session.commit()
    client = staff_login(user)
    mailing = make_mailing()
    token = csrf_token(client.get(f"/staff/mailings/{mailing.id}").get_data(as_text=True))
    for send_at, message in (
        ("0001-01-01T00:00", "This time has passed"),
        ("9999-12-31T23:59", "Choose a time within the next year."),
    ):
        answer = client.post(
            f"/staff/mailings/{mailing.id}/schedule",
            data={"csrf_token": token, "send_at": send_at},
            follow_redirects=True,
        )
        assert answer.status_code == 200
        assert message in answer.get_data(as_text=True)
    assert db.session.get(Mailing, mailing.id).status == MailingStatus.DRAFT


def test_an_empty_audience_cannot_be_scheduled(make_staff, staff_login, demo):
    client = staff_login(make_staff("campaigner"))
    mailing = make_mailing()
    page = client.get(f"/staff/mailings/{mailing.id}").get_data(as_text=True)
    response = client.post(
        f"/staff/mailings/{mailing.id}/schedule",
        data={"csrf_token": csrf_token(page), "send_at": ""},
        follow_redirects=True,
    )
    assert "Nobody would receive this mailing" in response.get_data(as_text=True)
    mailing = db.session.get(Mailing, mailing.id)
    assert mailing.status == MailingStatus.DRAFT


def test_progress_is_reported_while_sending(
    app, supporter, make_staff, staff_login, mailbox, monkeypatch
):
    monkeypatch.setitem(app.config, "MAILING_BATCH_SIZE", 2)
    monkeypatch.setitem(app.config, "MAILING_RATE_PER_SECOND", 1000)
    for n in range(5):
        supporter(NALOXONE, f"p{n}@example.org")
    client = staff_login(make_staff("campaigner"))
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    start_due_mailings()
    batches.send_batch(mailing.id)
    data = client.get(f"/staff/mailings/{mailing.id}/progress.json").get_json()
    assert data["status"] == "sending"
    assert data["sent"] == 2
    assert data["remaining"] == 3
    assert data["percent"] == 40
    page = client.get(f"/staff/mailings/{mailing.id}").get_data(as_text=True)
    assert 'value="40"' in page


def test_scheduling_refuses_a_campaign_link_without_a_live_campaign(
    make_staff, staff_login, supporter
):
    supporter(NALOXONE, "reader@example.org")
    client = staff_login(make_staff("campaigner"))
    mailing = make_mailing()  # its text uses {{ campaign_title }} and {{ action_link }}
    mailing.action_campaign_id = None
    db.session.commit()
    page = client.get(f"/staff/mailings/{mailing.id}").get_data(as_text=True)
    response = client.post(
        f"/staff/mailings/{mailing.id}/schedule",
        data={"csrf_token": csrf_token(page), "send_at": ""},
        follow_redirects=True,
    )
    assert "choose the campaign first" in response.get_data(as_text=True)
    assert db.session.get(Mailing, mailing.id).status == MailingStatus.DRAFT


def test_failures_show_no_full_address(
    app, supporter, make_staff, staff_login, mailbox, monkeypatch
):
    monkeypatch.setitem(app.config, "MAILING_RATE_PER_SECOND", 1000)
    supporter(NALOXONE, "refused@example.org")
    mailing = make_mailing()
    mailbox.reply = "550 5.1.1 <refused@example.org>: no such user"
    commit_change(lifecycle.schedule, mailing)
    start_due_mailings()
    batches.send_batch(mailing.id)
    page = (
        staff_login(make_staff("campaigner"))
        .get(f"/staff/mailings/{mailing.id}")
        .get_data(as_text=True)
    )
    assert "r…@example.org" in page
    assert "refused@example.org" not in page  # neither in the table nor in the server's reply


def stats_of(html: str) -> dict[str, str]:
    table = html.split("<h2>Statistics</h2>")[1].split("</table>")[0]
    return dict(re.findall(r'<th scope="row">([^<]+)</th><td class="num">([^<]+)</td>', table))


def test_statistics_count_each_outcome_and_list_the_failures_with_their_reasons(
    app, supporter, make_staff, staff_login, mailbox, monkeypatch
):
    from campaigns.mailings import bounces
    from tests.mailings.test_bounces import postfix_hard_bounce, process_one

    monkeypatch.setitem(app.config, "MAILING_RATE_PER_SECOND", 1000)
    for name in ("kept", "refused", "bounces", "leaves"):
        supporter(NALOXONE, f"{name}@example.org")
    mailbox.rcpt_replies["refused@example.org"] = "550 5.1.1 No such user here"
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    start_due_mailings()
    while not batches.send_batch(mailing.id).finished:
        pass
    # Afterwards: one message bounces, one recipient unsubscribes with the one-click POST.
    verp = {recipients[0]: sender for sender, recipients in mailbox.envelopes}
    bounce = postfix_hard_bounce(verp["bounces@example.org"], "bounces@example.org")
    assert process_one(bounce, "mailbox") == bounces.Outcome.RECORDED
    (leaving,) = mailbox.to("leaves@example.org")
    url = re.search(r"<(https?://[^>]+)>", leaving["List-Unsubscribe"]).group(1)
    one_click = app.test_client().post(urlsplit(url).path, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200

    page = staff_login(make_staff("campaigner")).get(f"/staff/mailings/{mailing.id}")
    html = page.get_data(as_text=True)
    assert stats_of(html) == {
        "Recipients": "4",
        "Sent": "2",
        "Failed": "1",
        "Bounced": "1",
        "Unsubscribed from this mailing": "1",
    }
    failures = html.split("<h3>Failures</h3>")[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]*)</td></tr>", failures)
    by_address = {address: (status, reason) for address, status, reason in rows}
    assert by_address["r…@example.org"][0] == "failed"
    assert by_address["r…@example.org"][1].startswith("550 5.1.1")
    assert by_address["b…@example.org"][0] == "bounced"
    assert "5.1.1" in by_address["b…@example.org"][1]


def test_a_recipient_unsubscribes_and_subscribes_again_from_the_preferences_page(
    app, supporter, mailbox, monkeypatch
):
    from campaigns.mailings.models import SuppressionReason
    from campaigns.mailings.suppression import suppression_of

    monkeypatch.setitem(app.config, "MAILING_RATE_PER_SECOND", 1000)
    supporter(NALOXONE, "reader@example.org")
    mailing = make_mailing()
    commit_change(lifecycle.schedule, mailing)
    start_due_mailings()
    batches.send_batch(mailing.id)
    (message,) = mailbox.to("reader@example.org")
    link = re.search(r"https?://\S+/preferences/\S+", text_part(message)).group(0)
    browser = app.test_client()

    page = browser.get(urlsplit(link).path)
    assert page.status_code == 200
    assert "You receive campaign news" in page.get_data(as_text=True)
    token = csrf_token(page.get_data(as_text=True))
    off = browser.post(urlsplit(link).path, data={"csrf_token": token, "newsletter": "off"})
    assert off.status_code == 200
    assert "You are unsubscribed" in off.get_data(as_text=True)
    db.session.rollback()
    assert suppression_of("reader@example.org").reason == SuppressionReason.UNSUBSCRIBED

    token = csrf_token(off.get_data(as_text=True))
    on = browser.post(urlsplit(link).path, data={"csrf_token": token, "newsletter": "on"})
    assert "You receive campaign news" in on.get_data(as_text=True)
    db.session.rollback()
    assert suppression_of("reader@example.org") is None

    # Without its token the form is refused, and a made-up link shows a page, not an error.
    assert browser.post(urlsplit(link).path, data={"newsletter": "off"}).status_code == 400
    assert suppression_of("reader@example.org") is None
    assert browser.get("/en/preferences/not-a-token").status_code == 404

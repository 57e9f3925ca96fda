"""A policymaker's `modified_date` in the API and the filter on it: moved by what changes what
the API shows (the directory import, a staff edit, the in-office switch), never by staff's own
switches or by letters being sent to them (tested with the scorecard's figures)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.lobbying.models import Target
from tests.lobbying.test_directory_pages import add, target
from tests.lobbying.test_import_meps import ANNA, BRAM, CIARA, ROLES, run, write
from tests.support import csrf_token

A_MONTH_AGO = timedelta(days=30)


def backdate_everyone() -> None:
    for each in db.session.scalars(select(Target)):
        each.modified_at = utcnow() - A_MONTH_AGO
    db.session.commit()


def changed_since_yesterday(client, **query: str) -> list[str]:
    yesterday = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    answer = client.get(
        "/api/v1/targets",
        query_string={"filter": f"modified_date gt '{yesterday}Z'", "per_page": 100, **query},
    )
    assert answer.status_code == 200, answer.json
    return [t["name"] for t in answer.json["_embedded"]["osdi:targets"]]


@pytest.fixture
def campaigner(make_staff, staff_login):
    return staff_login(make_staff("campaigner"))


def test_the_directory_filters_by_date_modified(client, directory):
    backdate_everyone()
    marc = directory["marc"]
    marc.modified_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert changed_since_yesterday(client) == [marc.name]

    a_week_ago = (utcnow() - timedelta(days=7)).date().isoformat()
    older = client.get(f"/api/v1/targets?per_page=100&filter=modified_date lt '{a_week_ago}'")
    assert older.json["total_records"] == len(directory) - 1
    one = client.get(f"/api/v1/targets/{marc.id}").json
    assert datetime.fromisoformat(one["modified_date"]) == marc.modified_at
    # The next page keeps both the filter and the country.
    paged = client.get(
        f"/api/v1/targets?country=FR&per_page=1&filter=modified_date lt '{a_week_ago}'"
    )
    next_page = paged.json["_links"]["next"]["href"]
    assert "filter=modified_date" in next_page
    assert "country=FR" in next_page


def test_an_import_moves_only_the_targets_it_changes(app, app_ctx, client, tmp_path):
    assert run(app, write(tmp_path / "v1", [ANNA, BRAM, CIARA], ROLES)).exit_code == 0
    backdate_everyone()

    # Anna changes group, Bram stays as he was, Ciara leaves office.
    anna = ANNA.replace(",EPP,", ",Renew,")
    result = run(app, write(tmp_path / "v2", [anna, BRAM], ROLES))
    assert "0 added, 1 changed, 1 left office" in result.output
    assert changed_since_yesterday(client) == ["Anna MÜLLER", "Ciara O'NEILL"]
    assert changed_since_yesterday(client, in_office="false") == ["Ciara O'NEILL"]

    backdate_everyone()
    result = run(app, write(tmp_path / "v2", [anna, BRAM], ROLES))
    assert "0 added, 0 changed, 0 left office, 0 returned, 2 unchanged" in result.output
    assert changed_since_yesterday(client) == []


def test_a_staff_edit_and_the_office_switch_move_it_but_the_digest_switch_does_not(
    app_ctx, campaigner
):
    add(campaigner)
    olga = target("Olga HEALTH")
    backdate_everyone()
    url = f"/staff/targets/{olga.id}"
    token = csrf_token(campaigner.get(url).get_data(as_text=True))

    campaigner.post(f"{url}/digest/on", data={"csrf_token": token})
    assert target("Olga HEALTH").daily_digest is True
    assert changed_since_yesterday(campaigner) == []  # the API does not show the digest

    campaigner.post(f"{url}/deactivate", data={"csrf_token": token})
    assert changed_since_yesterday(campaigner, in_office="false") == ["Olga HEALTH"]

    backdate_everyone()
    edit_page = campaigner.get(f"{url}/edit").get_data(as_text=True)
    form = {
        "kind": "commissioner",
        "name": "Olga HEALTH",
        "role": "Commissioner for Health",
        "institution": "European Commission",
        "country": "",
        "languages": ["en"],
        "email": "cab-health@ec.europa.eu",
        "profile_url": "",
        "time_zone": "Europe/Brussels",
        "csrf_token": csrf_token(edit_page),
    }
    assert campaigner.post(f"{url}/edit", data=form).status_code == 302
    assert target("Olga HEALTH").role == "Commissioner for Health"
    assert changed_since_yesterday(campaigner) == ["Olga HEALTH"]

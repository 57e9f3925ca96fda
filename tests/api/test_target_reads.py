"""The directory of policymakers through the API, and a letter action's figures per target: the
same numbers as its public scorecard, and never an email address."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from campaigns.extensions import db
from campaigns.lobbying.models import LetterDelivery, Position, Target, TargetResponse
from tests.lobbying.conftest import SLUG
from tests.lobbying.test_pacing import run_until_sent
from tests.lobbying.test_scorecard import ON_THE_WAY, live_letters, write_letters


def test_the_directory_pages_and_filters(client, directory):
    everyone = client.get("/api/v1/targets?per_page=100")
    assert everyone.status_code == 200
    names = [t["name"] for t in everyone.json["_embedded"]["osdi:targets"]]
    assert sorted(names) == sorted(t.name for t in directory.values())
    assert "@" not in everyone.get_data(as_text=True)  # no address of anyone

    french = client.get("/api/v1/targets?country=FR&per_page=1")
    assert french.json["total_records"] == sum(t.country == "FR" for t in directory.values())
    assert "country=FR" in french.json["_links"]["next"]["href"]  # the filter follows the pages

    marc = directory["marc"]
    one = client.get(f"/api/v1/targets/{marc.id}").json
    assert (one["name"], one["country"], one["kind"]) == (marc.name, "FR", "mep")
    assert one["committees"] == [
        {"committee": seat.committee, "role": seat.role.value} for seat in marc.committees
    ]
    assert client.get("/api/v1/targets/999999").status_code == 404
    bad = client.get("/api/v1/targets?country=france")
    assert (bad.status_code, list(bad.json["errors"])) == (422, ["country"])


def test_a_letter_action_has_the_figures_of_its_scorecard(
    app,
    client,
    action,
    directory,
    office_clock,
    mailbox,
):
    marc, claire = directory["marc"], directory["claire"]
    modified = {t.id: t.modified_at for t in (marc, claire)}
    write_letters(action, [marc, claire], 4)
    with live_letters(app, action):
        run_until_sent(office_clock, until=office_clock.now + timedelta(minutes=6))
        db.session.add(
            TargetResponse(
                action_id=action.id,
                target_id=marc.id,
                position=Position.SUPPORTS,
                responded_on=office_clock.now.date(),
            )
        )
        db.session.commit()
        answer = client.get(f"/api/v1/letter_actions/{SLUG}/targets")
    assert answer.status_code == 200
    body = answer.json
    received = Counter(rcpt for _sender, rcpts in mailbox.envelopes for rcpt in rcpts)
    waiting = Counter(
        db.session.scalars(
            select(LetterDelivery.target_id).where(LetterDelivery.status.in_(ON_THE_WAY))
        )
    )
    rows = {row["target"]["name"]: row for row in body["targets"]}
    assert set(rows) == {marc.name, claire.name}
    for target in (marc, claire):
        assert rows[target.name]["delivered"] == received[target.email]
        assert rows[target.name]["on_the_way"] == waiting[target.id]
    assert rows[marc.name]["position"] == "supports"
    # Pacing writes the target's row for every letter: that is no change to the target.
    db.session.expire_all()
    assert {t: db.session.get(Target, t).modified_at for t in modified} == modified
    assert rows[claire.name]["position"] is None
    assert body["delivered"] == len(mailbox.messages)
    assert body["test_mode"] is False
    assert client.get("/api/v1/letter_actions/no-such-action/targets").status_code == 404

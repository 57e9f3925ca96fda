"""`flask targets import-meps`: the MEPs from the shipped files, matched by ep_id, all or nothing.

Run through the real command (Flask's CLI runner), on the shipped files and on small files
written for each test."""

from __future__ import annotations

import csv
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from campaigns.audit.models import AuditEntry
from campaigns.extensions import db
from campaigns.lobbying import directory
from campaigns.lobbying.cli import targets_cli
from campaigns.lobbying.models import CommitteeRole, Target, TargetCommittee, TargetKind

HEADER = ",".join(directory.MEPS_HEADER)
ROLES_HEADER = "ep_id,committee,role"
ANNA = "1001,Anna MÜLLER,AT,Austria,EPP,Österreichische Volkspartei,LIBE;ENVI,Anna.Muller@europarl.europa.eu"
BRAM = (
    "1002,Bram DE VRIES,NL,Netherlands,Greens/EFA,GroenLinks,LIBE,bram.devries@europarl.europa.eu"
)
CIARA = "1003,Ciara O'NEILL,IE,Ireland,Renew,Fianna Fáil,SANT,ciara.oneill@europarl.europa.eu"
ROLES = ["1001,LIBE,member", "1001,ENVI,substitute", "1002,LIBE,chair"]


def run(app, *args):
    return app.test_cli_runner().invoke(targets_cli, ["import-meps", *map(str, args)])


def write(folder, rows: list[str], roles: list[str] | None = None, name: str = "meps.csv"):
    """meps.csv (and, unless roles is None, meps_committee_roles.csv) in `folder`."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    if roles is not None:
        text = "\n".join([ROLES_HEADER, *roles]) + "\n"
        (folder / directory.ROLES_FILE_NAME).write_text(text, encoding="utf-8")
    return path


def mep(ep_id: int) -> Target:
    db.session.expire_all()
    return db.session.scalar(select(Target).where(Target.ep_id == ep_id))


def seats(ep_id: int) -> dict[str, str]:
    return {seat.committee: str(seat.role) for seat in mep(ep_id).committees}


def snapshot() -> list[tuple]:
    """Everything an import could change, to compare before and after a refused one."""
    db.session.expire_all()
    targets = db.session.execute(
        select(
            Target.ep_id,
            Target.name,
            Target.country,
            Target.political_group,
            Target.email,
            Target.active,
            Target.left_office_on,
        ).order_by(Target.ep_id)
    ).all()
    committees = db.session.execute(
        select(TargetCommittee.target_id, TargetCommittee.committee, TargetCommittee.role).order_by(
            TargetCommittee.target_id, TargetCommittee.committee
        )
    ).all()
    audits = db.session.scalar(select(func.count()).select_from(AuditEntry))
    return [*targets, *committees, audits]


def brussels_today():
    return datetime.now(ZoneInfo("Europe/Brussels")).date()


# --- The shipped files -------------------------------------------------------------------------


def test_the_shipped_files_import_quickly_and_a_second_run_changes_nothing(app, app_ctx):
    started = time.monotonic()
    first = run(app)
    elapsed = time.monotonic() - started

    assert first.exit_code == 0, first.output
    assert "718 MEPs in the file: 718 added, 0 changed, 0 left office" in first.output
    assert elapsed < 5, f"the import took {elapsed:.1f} s"
    assert db.session.scalar(select(func.count()).select_from(Target)) == 718

    # Every role row is a seat; an MEP without role rows sits on the committees of its column.
    with (directory.DATA_DIR / directory.ROLES_FILE_NAME).open(encoding="utf-8") as f:
        roles = list(csv.DictReader(f))
    with directory.MEPS_FILE.open(encoding="utf-8") as f:
        meps = list(csv.DictReader(f))
    with_roles = {row["ep_id"] for row in roles}
    from_column = sum(
        len([c for c in row["committees"].split(";") if c])
        for row in meps
        if row["ep_id"] not in with_roles
    )
    seat_count = db.session.scalar(select(func.count()).select_from(TargetCommittee))
    assert seat_count == len(roles) + from_column

    chair = next(row for row in roles if row["role"] == "chair")
    assert seats(int(chair["ep_id"]))[chair["committee"]] == "chair"

    luxembourg = db.session.scalars(select(Target).where(Target.country == "LU")).first()
    assert luxembourg.languages == "lb fr de"
    assert luxembourg.kind == TargetKind.MEP
    assert luxembourg.role == "Member of the European Parliament"
    assert luxembourg.institution == "European Parliament"
    assert luxembourg.time_zone == "Europe/Brussels"
    assert luxembourg.profile_url == f"https://www.europarl.europa.eu/meps/en/{luxembourg.ep_id}"
    assert luxembourg.active
    assert luxembourg.left_office_on is None
    by_country = dict(db.session.execute(select(Target.country, Target.languages).distinct()).all())
    assert by_country["BE"] == "nl fr de"
    assert by_country["IE"] == "en ga"
    assert by_country["MT"] == "mt en"
    assert by_country["GR"] == "el"

    again = run(app)
    assert again.exit_code == 0, again.output
    assert "0 added, 0 changed, 0 left office, 0 returned, 718 unchanged" in again.output
    assert "Changed:" not in again.output
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "targets.imported")
    ).all()
    assert [e.detail["added"] for e in entries] == [718, 0]


# --- Changes between imports -------------------------------------------------------------------


def test_a_change_a_departure_and_a_return_are_each_reported(app, app_ctx, tmp_path):
    path = write(tmp_path / "v1", [ANNA, BRAM, CIARA], ROLES)
    result = run(app, path)
    assert result.exit_code == 0, result.output
    assert "3 MEPs in the file: 3 added, 0 changed" in result.output
    assert mep(1001).email == "anna.muller@europarl.europa.eu"  # lowercased
    assert seats(1001) == {"LIBE": "member", "ENVI": "substitute"}
    # Ciara has no role rows: the committees column, as a member.
    assert seats(1003) == {"SANT": "member"}
    mep(1002).daily_digest = True  # staff's own switch, which no import touches
    db.session.commit()

    # Anna changes group and Bram becomes vice-chair; Ciara is gone.
    anna = ANNA.replace(",EPP,", ",Renew,")
    roles = ["1001,LIBE,member", "1001,ENVI,substitute", "1002,LIBE,vice-chair"]
    path = write(tmp_path / "v2", [anna, BRAM], roles)
    result = run(app, path)
    assert result.exit_code == 0, result.output
    assert "2 MEPs in the file: 0 added, 2 changed, 1 left office, 0 returned" in result.output
    assert "Changed: 1001 Anna MÜLLER" in result.output
    assert "political group: EPP -> Renew" in result.output
    assert "committee LIBE: chair -> vice-chair" in result.output
    assert "Left office (kept, inactive): 1003 Ciara O'NEILL" in result.output
    ciara = mep(1003)
    assert not ciara.active
    assert ciara.left_office_on == brussels_today()
    assert seats(1003) == {"SANT": "member"}  # kept as they were
    assert mep(1002).daily_digest is True
    assert seats(1002) == {"LIBE": "vice-chair"}

    # The same file again: nothing to do, Ciara stays gone (not "left office" twice).
    result = run(app, path)
    assert "0 added, 0 changed, 0 left office, 0 returned, 2 unchanged" in result.output

    # Ciara is back.
    path = write(tmp_path / "v3", [anna, BRAM, CIARA], roles)
    result = run(app, path)
    assert result.exit_code == 0, result.output
    assert "0 added, 0 changed, 0 left office, 1 returned, 2 unchanged" in result.output
    assert "Returned (active again): 1003 Ciara O'NEILL" in result.output
    ciara = mep(1003)
    assert ciara.active
    assert ciara.left_office_on is None
    assert db.session.scalar(select(func.count()).select_from(Target)) == 3


def test_a_dry_run_shows_the_diff_and_writes_nothing(app, app_ctx, tmp_path):
    run(app, write(tmp_path / "v1", [ANNA, BRAM], ROLES))
    before = snapshot()
    result = app.test_cli_runner().invoke(
        targets_cli, ["import-meps", str(write(tmp_path / "v2", [ANNA], ROLES[:2])), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "1 left office" in result.output
    assert "Dry run: nothing was written." in result.output
    assert snapshot() == before


def test_without_a_roles_file_the_committees_column_gives_the_seats(app, app_ctx, tmp_path):
    result = run(app, write(tmp_path, [ANNA, BRAM]))
    assert result.exit_code == 0, result.output
    assert "No roles file" in result.output
    assert seats(1001) == {"LIBE": "member", "ENVI": "member"}


# --- Refused files -----------------------------------------------------------------------------


def test_every_problem_is_reported_by_line_and_nothing_is_written(app, app_ctx, tmp_path):
    run(app, write(tmp_path / "good", [ANNA, BRAM, CIARA], ROLES))
    before = snapshot()
    rows = [
        ANNA.replace("Renew", "S&D"),  # line 2: fine, but must not be written
        "12x,Someone ELSE,FR,France,EPP,,LIBE,someone@europarl.europa.eu",  # 3
        BRAM,  # 4
        BRAM.replace("Bram DE VRIES", "Bram AGAIN"),  # 5: the same ep_id
        "1004,Dora MARTIN,XX,Nowhere,EPP,,,dora@europarl.europa.eu",  # 6
        "1005,,FR,France,EPP,,,nobody@europarl.europa.eu",  # 7
        "1006,Emil NOVAK,CZ,Czechia,EPP,,,not-an-address",  # 8
        '1007,"Fay\r\nFORD",FR,France,EPP,,,fay@europarl.europa.eu',  # 9 and 10
        "1008,Gil SANTOS,PT,Portugal,EPP,,,gil@europarl.europa.eu,extra",  # 11
        "1009,Hana NUL\x00L,SI,Slovenia,EPP,,,hana@europarl.europa.eu",  # 12
    ]
    roles = ["1001,LIBE,boss", "1002,LIBE,chair", "4242,SANT,member", "1002,LIBE,member"]
    result = run(app, write(tmp_path / "bad", rows, roles))

    assert result.exit_code != 0
    out = result.output
    assert "meps.csv line 3: ep_id “12x” is not a whole number" in out
    assert "meps.csv line 5: ep_id 1002 is also on line 4" in out
    assert "meps.csv line 6: unknown country code “XX” (not an EU member state)" in out
    assert "meps.csv line 7: the name is empty" in out
    assert "meps.csv line 8: “not-an-address” is not an email address" in out
    assert "meps.csv line 9: the field full_name contains a line break or NUL" in out
    assert "meps.csv line 11: expected 8 fields, found 9" in out
    assert "meps.csv line 12: the field full_name contains a line break or NUL" in out
    roles_file = directory.ROLES_FILE_NAME
    assert f"{roles_file} line 2: unknown role “boss”" in out
    assert f"{roles_file} line 4: ep_id 4242 is not in meps.csv" in out
    assert f"{roles_file} line 5: ep_id 1002 already has a seat on LIBE on line 3" in out
    assert "line 2:" not in out.replace(f"{roles_file} line 2:", "")  # Anna's row is fine
    assert "Nothing was imported" in out
    assert snapshot() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"id,name\n1,x\n",
            "meps.csv line 1: the header should be “ep_id,full_name,country_code,country,"
            "political_group,national_party,committees,email”, not “id,name”",
        ),
        (b"", "meps.csv line 1: the header should be"),
        (
            (HEADER + "\n" + ANNA + "\n").encode() + b"1002,Bram D\xe9 VRIES,NL,,,,,\n",
            "meps.csv line 3: the file is not UTF-8 text",
        ),
    ],
    ids=["wrong header", "empty file", "latin-1"],
)
def test_a_file_that_cannot_be_read_is_refused(app, app_ctx, tmp_path, content, message):
    run(app, write(tmp_path / "good", [ANNA], []))
    before = snapshot()
    (tmp_path / "meps.csv").write_bytes(content)
    result = run(
        app, tmp_path / "meps.csv", "--roles", tmp_path / "good" / directory.ROLES_FILE_NAME
    )
    assert result.exit_code != 0
    assert message in result.output
    # A meps.csv that cannot be read is one error, not one per role row.
    assert "is not in meps.csv" not in result.output
    assert snapshot() == before


def test_a_missing_roles_file_named_on_the_command_line_is_an_error(app, app_ctx, tmp_path):
    result = run(app, write(tmp_path, [ANNA]), "--roles", tmp_path / "nope.csv")
    assert result.exit_code != 0
    assert "cannot be read" in result.output
    assert db.session.scalar(select(func.count()).select_from(Target)) == 0


def test_at_most_fifty_problems_are_listed(app, app_ctx, tmp_path):
    rows = [f"{1000 + i},Name {i},ZZ,Nowhere,EPP,,,n{i}@europarl.europa.eu" for i in range(60)]
    result = run(app, write(tmp_path, rows, []))
    assert result.exit_code != 0
    listed = [line for line in result.output.splitlines() if " line " in line]
    assert len(listed) == 50
    assert listed[0].startswith("meps.csv line 2: unknown country code “ZZ”")
    assert "and 10 more" in result.output


def test_the_roles_are_checked_one_by_one(app, app_ctx, tmp_path):
    result = run(app, write(tmp_path, [ANNA], ["1001,libe,member", "1001,SANT,Vice-Chair"]))
    assert result.exit_code != 0
    assert "line 2: “libe” is not a committee code like LIBE" in result.output
    assert "line 3:" not in result.output  # Vice-Chair is vice-chair
    result = run(app, write(tmp_path, [ANNA], ["1001,SANT,Vice-Chair"]))
    assert result.exit_code == 0, result.output
    assert mep(1001).committees[0].role == CommitteeRole.VICE_CHAIR


# --- The list ---------------------------------------------------------------------------------


def test_the_list_command_filters_by_country_committee_and_status(app, app_ctx, tmp_path):
    run(app, write(tmp_path / "v1", [ANNA, BRAM, CIARA], ROLES))
    run(app, write(tmp_path / "v2", [ANNA, BRAM], ROLES))
    runner = app.test_cli_runner()

    everyone = runner.invoke(targets_cli, ["list"]).output
    assert "Anna MÜLLER" in everyone
    assert "Bram DE VRIES" in everyone
    assert "Ciara" not in everyone
    assert "2 targets." in everyone

    libe = runner.invoke(targets_cli, ["list", "--committee", "libe", "--country", "NL"]).output
    assert "Bram DE VRIES" in libe
    assert "LIBE(chair)" in libe
    assert "Anna" not in libe

    gone = runner.invoke(targets_cli, ["list", "--inactive"]).output
    assert "Ciara O'NEILL" in gone
    assert "1 targets." in gone

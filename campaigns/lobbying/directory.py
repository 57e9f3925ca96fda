"""The directory of targets: the languages each country reads, and the import of the Members of
the European Parliament from the shipped CSV files (campaigns/data/, see its SOURCES.md).

The import is all or nothing: every row of both files is checked before anything is written, and
one error leaves the directory as it was. MEPs are matched by the Parliament's own id (ep_id); one
missing from the file has left office and is kept, inactive, with the letters they received.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from campaigns.audit.services import record as audit
from campaigns.core.i18n import EU_MEMBER_STATES
from campaigns.extensions import db
from campaigns.lobbying.models import (
    COMMITTEE_ROLE_RANK,
    CommitteeRole,
    Target,
    TargetCommittee,
    TargetKind,
)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MEPS_FILE = DATA_DIR / "meps.csv"
ROLES_FILE_NAME = "meps_committee_roles.csv"
MEPS_HEADER = (
    *("ep_id", "full_name", "country_code", "country", "political_group"),
    *("national_party", "committees", "email"),
)
ROLES_HEADER = ("ep_id", "committee", "role")

MEP_ROLE = "Member of the European Parliament"
MEP_INSTITUTION = "European Parliament"
PROFILE_URL = "https://www.europarl.europa.eu/meps/en/{ep_id}"

# The 24 official languages of the EU (ISO 639-1).
EU_LANGUAGES = (
    *("bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr"),
    *("hu", "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv"),
)
# What staff may choose for a target: those, Luxembourgish (which MEPs of Luxembourg read) and
# Norwegian (Norway's ministries and its mission to the EU).
TARGET_LANGUAGES = (*EU_LANGUAGES, "lb", "no")
# The languages each member state's MEPs read, the most usual first.
# fmt: off
COUNTRY_LANGUAGES = {
    "AT": "de", "BE": "nl fr de", "BG": "bg", "HR": "hr", "CY": "el", "CZ": "cs", "DK": "da",
    "EE": "et", "FI": "fi sv", "FR": "fr", "DE": "de", "GR": "el", "HU": "hu", "IE": "en ga",
    "IT": "it", "LV": "lv", "LT": "lt", "LU": "lb fr de", "MT": "mt en", "NL": "nl", "PL": "pl",
    "PT": "pt", "RO": "ro", "SK": "sk", "SI": "sl", "ES": "es", "SE": "sv",
}
# fmt: on

# What an import sets on an MEP (and overwrites at the next one), with its name in the diff.
IMPORTED_FIELDS = {
    "kind": _l("kind"),
    "name": _l("name"),
    "role": _l("role"),
    "institution": _l("institution"),
    "country": _l("country"),
    "political_group": _l("political group"),
    "national_party": _l("national party"),
    "email": _l("email"),
    "profile_url": _l("profile link"),
    "languages": _l("languages"),
    "time_zone": _l("time zone"),
}
_ID = re.compile(r"[0-9]{1,9}")
_COMMITTEE = re.compile(r"[A-Z][A-Z0-9]{1,11}")
_LENGTHS = {"full_name": 200, "political_group": 40, "national_party": 200, "email": 254}


@dataclass
class MepRow:
    line: int
    ep_id: int
    fields: dict[str, object]
    committees: list[str]  # the informative column of meps.csv
    seats: dict[str, CommitteeRole] = field(default_factory=dict)  # from the roles file


@dataclass
class ImportResult:
    errors: list[str] = field(default_factory=list)
    rows: int = 0
    added: list[Target] = field(default_factory=list)
    # Each changed MEP with its changes: (what, old, new).
    changed: list[tuple[Target, list[tuple[str, str, str]]]] = field(default_factory=list)
    left: list[Target] = field(default_factory=list)
    returned: list[Target] = field(default_factory=list)
    unchanged: int = 0
    roles_file: str | None = None  # None: no roles file, the committees column was used


class _Problems(list):
    """What is wrong, as `<file> line <n>: <problem>`, in the file being read."""

    file = ""

    def add(self, line: int, problem: str, **values: object) -> None:
        problem = str(problem) % values if values else str(problem)
        self.append(
            _("%(file)s line %(line)d: %(problem)s", file=self.file, line=line, problem=problem)
        )


def _read(
    path: Path, header: tuple[str, ...], problems: _Problems
) -> list[tuple[int, list[str]]] | None:
    """The records of a CSV file after its header, each with the line it starts on; None (and a
    problem) when the file cannot be read as UTF-8 CSV with that header."""
    problems.file = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(
            _("%(file)s: cannot be read (%(error)s)", file=str(path), error=exc.strerror)
        )
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.add(line, _l("the file is not UTF-8 text"))
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    records, start = [], 1
    try:
        for record in reader:
            records.append((start, record))
            start = reader.line_num + 1
    except csv.Error as exc:
        problems.add(reader.line_num, _l("not valid CSV (%(error)s)"), error=str(exc))
        return None
    if not records or [cell.strip() for cell in records[0][1]] != list(header):
        found = ",".join(records[0][1])[:200] if records else ""
        expected = ",".join(header)
        problems.add(
            1,
            _l("the header should be “%(expected)s”, not “%(found)s”"),
            expected=expected,
            found=found,
        )
        return None
    return [(line, record) for line, record in records[1:] if any(c.strip() for c in record)]


def _cells(
    line: int, record: list[str], header: tuple[str, ...], problems: _Problems
) -> dict[str, str] | None:
    if len(record) != len(header):
        expected, found = len(header), len(record)
        problems.add(
            line,
            _l("expected %(expected)d fields, found %(found)d"),
            expected=expected,
            found=found,
        )
        return None
    cells = dict(zip(header, record, strict=True))
    broken = [col for col, value in cells.items() if any(ch in value for ch in "\r\n\x00")]
    for col in broken:
        problems.add(line, _l("the field %(field)s contains a line break or NUL"), field=col)
    return None if broken else {col: value.strip() for col, value in cells.items()}


def _ep_id(line: int, value: str, problems: _Problems) -> int | None:
    if not _ID.fullmatch(value) or int(value) == 0:
        problems.add(line, _l("ep_id “%(value)s” is not a whole number"), value=value[:40])
        return None
    return int(value)


def _committee_ok(line: int, code: str, problems: _Problems) -> bool:
    if _COMMITTEE.fullmatch(code):
        return True
    problems.add(line, _l("“%(code)s” is not a committee code like LIBE"), code=code[:40])
    return False


def _email(line: int, value: str, problems: _Problems) -> str | None:
    if not value:
        return None
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        problems.add(line, _l("“%(value)s” is not an email address"), value=value[:80])
        return None
    return value.lower()


def read_meps(path: Path, problems: _Problems) -> tuple[dict[int, MepRow], set[int] | None]:
    """The valid rows by ep_id, and every ep_id the file names (None: it could not be read)."""
    rows, ids, time_zone = {}, set(), current_app.config["LOBBYING_DEFAULT_TIME_ZONE"]
    records = _read(path, MEPS_HEADER, problems)
    if records is None:
        return rows, None
    for line, record in records:
        cells = _cells(line, record, MEPS_HEADER, problems)
        if cells is None:
            continue
        before = len(problems)
        ep_id = _ep_id(line, cells["ep_id"], problems)
        ids.add(ep_id)
        if ep_id is not None and ep_id in rows:
            other = rows[ep_id].line
            problems.add(line, _l("ep_id %(id)d is also on line %(other)d"), id=ep_id, other=other)
        if not cells["full_name"]:
            problems.add(line, _l("the name is empty"))
        for col, most in _LENGTHS.items():
            if len(cells[col]) > most:
                problems.add(
                    line, _l("%(field)s is longer than %(max)d characters"), field=col, max=most
                )
        country = cells["country_code"].upper()
        country = "GR" if country == "EL" else country  # the EU's own code for Greece
        if country not in EU_MEMBER_STATES:
            problems.add(
                line,
                _l("unknown country code “%(code)s” (not an EU member state)"),
                code=country[:10],
            )
        email = _email(line, cells["email"], problems)
        committees = [code.strip() for code in cells["committees"].split(";") if code.strip()]
        for code in committees:
            _committee_ok(line, code, problems)
        if len(problems) > before or ep_id is None:
            continue
        rows[ep_id] = MepRow(
            line,
            ep_id,
            {
                "kind": TargetKind.MEP,
                "name": cells["full_name"],
                "role": MEP_ROLE,
                "institution": MEP_INSTITUTION,
                "country": country,
                "political_group": cells["political_group"] or None,
                "national_party": cells["national_party"] or None,
                "email": email,
                "profile_url": PROFILE_URL.format(ep_id=ep_id),
                "languages": COUNTRY_LANGUAGES[country],
                "time_zone": time_zone,
            },
            committees,
        )
    return rows, ids


def read_roles(
    path: Path, meps: dict[int, MepRow], ids: set[int] | None, meps_name: str, problems: _Problems
) -> None:
    """Each MEP's seats from the roles file (checked against the ep_ids of meps.csv)."""
    seen: dict[tuple[int, str], int] = {}
    roles = ", ".join(role.value for role in CommitteeRole)
    for line, record in _read(path, ROLES_HEADER, problems) or []:
        cells = _cells(line, record, ROLES_HEADER, problems)
        if cells is None:
            continue
        ep_id = _ep_id(line, cells["ep_id"], problems)
        code, role = cells["committee"], cells["role"].lower()
        if not _committee_ok(line, code, problems):
            continue
        if role not in {r.value for r in CommitteeRole}:
            message = _l("unknown role “%(role)s” (expected one of %(roles)s)")
            problems.add(line, message, role=role[:40], roles=roles)
            continue
        if ep_id is None:
            continue
        if (ep_id, code) in seen:
            message = _l("ep_id %(id)d already has a seat on %(code)s on line %(other)d")
            problems.add(line, message, id=ep_id, code=code, other=seen[ep_id, code])
            continue
        seen[ep_id, code] = line
        if ids is not None and ep_id not in ids:
            problems.add(line, _l("ep_id %(id)d is not in %(file)s"), id=ep_id, file=meps_name)
        elif ep_id in meps:
            meps[ep_id].seats[code] = CommitteeRole(role)


def _seats_text(seats: dict[str, CommitteeRole]) -> dict[str, str]:
    return {code: str(role) for code, role in seats.items()}


def _diff(target: Target, row: MepRow) -> list[tuple[str, str, str]]:
    changes = [
        (str(IMPORTED_FIELDS[key]), str(getattr(target, key) or ""), str(value or ""))
        for key, value in row.fields.items()
        if getattr(target, key) != value
    ]
    old = {seat.committee: str(seat.role) for seat in target.committees}
    new = _seats_text(row.seats)
    none = _("none")
    for code in sorted(old.keys() | new.keys()):
        if old.get(code) != new.get(code):
            what = _("committee %(code)s", code=code)
            changes.append((what, old.get(code, none), new.get(code, none)))
    return changes


def _apply(target: Target, row: MepRow) -> None:
    for key, value in row.fields.items():
        if getattr(target, key) != value:
            setattr(target, key, value)
    by_code = {seat.committee: seat for seat in target.committees}
    for code, seat in by_code.items():
        if code not in row.seats:
            target.committees.remove(seat)
        elif seat.role != row.seats[code]:
            seat.role = row.seats[code]
    for code, role in row.seats.items():
        if code not in by_code:
            target.committees.append(TargetCommittee(committee=code, role=role))


def sorted_seats(target: Target) -> list[TargetCommittee]:
    """Chairs first, then vice-chairs, members and substitutes; by code within each."""
    return sorted(target.committees, key=lambda s: (COMMITTEE_ROLE_RANK[s.role], s.committee))


def import_meps(meps_path: Path, roles_path: Path | None, today: date) -> ImportResult:
    """Check both files, then bring the MEPs in the directory in line with them (the caller
    commits). `roles_path` None: the roles file beside meps.csv, if there is one."""
    problems = _Problems()
    result = ImportResult(errors=problems)
    meps, ids = read_meps(meps_path, problems)
    if roles_path is None and (meps_path.parent / ROLES_FILE_NAME).exists():
        roles_path = meps_path.parent / ROLES_FILE_NAME
    if roles_path is not None:
        result.roles_file = roles_path.name
        read_roles(roles_path, meps, ids, meps_path.name, problems)
    if problems:
        return result
    result.rows = len(meps)
    for row in meps.values():
        if not row.seats:  # no role rows: the committees column, as full members
            row.seats = dict.fromkeys(row.committees, CommitteeRole.MEMBER)

    existing = {
        target.ep_id: target
        for target in db.session.scalars(
            select(Target).where(Target.ep_id.is_not(None)).options(selectinload(Target.committees))
        )
    }
    for ep_id, row in meps.items():
        target = existing.get(ep_id)
        if target is None:
            target = Target(ep_id=ep_id, active=True, **row.fields)
            target.committees = [
                TargetCommittee(committee=code, role=role) for code, role in row.seats.items()
            ]
            db.session.add(target)
            result.added.append(target)
            continue
        changes = _diff(target, row)
        if changes:
            _apply(target, row)
            target.touch()
            result.changed.append((target, changes))
        if not target.active:
            target.active, target.left_office_on = True, None
            target.touch()
            result.returned.append(target)
        elif not changes:
            result.unchanged += 1
    for ep_id, target in existing.items():
        if ep_id not in meps and target.active:
            target.active, target.left_office_on = False, today
            target.touch()
            result.left.append(target)
    db.session.flush()
    audit(
        "targets.imported",
        detail={
            "file": meps_path.name,
            "rows": result.rows,
            "added": len(result.added),
            "changed": len(result.changed),
            "left_office": len(result.left),
            "returned": len(result.returned),
        },
    )
    return result

"""Signatures as CSV, streamed: a few thousand rows at a time, so memory stays flat however many.

Rows are read in keyset batches (``WHERE id > last ORDER BY id LIMIT n``): each batch is a short
indexed query, nothing holds a cursor open between chunks, and the same code works on SQLite and
PostgreSQL. Every text cell is neutralised against spreadsheet formula injection (OWASP "CSV
Injection"): a value starting with = + - @ tab or CR gets a leading single quote, so a spreadsheet
shows it as text instead of running it.

Pending signatures (the address not confirmed yet) are exported without what identifies someone:
their name, address and comment cells stay empty, since anyone may have typed that address (what
double opt-in protects). The "Newsletter consent" column says "no" for an address that
unsubscribed, bounced or complained, whatever was ticked on the petition: no mailing goes to it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, func, select

from campaigns.extensions import db
from campaigns.mailings.models import Suppression, SuppressionReason
from campaigns.mailings.suppression import email_digest
from campaigns.petitions.models import ConsentRecord, ConsentText, Signature, SignatureStatus

BATCH_SIZE = 2000
BOM = "\ufeff"  # lets spreadsheet apps (Excel above all) read the file as UTF-8
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    label: object  # a lazy translated string
    expression: ColumnElement
    kind: str  # text, time, flag, network or newsletter: how a value is written
    identifying: bool = False  # left empty for pending signatures


# In the order the file has them, whatever order they were ticked in.
COLUMNS: dict[str, Column] = {
    "name": Column(_l("Name"), Signature.name, "text", identifying=True),
    "email": Column(_l("Email address"), Signature.email, "text", identifying=True),
    "country": Column(_l("Country (code)"), Signature.country, "text"),
    "language": Column(_l("Language (code)"), Signature.locale, "text"),
    "network": Column(_l("Brought by network"), Signature.source_network_id, "network"),
    "status": Column(_l("Status"), Signature.status, "text"),
    "signed_at": Column(_l("Signed at (UTC)"), Signature.created_at, "time"),
    "confirmed_at": Column(_l("Confirmed at (UTC)"), Signature.confirmed_at, "time"),
    "comment": Column(_l("Comment"), Signature.comment, "text", identifying=True),
    # Looked up per batch (see _newsletter_values); the row only brings the signature's id.
    "newsletter": Column(_l("Newsletter consent"), Signature.id.label("newsletter"), "newsletter"),
    "show_name": Column(_l("Name may be shown publicly"), Signature.show_name, "flag"),
}
# Few columns by default: export only what the task needs.
DEFAULT_COLUMNS = ["name", "country", "confirmed_at"]


@dataclass(frozen=True)
class ExportFilters:
    include_pending: bool = False
    country: str | None = None
    network_id: int | None = None
    date_field: str = "confirmed"  # or "signed"
    date_from: date | None = None
    date_to: date | None = None  # included

    def conditions(self, petition_id: int) -> list[ColumnElement]:
        # Rejected signatures ("it wasn't me") are never exported, whatever was asked.
        statuses = [SignatureStatus.CONFIRMED]
        if self.include_pending:
            statuses.append(SignatureStatus.PENDING)
        where = [Signature.petition_id == petition_id, Signature.status.in_(statuses)]
        if self.country:
            where.append(Signature.country == self.country)
        if self.network_id is not None:
            where.append(Signature.source_network_id == self.network_id)
        moment = Signature.confirmed_at if self.date_field == "confirmed" else Signature.created_at
        if self.date_from:
            where.append(moment >= datetime.combine(self.date_from, time(), UTC))
        if self.date_to:
            where.append(moment < datetime.combine(self.date_to + timedelta(days=1), time(), UTC))
        return where

    def as_dict(self) -> dict[str, object]:
        """For the audit log: what was asked, in plain values."""
        return {
            "status": "confirmed+pending" if self.include_pending else "confirmed",
            "country": self.country,
            "network_id": self.network_id,
            "date_field": self.date_field,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
        }


def count_rows(petition_id: int, filters: ExportFilters) -> int:
    query = select(func.count()).select_from(Signature).where(*filters.conditions(petition_id))
    return db.session.scalar(query)


def neutralise(value: str) -> str:
    """A cell a spreadsheet shows as text, never evaluates as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _format_time(value: datetime | None) -> str:
    # PostgreSQL hands back times in the connection's zone; the file says UTC. (isoformat is
    # several times faster than strftime, and this runs twice per row.)
    return value.astimezone(UTC).isoformat(" ", "seconds")[:19] if value else ""


def _newsletter_ids(first_id: int, last_id: int) -> set[int]:
    """Signatures with ids in [first_id, last_id] whose signer ticked "keep me informed" (the test
    the mailing audience uses): one indexed range scan per batch rather than a subquery per row."""
    query = (
        select(ConsentRecord.signature_id)
        .join(ConsentText, ConsentText.id == ConsentRecord.consent_text_id)
        .where(
            ConsentRecord.signature_id.between(first_id, last_id),
            ConsentRecord.granted.is_(True),
            ConsentText.purpose == "newsletter",
        )
    )
    return set(db.session.scalars(query))


def _suppression_reasons(emails: set[str]) -> dict[str, SuppressionReason]:
    """Which of these addresses no mailing may go to, and why: one query by digest per batch."""
    by_digest = {email_digest(email): email for email in emails}
    if not by_digest:
        return {}
    query = select(Suppression.email_digest, Suppression.reason).where(
        Suppression.email_digest.in_(by_digest)
    )
    return {by_digest[digest]: reason for digest, reason in db.session.execute(query)}


def _newsletter_values(
    rows: list, yes: str, no_because: dict[SuppressionReason, str]
) -> dict[int, str]:
    """What the newsletter column says for each signature of a batch that ticked the box
    (rows: id, status, email, ...): "yes", unless the address unsubscribed, bounced or
    complained since, so no mailing goes to it."""
    ticked = _newsletter_ids(rows[0][0], rows[-1][0])
    emails = {row[0]: row[2] for row in rows if row[0] in ticked}
    reasons = _suppression_reasons({email for email in emails.values() if email})
    return {
        id_: no_because[reasons[email]] if email in reasons else yes
        for id_, email in emails.items()
    }


def _formatter(
    kind: str, network_names: dict[int, str], newsletter: dict[int, str]
) -> Callable[[object], str]:
    if kind == "time":
        return _format_time
    if kind in ("flag", "newsletter"):
        yes, no = _("yes"), _("no")
        if kind == "newsletter":
            return lambda signature_id: newsletter.get(signature_id, no)
        return lambda value: yes if value else no
    if kind == "network":
        return lambda value: neutralise(network_names.get(value, "")) if value else ""
    return lambda value: neutralise(str(value)) if value is not None else ""


def _shown(row: Sequence[object], identifying: list[int]) -> Sequence[object]:
    """The chosen columns' values of a row (id, status, email, values...), with the identifying
    ones emptied when the signature is pending."""
    values = row[3:]
    if identifying and row[1] == SignatureStatus.PENDING:
        values = list(values)
        for index in identifying:
            values[index] = None
    return values


def csv_chunks(
    petition_id: int,
    filters: ExportFilters,
    columns: list[str],
    network_names: dict[int, str],
    batch_size: int = BATCH_SIZE,
) -> Iterator[str]:
    """The CSV file in pieces: the header first, then one piece per batch of rows."""
    chosen = [COLUMNS[key] for key in COLUMNS if key in columns]
    newsletter: dict[int, str] = {}  # refilled for each batch, read by the newsletter formatter
    formatters = [_formatter(column.kind, network_names, newsletter) for column in chosen]
    # Kept empty in pending rows (None is written as an empty cell).
    identifying = [i for i, column in enumerate(chosen) if column.identifying]
    yes = _("yes")
    no_because = {
        SuppressionReason.UNSUBSCRIBED: _("no (unsubscribed)"),
        SuppressionReason.BOUNCED: _("no (address bounced)"),
        SuppressionReason.COMPLAINED: _("no (marked as spam)"),
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(str(column.label)) for column in chosen])
    yield BOM + buffer.getvalue()

    # Each row: id, status, email, then the chosen columns.
    query = (
        select(Signature.id, Signature.status, Signature.email, *(c.expression for c in chosen))
        .where(*filters.conditions(petition_id))
        .order_by(Signature.id)
        .limit(batch_size)
    )
    last_id = 0
    while True:
        rows = db.session.execute(query.where(Signature.id > last_id)).all()
        if rows and "newsletter" in columns:
            newsletter.clear()
            newsletter.update(_newsletter_values(rows, yes, no_because))
        # End the read transaction before handing the chunk over: the client sets the pace, and a
        # slow download must not hold a transaction (and PostgreSQL's vacuum) open meanwhile.
        db.session.commit()  # writes nothing: the export's audit entry was committed by the view
        if not rows:
            return
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(
            [
                format_value(value)
                for format_value, value in zip(formatters, _shown(row, identifying), strict=True)
            ]
            for row in rows
        )
        yield buffer.getvalue()
        if len(rows) < batch_size:
            return
        last_id = rows[-1][0]

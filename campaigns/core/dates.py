"""Days that staff type (YYYY-MM-DD, what a date input sends) to filter logs and exports.

Only days between FIRST_DAY and LAST_DAY are taken: nothing here is older than the first, a day
outside them is a typing mistake, and "up to 9999-12-31 included" would need the day after it,
which no date type can hold (it used to answer a server error).
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(9998, 12, 31)


def parse_day(value: str | None) -> date | None:
    """The day typed as YYYY-MM-DD between FIRST_DAY and LAST_DAY, else None."""
    try:
        day = datetime.strptime((value or "").strip(), "%Y-%m-%d").date()
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def day_error() -> LazyString:
    """What to say when `parse_day` refused a value."""
    return _l(
        "Use a date like 2026-03-31, between %(first)s and %(last)s.",
        first=FIRST_DAY.isoformat(),
        last=LAST_DAY.isoformat(),
    )

"""Making, checking and revoking API keys. Services flush; the page or command commits (a key
and its audit entry are one transaction). `touch_last_used` is the one exception: see there.

A key reads `cmp_xxxxxxxx_<secret>`: its prefix (stored, shown in lists), then 32 random bytes.
Only the SHA-256 of the whole key is stored, so the key is shown once, when it is made."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from campaigns.api_keys.models import (
    KEY_MARK,
    NAME_MAX,
    NETWORK_SCOPES,
    SCOPES,
    ApiKey,
    KeyStatus,
)
from campaigns.audit.services import NOBODY
from campaigns.audit.services import record as audit
from campaigns.core.db import autocommit, utcnow
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.staff.models import StaffUser

SECRET_BYTES = 32
# The whole key, as `create_key` makes it; anything else is refused before any lookup.
_KEY = re.compile(rf"({re.escape(KEY_MARK)}[a-z2-7]{{8}})_[A-Za-z0-9_-]{{43}}")
# last_used_at is written at most this often per key: a write per request would cost the API's
# busiest clients a database write each, for a date shown to the minute.
LAST_USED_GRANULARITY = timedelta(minutes=1)
VIA_STAFF_PAGE = "staff page"
VIA_COMMAND_LINE = "command line"


class KeyRequestError(ValueError):
    """What was asked for cannot be a key: `problems` lists (field, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(message for _field, message in problems))
        self.problems = problems


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_prefix() -> str:
    for _attempt in range(5):
        prefix = KEY_MARK + base64.b32encode(secrets.token_bytes(5)).decode().lower()
        if db.session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            return prefix
    raise RuntimeError("no free API key prefix after 5 draws")  # 40 random bits: never


def day_end(day: date, zone: str = "UTC") -> datetime:
    """When a key that expires on `day` stops working: as that day ends in `zone`."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone))


def problems(
    name: str,
    scopes: Iterable[str],
    network: Network | None,
    expires_at: datetime | None,
    now: datetime | None = None,
) -> list[tuple[str, str]]:
    """What is wrong with a key asked for, as (field, message): the form and the command say the
    same. Unknown networks are the caller's to report (it knows what was typed)."""
    found: list[tuple[str, str]] = []
    if not name.strip():
        found.append(("name", _("Please say what the key is for.")))
    elif len(name) > NAME_MAX:
        found.append(("name", _("Please use at most %(max)d characters.", max=NAME_MAX)))
    elif any(ord(char) < 0x20 or ord(char) == 0x7F for char in name):
        found.append(("name", _("Please write this on a single line, without control characters.")))
    scopes = list(scopes)
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        found.append(
            (
                "scopes",
                _(
                    "Unknown scope: %(unknown)s. The scopes are %(known)s.",
                    unknown=", ".join(unknown),
                    known=", ".join(SCOPES),
                ),
            )
        )
    elif not scopes:
        found.append(("scopes", _("Please choose at least one scope.")))
    elif network is None and NETWORK_SCOPES & set(scopes):
        found.append(
            (
                "scopes",
                _(
                    "%(scope)s needs a network: a key reads the supporters who agreed that its "
                    "network may contact them, and a key of no network has none.",
                    scope=", ".join(sorted(NETWORK_SCOPES & set(scopes))),
                ),
            )
        )
    if network is not None and not network.is_active:
        found.append(("network", _("%(name)s is deactivated.", name=network.name)))
    if expires_at is not None and expires_at <= (now or utcnow()):
        found.append(("expires", _("The expiry date is past: choose a later day.")))
    return found


def create_key(
    name: str,
    scopes: Iterable[str],
    network: Network | None = None,
    expires_at: datetime | None = None,
    created_by: StaffUser | None = None,
    *,
    via: str = VIA_STAFF_PAGE,
) -> tuple[ApiKey, str]:
    """A new key and its plain text, which exists nowhere else: show it once, then drop it.
    Raises KeyRequestError for a request `problems` refuses."""
    scopes = list(scopes)
    found = problems(name, scopes, network, expires_at)
    if found:
        raise KeyRequestError(found)
    prefix = _new_prefix()
    token = f"{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    key = ApiKey(
        name=name.strip(),
        network=network,
        prefix=prefix,
        secret_hash=_digest(token),
        scopes=" ".join(sorted(set(scopes))),
        created_at=utcnow(),
        created_by_id=created_by.id if created_by is not None else None,
        expires_at=expires_at,
    )
    db.session.add(key)
    db.session.flush()
    audit(
        "api_key.created",
        target=key,
        detail={**_described(key), "scopes": key.scope_list, "via": via},
        actor=created_by if created_by is not None else NOBODY,
    )
    return key, token


def _described(key: ApiKey) -> dict[str, object]:
    # What the audit log says of a key: never its secret nor its hash.
    return {
        "prefix": key.prefix,
        "name": key.name,
        "network_id": key.network_id,
        "network": key.network.slug if key.network is not None else None,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
    }


def revoke(key: ApiKey, by: StaffUser | None, *, via: str = VIA_STAFF_PAGE) -> bool:
    """Revoke `key` (by a staff member, or None on the command line): every later request with
    it fails. False if it was revoked already (nothing written)."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    db.session.flush()
    audit(
        "api_key.revoked",
        target=key,
        detail={**_described(key), "via": via},
        actor=by if by is not None else NOBODY,
    )
    return True


def authenticate(token: str | None) -> ApiKey | None:
    """The key `token` is (the text after `Bearer `), if it may be used now; else None: unknown,
    wrong secret, revoked, expired, or its network deactivated. Read from the database at each
    call, so a revocation takes effect at the next request."""
    match = _KEY.fullmatch((token or "").strip())
    if match is None:
        return None
    key = db.session.scalar(
        select(ApiKey).where(ApiKey.prefix == match[1]).options(joinedload(ApiKey.network))
    )
    if key is None or not hmac.compare_digest(key.secret_hash, _digest(match[0])):
        return None
    return key if key.status() == KeyStatus.ACTIVE else None


def touch_last_used(key: ApiKey, now: datetime | None = None) -> bool:
    """Note that `key` was used, at most once a minute per key (the WHERE clause makes that hold
    across processes too). True if written.

    A statement of its own in autocommit, not part of the caller's unit of work: a read-only
    request commits nothing, and the row's lock must not last as long as the request. Call it
    before the request writes anything (SQLite has one writer at a time)."""
    now = now or utcnow()
    threshold = now - LAST_USED_GRANULARITY
    if key.last_used_at is not None and key.last_used_at > threshold:
        return False
    statement = (
        update(ApiKey)
        .where(
            ApiKey.id == key.id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= threshold),
        )
        .values(last_used_at=now)
    )
    with autocommit(db.engine).connect() as connection:
        written = connection.execute(statement).rowcount == 1
    if written:
        # The loaded object learns it too, without becoming a change of the caller's session.
        set_committed_value(key, "last_used_at", now)
    return written


def key_can(key: ApiKey, scope: str) -> bool:
    """Whether `key` holds `scope` (one of SCOPES: another is a mistake in the caller)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown API scope {scope!r}")
    return scope in key.scope_list


def all_keys() -> list[ApiKey]:
    """Every key, newest first, with its network and maker loaded (lists show them)."""
    return list(
        db.session.scalars(
            select(ApiKey)
            .options(selectinload(ApiKey.network), selectinload(ApiKey.created_by))
            .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        )
    )


def key_by_prefix(prefix: str) -> ApiKey | None:
    return db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix.strip().lower()))

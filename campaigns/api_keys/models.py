from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaigns.core.db import UTCDateTime, utcnow
from campaigns.extensions import db

# What a key may do. The API checks one of these per operation (services.key_can).
SCOPES = ("read:campaigns", "read:counts", "read:supporters", "write:signatures", "read:targets")
# Scopes that make sense only for a network's key: the supporters one may read are those who
# agreed that this network may contact them, so a key of no network has none to read.
NETWORK_SCOPES = frozenset({"read:supporters"})

# "cmp_" and 8 base32 characters: shown in lists so people recognise a key, and looked up to
# find it; the secret part follows it.
KEY_MARK = "cmp_"
PREFIX_LENGTH = len(KEY_MARK) + 8
NAME_MAX = 120


class KeyStatus(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    # Its network was deactivated: the key works again if the network is reactivated.
    SUSPENDED = "suspended"


class ApiKey(db.Model):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), nullable=False)  # what it is for
    # The network whose server uses it; None for an integration of the platform's own.
    network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    # SHA-256 (hex) of the whole key. A key holds 32 random bytes, so nobody can guess it back
    # from its hash however fast the hash is: no slow password hash needed, and checking a key
    # costs each API request microseconds, not the ~100 ms of argon2.
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # Space-separated, sorted, each one of SCOPES.
    scopes: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=text("CURRENT_TIMESTAMP"), nullable=False
    )
    # None when made on the command line.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Written at most once a minute (services.touch_last_used), not at every request.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    network = relationship("Network")
    created_by = relationship("StaffUser")

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    def status(self, now: datetime | None = None) -> KeyStatus:
        if self.revoked_at is not None:
            return KeyStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return KeyStatus.EXPIRED
        if self.network is not None and not self.network.is_active:
            return KeyStatus.SUSPENDED
        return KeyStatus.ACTIVE

    def __repr__(self) -> str:
        return f"<ApiKey {self.prefix}>"

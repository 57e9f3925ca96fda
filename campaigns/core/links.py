"""Signed links in our emails (confirm, "it wasn't me", withdraw): a record's id, signed with
SECRET_KEY and a salt per kind of record and purpose, so a link made for one use opens no other.

A confirmation link expires after CONFIRMATION_MAX_AGE; every other link never does: it only
ever removes, and the privacy notice promises that the link in our emails withdraws at any time.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class TokenError(Exception):
    """A link that is malformed or not ours."""


class TokenExpired(TokenError):
    """A link that was ours but is too old."""


class SignedLinks:
    """The tokens of one kind of record ("signature", "letter")."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(
            current_app.config["SECRET_KEY"], salt=f"{self.kind}-{purpose}"
        )

    def make(self, record_id: int, purpose: str) -> str:
        return self._serializer(purpose).dumps(record_id)

    def record_id(self, token: str, purpose: str) -> int:
        """The id the token carries; TokenExpired or TokenError when it cannot be used."""
        max_age = current_app.config["CONFIRMATION_MAX_AGE"] if purpose == "confirm" else None
        try:
            record_id = self._serializer(purpose).loads(token, max_age=max_age)
        except SignatureExpired as exc:
            raise TokenExpired from exc
        except BadSignature as exc:
            raise TokenError from exc
        if not isinstance(record_id, int):
            raise TokenError
        return record_id

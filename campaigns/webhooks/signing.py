"""Signing webhook messages by the Standard Webhooks specification.

A secret is "whsec_" followed by the base64 of random bytes; the key is those bytes. A message is
signed over `{webhook-id}.{webhook-timestamp}.{body}` with HMAC-SHA256, and the signature sent as
"v1,<base64>". The `webhook-signature` header holds a space-separated list of signatures: after a
rotation the previous secret signs too, until `previous_secret_until`, so a receiver that still
has the old secret keeps accepting messages while it switches over.

No database and no Flask here: the sending threads call `headers()` with plain values.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 24  # 192 bits; the specification asks for 24 to 64
USER_AGENT = "EuroNPUD-Campaigns-Webhooks/1.0"


def new_secret() -> str:
    """A new endpoint secret, "whsec_" + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4))


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The signature of one message: "v1," + base64(HMAC-SHA256(key, "id.timestamp.body"))."""
    signed = f"{msg_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


class Keys(Protocol):
    """What signing needs of an endpoint (a `WebhookEndpoint` or an `EndpointKeys`)."""

    secret: str
    previous_secret: str | None
    previous_secret_until: datetime | None


@dataclass(frozen=True)
class EndpointKeys:
    """An endpoint's secrets copied out of the database session, for a sending thread."""

    secret: str
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None

    @classmethod
    def of(cls, endpoint: Keys) -> EndpointKeys:
        return cls(endpoint.secret, endpoint.previous_secret, endpoint.previous_secret_until)


def signing_secrets(endpoint: Keys, now: datetime) -> list[str]:
    """The secrets that sign a message sent at `now`: the current one, and the previous one
    while its overlap lasts."""
    found = [endpoint.secret]
    until = endpoint.previous_secret_until
    if endpoint.previous_secret and until is not None and now < until:
        found.append(endpoint.previous_secret)
    return found


def headers(endpoint: Keys, msg_id: str, body: str, now: datetime) -> dict[str, str]:
    """The headers of one attempt at sending a message. The timestamp is the attempt's own (a
    receiver refuses one more than five minutes off); the id is the message's, the same on every
    retry."""
    timestamp = int(now.timestamp())
    signatures = [sign(s, msg_id, timestamp, body) for s in signing_secrets(endpoint, now)]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }

"""Who is calling: an API key sent as `Authorization: Bearer <key>`, what its scopes allow, and
the rate limit that applies (per key; per address for calls without one).

A call to a public read may come without a key. A key that is sent is always checked, so a
revoked or expired key gets 401 at once, even where no key is needed, and a key does only what
its scopes say.
"""

from __future__ import annotations

from flask import current_app, g, request
from flask_smorest import abort

from campaigns.api_keys.models import ApiKey
from campaigns.api_keys.services import authenticate, key_can, touch_last_used
from campaigns.core.ratelimit import take_quota

RATE_POLICY = "api"


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(
            401,
            message="Send the API key as `Authorization: Bearer <key>`.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_request"'},
        )
    return token.strip()


def _identify() -> ApiKey | None:
    token = _bearer_token()
    if token is None:
        return None
    key = authenticate(token)
    if key is None:
        abort(
            401,
            message="This API key is not valid: it is unknown, revoked or expired.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    touch_last_used(key)
    return key


def guard(scope: str, *, key_required: bool) -> ApiKey | None:
    """Check the caller for an operation that needs `scope` (always, if `key_required`; only
    when a key is sent, otherwise), count it against its rate limit, and return its key."""
    key = _identify()
    if key is None and key_required:
        abort(
            401,
            message=f"This needs an API key with the scope {scope}.",
            headers={"WWW-Authenticate": f'Bearer scope="{scope}"'},
        )
    if key is not None and not key_can(key, scope):
        abort(
            403,
            message=f"This API key does not have the scope {scope}.",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        )
    config = current_app.config
    if key is not None:
        quota = take_quota("api", f"key-{key.id}", config["API_RATE_LIMIT"])
    else:
        quota = take_quota("api", f"ip-{request.remote_addr}", config["API_PUBLIC_RATE_LIMIT"])
    g.api_rate_headers = quota.headers(RATE_POLICY)
    if not quota.allowed:
        abort(429, headers=g.api_rate_headers)
    g.api_key = key
    return key


def rate_headers() -> dict[str, str]:
    """The `RateLimit` headers of this call, for its answer (none before `guard` ran)."""
    return g.get("api_rate_headers") or {}

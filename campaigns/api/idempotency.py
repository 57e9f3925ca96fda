"""`Idempotency-Key` for the API's writes: a client that did not get an answer (a timeout, a
dropped connection) sends the same request again with the same key, and gets the first answer
again instead of a second signature or a second mail.

Per API key, in Redis, for 24 hours. Redis holds no personal data: the request is kept as an
HMAC-SHA-256 of its content (keyed with SECRET_KEY, so that nobody can test guessed addresses
against it), the client's key as a SHA-256, and the answer, which names no person.

Two requests with the same key at the same moment: the first claims the key (SET NX, as one
script) and the second is answered 409 "still being handled", with `Retry-After: 1`, at once:
a client retries after a timeout, and holding its connection open while the first finishes
would only tie up a web worker. The claim lapses after IN_FLIGHT_SECONDS, so a process killed
mid-request does not block the key for a day.

If Redis cannot be reached the request goes on without this protection: the platform's
deduplication still holds (one signature per address and petition, and a mail to an address at
most once per CONFIRMATION_RESEND_INTERVAL), so a repeated request still signs nothing twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
from flask import current_app
from flask_smorest import abort

from campaigns.core.redis import get_redis, key

log = logging.getLogger(__name__)

KEPT_SECONDS = 24 * 3600
IN_FLIGHT_SECONDS = 60
REPLAYED_HEADER = "Idempotent-Replayed"

# KEYS[1]: the key's slot; ARGV: the claim, its lifetime. Returns what the slot held (nothing:
# it is claimed now).
_CLAIM = """
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
"""
# KEYS[1]: the slot; ARGV: our claim, the answer to keep ('' : give the key back), its lifetime.
# Only a slot still holding our claim is touched (one that lapsed may be another request's).
_FINISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1])
else redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
return 1
"""


def fingerprint(*parts: Any) -> str:
    """What makes two requests "the same": their content as canonical JSON (key order and
    spacing do not matter), as an HMAC keyed with SECRET_KEY."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


@dataclass
class Slot:
    """One request's hold on an Idempotency-Key: `replay` is the earlier answer to send again,
    if there is one; otherwise the caller does the work and `keep`s its answer."""

    name: str | None  # None: no Idempotency-Key, or Redis unreachable
    fingerprint: str
    claim: str = ""
    replay: tuple[int, dict[str, Any]] | None = None
    kept: bool = False

    def keep(self, status: int, body: dict[str, Any]) -> None:
        """Remember the answer for KEPT_SECONDS (it must name no person)."""
        self.kept = True
        answer = {"state": "done", "request": self.fingerprint, "status": status, "body": body}
        self._finish(json.dumps(answer, separators=(",", ":")))

    def release(self) -> None:
        """Nothing was done (refused, or failed): the key is free for the next try."""
        self._finish("")

    def _finish(self, value: str) -> None:
        if self.name is None:
            return
        try:
            _script("_FINISH", _FINISH)(keys=[self.name], args=[self.claim, value, KEPT_SECONDS])
        except redis.RedisError as exc:
            log.warning("Idempotency-Key not stored, Redis unreachable: %s", exc)


def _script(name: str, source: str) -> Any:
    scripts = current_app.extensions.setdefault("api_idempotency_scripts", {})
    if name not in scripts:
        scripts[name] = get_redis().register_script(source)
    return scripts[name]


def _claim(slot: Slot) -> None:
    slot.claim = json.dumps(
        {"state": "running", "request": slot.fingerprint, "claim": secrets.token_hex(8)},
        separators=(",", ":"),
    )
    try:
        held = _script("_CLAIM", _CLAIM)(keys=[slot.name], args=[slot.claim, IN_FLIGHT_SECONDS])
    except redis.RedisError as exc:
        log.warning("Idempotency-Key not checked, Redis unreachable: %s", exc)
        slot.name = None
        return
    if held is None:
        return  # ours now
    earlier = json.loads(held)
    slot.name = None  # not ours: never released nor overwritten by this request
    if not hmac.compare_digest(earlier["request"], slot.fingerprint):
        abort(
            409,
            message="This Idempotency-Key came with a different request in the last 24 hours: "
            "use a new key for a new request.",
        )
    if earlier["state"] != "done":
        abort(
            409,
            message="A request with this Idempotency-Key is still being handled: send it again "
            "in a moment to get its answer.",
            headers={"Retry-After": "1"},
        )
    slot.replay = (int(earlier["status"]), earlier["body"])


@contextmanager
def idempotent(api_key_id: int, idempotency_key: str | None, request: str) -> Iterator[Slot]:
    """Hold `idempotency_key` of API key `api_key_id` for a request whose fingerprint is
    `request` (see `fingerprint`) while the body of the `with` runs. Answers 409 itself for a
    key used with another request or still in use. A key not `keep`-ed is given back."""
    if not idempotency_key:
        yield Slot(None, request)
        return
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    slot = Slot(key("api-idempotency", api_key_id, digest), request)
    _claim(slot)
    try:
        yield slot
    finally:
        if not slot.kept:
            slot.release()  # a no-op for a slot that is not ours (see _claim)

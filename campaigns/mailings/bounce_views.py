"""POST /hooks/bounces: bounces and complaints pushed by a mail provider or a local MTA.

Authenticated by a shared secret (`Authorization: Bearer <BOUNCE_WEBHOOK_TOKEN>`); off (404) while
the setting is empty. The body is either a raw notification (Content-Type message/rfc822 or
message/global; `?recipient=` may name the envelope recipient) or a JSON event:

    {"recipient": "<VERP address>", "kind": "hard|soft|complaint", "status": "5.1.1",
     "diagnostic": "...", "id": "<provider event id>"}

`id` is required: providers post an event again until they get an answer, and it is what makes
a repeat count once. Answers 200 with {"result": "recorded|duplicate|ignored"}; an event about
none of our deliveries is ignored, not an error, so the provider does not retry it.
"""

from __future__ import annotations

import hmac
import logging
import re

from flask import Blueprint, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from campaigns.extensions import csrf, db
from campaigns.mailings import bounces
from campaigns.mailings.bounce_parsing import Notification
from campaigns.mailings.models import BounceKind

log = logging.getLogger(__name__)

bp = Blueprint("mailings_bounces", __name__)
csrf.exempt(bp)  # machines post here, authenticated by the token

RAW_TYPES = ("message/rfc822", "message/global")
_STATUS = re.compile(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}")  # ASCII digits: \d takes any script's


class BadEvent(ValueError):
    pass


@bp.errorhandler(HTTPException)
def json_error(error: HTTPException) -> ResponseReturnValue:
    return jsonify(error=error.name), error.code or 500


def _authorized(token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Compared as bytes: compare_digest takes str only when it is ASCII.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def _text(event: dict, name: str, max_length: int, required: bool = False) -> str | None:
    value = event.get(name)
    if value is None or value == "":
        if required:
            raise BadEvent(f"{name} is required")
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise BadEvent(f"{name} must be a string of at most {max_length} characters")
    return value


def _notification_from_json(event: object) -> Notification:
    if not isinstance(event, dict):
        raise BadEvent("the body must be a JSON object")
    try:
        kind = BounceKind(event.get("kind"))
    except ValueError:
        raise BadEvent("kind must be hard, soft or complaint") from None
    recipient = _text(event, "recipient", 320, required=True)
    status = _text(event, "status", 16)
    if status is not None and not _STATUS.fullmatch(status):
        raise BadEvent("status must be an enhanced status code such as 5.1.1")
    diagnostic = _text(event, "diagnostic", 1000)
    event_id = _text(event, "id", 250, required=True)
    # A provider reports soft bounces while it still retries (not final) and when it gives up
    # ("final": true), which counts towards the soft-bounce limit.
    final = event.get("final", kind == BounceKind.HARD)
    if not isinstance(final, bool):
        raise BadEvent("final must be true or false")
    return Notification(
        kind=kind,
        final=final,
        addresses=(recipient,),
        status=status,
        diagnostic=diagnostic,
        notification_id=f"event:{event_id}",
    )


@bp.post("/hooks/bounces")
def receive() -> ResponseReturnValue:
    token = current_app.config["BOUNCE_WEBHOOK_TOKEN"]
    if not token:
        abort(404)
    if not _authorized(token):
        response = jsonify(error="Unauthorized")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="bounces"'
        return response
    try:
        if request.mimetype in RAW_TYPES:
            outcome = bounces.process(
                request.get_data(), "webhook", envelope_recipient=request.args.get("recipient")
            )
        elif request.is_json:
            notification = _notification_from_json(request.get_json(silent=True))
            outcome = bounces.record(notification, "webhook")
        else:
            raise BadEvent("send application/json or a raw message as " + " or ".join(RAW_TYPES))
        db.session.commit()
    except BadEvent as problem:
        return jsonify(error=str(problem)), 400
    except HTTPException:
        raise  # 413 and the like: answered as JSON by json_error
    except Exception:
        # The database is away or the like: the provider should try again later.
        db.session.rollback()
        log.exception("a bounce posted to the webhook could not be recorded")
        return jsonify(error="Try again later"), 503
    return jsonify(result=str(outcome)), 200

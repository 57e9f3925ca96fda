"""Staff pages to read what the built-in mail catcher received (embedded stack): the list, one
message, and that message's HTML part on its own sandboxed URL (see render.py)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from campaigns.audit.services import record
from campaigns.devstack.mailcatcher.render import (
    FRAME_POLICY,
    clean_html,
    headers_of,
    linkify,
    part_content,
    sent_at,
)
from campaigns.devstack.mailcatcher.server import get_message, list_messages
from campaigns.extensions import db
from campaigns.staff.auth import staff_required
from campaigns.staff.models import Capability

bp = Blueprint("mail_catcher", __name__, url_prefix="/staff/mail")

LIST_LIMIT = 200


def _maildir() -> Path:
    return Path(current_app.config["MAIL_CATCHER_DIR"])


@bp.route("/")
@staff_required(Capability.READ_MAIL_CATCHER)
def index() -> ResponseReturnValue:
    maildir = _maildir()
    in_use = maildir.is_dir()
    messages = list_messages(maildir, LIST_LIMIT) if in_use else []
    for message in messages:
        message["sent_at"] = sent_at(message["date"])
    return render_template(
        "mailcatcher/index.html", in_use=in_use, messages=messages, limit=LIST_LIMIT
    )


@bp.route("/<key>")
@staff_required(Capability.READ_MAIL_CATCHER)
def message(key: str) -> ResponseReturnValue:
    found = get_message(_maildir(), key)
    if found is None:
        abort(404)
    record("mail_catcher.viewed", detail={"message": key})
    db.session.commit()
    text = part_content(found, "plain")
    return render_template(
        "mailcatcher/message.html",
        key=key,
        subject=str(found.get("Subject", "")),
        envelope_to=str(found.get("X-Envelope-To", "")),
        headers=headers_of(found),
        all_headers=[(name, str(value)) for name, value in found.items()],
        text=linkify(text) if text is not None else None,
        has_html=part_content(found, "html") is not None,
    )


@bp.route("/<key>/html")
@staff_required(Capability.READ_MAIL_CATCHER)
def message_html(key: str) -> ResponseReturnValue:
    """The HTML part, cleaned, for the sandboxed frame of the message page (viewing it there is
    recorded once, by the message page)."""
    found = get_message(_maildir(), key)
    html = part_content(found, "html") if found is not None else None
    if html is None:
        abort(404)
    page = render_template("mailcatcher/frame.html", body=Markup(clean_html(html)))  # noqa: S704 - sanitised
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = FRAME_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response

"""The public page where a network's alert contact stops its alert mails (alerts.optouts), or
takes them back. No sign-in: the signed token in the link is the proof.

Opening the link changes nothing (mail scanners and previews open every link): the page asks,
with a button. A POST to the same URL stops the mails at once, which is also what a mail
program's one-click unsubscribe does (RFC 8058: no cookie, no CSRF token, so that URL is exempt;
the token is what a forger cannot make)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from campaigns.alerts import optouts
from campaigns.extensions import csrf, db
from campaigns.networks.models import NetworkContact

bp = Blueprint("alert_contacts", __name__, url_prefix="/<lang>")

# The body RFC 8058 has a mail program POST for a one-click unsubscribe.
_ONE_CLICK = ("List-Unsubscribe", "One-Click")


def _page(
    token: str, state: str, contact: NetworkContact | None = None, status: int = 200
) -> ResponseReturnValue:
    """The page in `state`: ask, stopped, again, or unknown (a link not ours, or the contact
    removed since: they receive nothing any more either way)."""
    return (
        render_template(
            "alerts/contact_unsubscribe.html",
            token=token,
            state=state,
            network_name=contact.network.name if contact is not None else "",
        ),
        status,
    )


@bp.route("/alerts/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: mail programs POST here with no cookie and no token
def unsubscribe(token: str) -> ResponseReturnValue:
    contact = optouts.contact_from_token(token)
    if contact is None:
        return _page(token, "unknown", status=404)
    if request.method == "GET":
        return _page(token, "ask" if contact.receives_alert_mails else "stopped", contact)
    one_click = request.form.get(_ONE_CLICK[0]) == _ONE_CLICK[1]
    optouts.unsubscribe(contact, optouts.Via.ONE_CLICK if one_click else optouts.Via.PAGE)
    db.session.commit()  # before answering: from now on no alert mail goes to the address
    return _page(token, "stopped", contact)


@bp.route("/alerts/unsubscribe/<token>/again", methods=["POST"])
def resubscribe(token: str) -> ResponseReturnValue:
    contact = optouts.contact_from_token(token)
    if contact is None:
        return _page(token, "unknown", status=404)
    optouts.resubscribe(contact)
    db.session.commit()
    return _page(token, "again", contact)

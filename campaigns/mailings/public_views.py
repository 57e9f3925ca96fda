"""What a mailing's recipient can do from its links: unsubscribe (one click, RFC 8058) and manage
their email preferences. No sign-in: the signed token in the link is the proof."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from campaigns.core.errors import render_error
from campaigns.extensions import csrf, db
from campaigns.mailings.message import delivery_id_from_token
from campaigns.mailings.models import Delivery, SuppressionReason
from campaigns.mailings.suppression import lift_unsubscribe, suppress, suppression_of

bp = Blueprint("mailings_public", __name__, url_prefix="/<lang>")


def _delivery_or_404(token: str) -> Delivery | None:
    delivery_id = delivery_id_from_token(token)
    return db.session.get(Delivery, delivery_id) if delivery_id is not None else None


def _link_problem() -> ResponseReturnValue:
    return render_template("petitions/link_problem.html", problem="invalid"), 404


@bp.route("/u/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: mail providers POST here with no cookie and no token
def unsubscribe(token: str) -> ResponseReturnValue:
    delivery = _delivery_or_404(token)
    if delivery is None:
        return _link_problem()
    if request.method == "GET":
        # Never unsubscribes by itself: link scanners and previews open every link.
        return render_template("mailings/unsubscribe.html", token=token)
    suppress(delivery.email, SuppressionReason.UNSUBSCRIBED, mailing_id=delivery.mailing_id)
    db.session.commit()  # before answering: from now on nothing more is sent to the address
    return render_template("mailings/unsubscribed.html", token=token)


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str) -> ResponseReturnValue:
    delivery = _delivery_or_404(token)
    if delivery is None:
        return _link_problem()
    changed = None
    if request.method == "POST":
        choice = request.form.get("newsletter")
        if choice == "off":
            suppress(delivery.email, SuppressionReason.UNSUBSCRIBED, mailing_id=delivery.mailing_id)
            changed = "off"
        elif choice == "on":
            lift_unsubscribe(delivery.email)
            changed = "on"
        else:
            return render_error(400)
        db.session.commit()
    suppression = suppression_of(delivery.email)
    return render_template(
        "mailings/preferences.html",
        token=token,
        suppression=suppression,
        changed=changed,
        can_resubscribe=suppression is not None
        and suppression.reason == SuppressionReason.UNSUBSCRIBED,
    )

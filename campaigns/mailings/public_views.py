"""What a mailing's recipient can do from its links: unsubscribe (one click, RFC 8058); their
preferences are on the supporter's preferences page (campaigns.privacy). No sign-in: the signed
token in the link is the proof.

The unsubscribe token travels in the List-Unsubscribe header, read by mail providers, gateways
and link scanners: on the preferences page it opens the newsletter choice only (on or off),
never the signatures, letters and consents, which only the preferences link opens."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from campaigns.extensions import csrf, db
from campaigns.mailings.message import delivery_id_from_token
from campaigns.mailings.models import Delivery, SuppressionReason
from campaigns.mailings.suppression import suppress

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


@bp.route("/u/<token>/preferences")
def preferences(token: str) -> ResponseReturnValue:
    """The unsubscribe pages once linked here: on to the newsletter choice of the preferences
    page, which is all this token opens there (the unsubscribe pages now link to it directly)."""
    return redirect(url_for("privacy.preferences", token=token), 303)

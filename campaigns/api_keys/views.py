"""Staff pages of the API keys (admins only): the list, making a key (shown once, on the answer
to the form), and revoking one after saying what that means."""

from __future__ import annotations

import uuid

import redis
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from campaigns.api_keys import services
from campaigns.api_keys.forms import SCOPE_HELP, ApiKeyForm
from campaigns.api_keys.models import ApiKey, KeyStatus
from campaigns.core.redis import get_redis, key
from campaigns.extensions import db
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.confirmation import Question, ask, confirmed
from campaigns.staff.models import Capability

bp = Blueprint("api_keys", __name__, url_prefix="/staff/api-keys")
MANAGE = Capability.MANAGE_API_KEYS
# How long "this form was sent" is remembered (a double click, a reloaded answer).
ONCE_SECONDS = 24 * 3600


@bp.context_processor
def _labels() -> dict[str, object]:
    return {"status_label": _status_label, "scope_help": SCOPE_HELP}


def _status_label(status: KeyStatus) -> str:
    labels = {
        KeyStatus.ACTIVE: _("Active"),
        KeyStatus.EXPIRED: _("Expired"),
        KeyStatus.REVOKED: _("Revoked"),
        KeyStatus.SUSPENDED: _("Suspended: its network is deactivated"),
    }
    return labels[status]


@bp.route("/")
@staff_required(MANAGE)
def index() -> ResponseReturnValue:
    return render_template("api_keys/index.html", keys=services.all_keys())


def _first_send(once: str) -> bool:
    """True the first time a form with this token is sent (an empty token always passes)."""
    if not once:
        return True
    try:
        return bool(get_redis().set(key("api-key-made", once), 1, nx=True, ex=ONCE_SECONDS))
    except redis.RedisError:
        return True  # a second key by mistake can be revoked; refusing the first one cannot help


@bp.route("/new", methods=["GET", "POST"])
@staff_required(MANAGE)
def new() -> ResponseReturnValue:
    form = ApiKeyForm()
    form.fill_choices()
    if request.method == "GET":
        form.once.data = uuid.uuid4().hex
    staff = current_staff()
    # The shared rules run even when a field is refused, so every mistake is named at once.
    if form.is_submitted() and all([form.validate(), form.check(staff.timezone)]):
        if not _first_send(form.once.data or ""):
            flash(_("This key was made already, and shown once: no other key was made."), "info")
            return redirect(url_for(".index"), 303)
        api_key, token = services.create_key(
            form.name.data,
            form.scopes.data,
            form.chosen_network(),
            form.expires_at(staff.timezone),
            created_by=staff,
        )
        db.session.commit()
        # The key is in this answer and nowhere else: no redirect to a page that would need it
        # stored (the session cookie is signed, not encrypted), and no copy kept by a cache.
        response = render_template("api_keys/created.html", api_key=api_key, token=token)
        return response, 200, {"Cache-Control": "no-store"}
    errors = any(field.errors for field in form)
    return render_template("api_keys/form.html", form=form), 422 if errors else 200


def _key_or_404(key_id: int) -> ApiKey:
    api_key = db.session.get(ApiKey, key_id)
    if api_key is None:
        abort(404)
    return api_key


@bp.route("/<int:key_id>/revoke", methods=["POST"])
@staff_required(MANAGE)
def revoke(key_id: int) -> ResponseReturnValue:
    api_key = _key_or_404(key_id)
    if api_key.revoked_at is not None:
        flash(_("Nothing to change: it was already so."), "info")
        return redirect(url_for(".index"), 303)
    if not confirmed():
        owner = api_key.network.name if api_key.network else _("an integration of the platform")
        return ask(
            Question(
                title=_(
                    "Revoke the key %(prefix)s (%(name)s)?",
                    prefix=api_key.prefix,
                    name=api_key.name,
                ),
                consequences=[
                    _(
                        "Every request with it is refused from now on: the server of %(owner)s "
                        "that uses it gets “401 Unauthorized”.",
                        owner=owner,
                    ),
                    _("A revoked key cannot be used again: make a new key to replace it."),
                ],
                button=_("Yes, revoke it"),
                back_url=url_for(".index"),
                danger=True,
            )
        )
    services.revoke(api_key, current_staff())
    db.session.commit()
    flash(_("The key %(prefix)s is revoked.", prefix=api_key.prefix), "success")
    return redirect(url_for(".index"), 303)

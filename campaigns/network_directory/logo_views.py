"""The logo page of a network: upload (checked and redrawn, see `logo`), replace, remove."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from campaigns.core.errors import render_error
from campaigns.extensions import db
from campaigns.network_directory import logo as logos
from campaigns.network_directory.blueprint import OWN, bp, network_or_403
from campaigns.network_directory.forms import LogoForm
from campaigns.staff.auth import staff_required

# The request that carries a logo may be larger than the site's usual limit (MAX_CONTENT_LENGTH,
# 256 KB), so that a file just over the logo's own limit gets a clear answer on the form rather
# than a bare "too large". A larger request is still refused before it is read.
UPLOAD_REQUEST_LIMIT = 2 * 1024 * 1024


@bp.url_value_preprocessor
def _allow_logo_uploads(endpoint: str | None, _values: dict | None) -> None:
    # Runs before any before_request function: the CSRF check reads the form, and with it the
    # upload, so the limit must be raised before that.
    if endpoint == "network_directory.logo" and request.method == "POST":
        request.max_content_length = UPLOAD_REQUEST_LIMIT


@bp.errorhandler(RequestEntityTooLarge)
def _upload_too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    if request.endpoint != "network_directory.logo":
        return render_error(413)
    return render_error(
        413,
        _("That file is too large"),
        _(
            "A logo may be at most %(max)d KB. Please go back and choose a smaller PNG, JPEG "
            "or WebP image.",
            max=logos.MAX_BYTES // 1024,
        ),
    )


@bp.route("/<int:network_id>/logo", methods=["GET", "POST"])
@staff_required(OWN)
def logo(network_id: int) -> ResponseReturnValue:
    network = network_or_403(network_id)
    form = LogoForm()
    if form.validate_on_submit():
        upload = form.logo.data
        if not upload or not upload.filename:
            form.logo.errors.append(_("Please choose an image file."))
        else:
            # The route accepts a few MB at most (its own request limit), so the whole file is read
            # and the message can say its real size.
            data = upload.stream.read()
            try:
                clean = logos.check_logo(data)
            except logos.LogoError as error:
                form.logo.errors.append(str(error))
            else:
                if logos.set_logo(network, clean):
                    db.session.commit()
                    flash(_("The logo of %(name)s was saved.", name=network.name), "success")
                else:
                    flash(_("That is the logo it has already."), "info")
                return redirect(url_for(".logo", network_id=network.id), 303)
    return (
        render_template(
            "network_directory/logo.html",
            network=network,
            form=form,
            max_kb=logos.MAX_BYTES // 1024,
            max_side=logos.MAX_SIDE,
        ),
        422 if form.logo.errors else 200,
    )


@bp.route("/<int:network_id>/logo/remove", methods=["POST"])
@staff_required(OWN)
def remove_logo(network_id: int) -> ResponseReturnValue:
    network = network_or_403(network_id)
    if logos.remove_logo(network):
        db.session.commit()
        flash(_("The logo of %(name)s was removed.", name=network.name), "success")
    else:
        flash(_("Nothing to change: it has no logo."), "info")
    return redirect(url_for(".logo", network_id=network.id), 303)

"""Friendly, localised error pages. Nothing a visitor sends produces a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, has_request_context, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Something was wrong with that request"), _("Please go back and try again.")),
        404: (
            _("Page not found"),
            _("This page does not exist, or the campaign is no longer online."),
        ),
        405: (_("Something was wrong with that request"), _("Please go back and try again.")),
        413: (_("That was too much"), _("What you sent is too large. Please shorten it.")),
        429: (
            _("Too many attempts"),
            _(
                "You have tried this too often in a short time. Please wait a few minutes and try "
                "again. What you typed was not lost: go back to find it."
            ),
        ),
        500: (
            _("Something went wrong on our side"),
            _("We have been told and will fix it. Please try again in a few minutes."),
        ),
    }


def _staff_messages() -> dict[int, tuple[str, str]]:
    return {
        404: (
            _("Page not found"),
            _("This page does not exist, or what it showed was deleted. Use the menu to go on."),
        ),
    }


def render_error(
    code: int, title: str | None = None, message: str | None = None
) -> tuple[str, int]:
    staff = has_request_context() and request.path.startswith("/staff/")
    messages = _staff_messages() if staff else _messages()
    default_title, default_message = messages.get(code, _messages().get(code, _messages()[400]))
    title, message = title or default_title, message or default_message
    # In the workspace, its own frame: the menu stays, and the words speak to staff.
    template = "errors/staff_error.html" if staff and code < 500 else "errors/error.html"
    try:
        page = render_template(template, code=code, title=title, message=message)
    except Exception:
        log.exception("could not render the error page for %s", code)
        page = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1>"
    return page, code


def expired_form_page() -> tuple[str, int]:
    """A form sent with a missing or stale CSRF token, where it cannot be shown again."""
    return render_error(
        400,
        _("This form has expired"),
        _(
            "For your security, forms expire after a while. Please go back, reload the page "
            "and send it again."
        ),
    )


def init_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> ResponseReturnValue:
        return expired_form_page()

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        if error.code and error.code < 400:
            return error
        response = render_error(error.code or 500)
        if error.code == 429:
            return response[0], 429, {"Retry-After": "60"}
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> ResponseReturnValue:
        if isinstance(error, HTTPException):
            return http_error(error)
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=error)
        return render_error(InternalServerError.code)

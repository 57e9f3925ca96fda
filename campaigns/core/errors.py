"""Friendly, localised error pages for people, and RFC 9457 problem details (JSON) for clients
of the API under /api/. Nothing anyone sends produces a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, has_request_context, json, render_template, request
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


PROBLEM_JSON = "application/problem+json"
API_PREFIX = "/api/"


def is_api_request() -> bool:
    return has_request_context() and request.path.startswith(API_PREFIX)


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **members: object,
) -> Response:
    """An RFC 9457 problem details answer. `title` defaults to the status's standard phrase;
    `members` are extension members (`errors`: the fields that were wrong, and why)."""
    from werkzeug.http import HTTP_STATUS_CODES

    body = {
        "type": "about:blank",
        "title": title or HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **members,
    }
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    response.headers.update(headers or {})
    return response


# What an API client is told for each status when the code that refused said nothing more.
_API_DETAILS = {
    400: "The request could not be understood.",
    401: "This needs an API key: send it as `Authorization: Bearer <key>`.",
    403: "This API key may not do that.",
    404: "There is nothing at this address.",
    405: "This address does not take that method.",
    406: "This address answers only in JSON.",
    413: "The request is too large.",
    415: "Send the body as JSON (`Content-Type: application/json`).",
    422: "Some of what was sent is not valid: see `errors`.",
    429: "Too many requests: wait for the time in `Retry-After`.",
    500: "Something went wrong on our side. It has been logged; please try again later.",
}


def api_problem(error: HTTPException) -> Response:
    """An HTTP error raised in the API (or for an /api/ address that does not exist) as a problem.
    flask-smorest's `abort(code, message=..., errors=..., headers=...)` puts what it was given
    in `error.data`; webargs puts the fields that failed validation in `messages`."""
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    members: dict[str, object] = {}
    errors = data.get("errors") or data.get("messages")
    if errors:
        # webargs keys them by location first ({"json": {"email": [...]}}): clients want fields.
        locations = {"json", "query", "form", "headers"}
        if isinstance(errors, dict) and set(errors) <= locations:
            errors = {
                key: value
                for location, fields in errors.items()
                # A body that is no JSON at all: {"json": ["Invalid JSON body."]}.
                for key, value in (
                    fields.items() if isinstance(fields, dict) else [(location, fields)]
                )
            }
        members["errors"] = errors
    detail = data.get("message") or _API_DETAILS.get(code) or error.description or ""
    # The exception's own headers (`Allow` of a 405, `WWW-Authenticate`), then those given.
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    return problem(code, detail, headers=headers, **members)


def init_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> ResponseReturnValue:
        return expired_form_page()

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        if error.code and error.code < 400:
            return error
        if is_api_request():
            return api_problem(error)
        response = render_error(error.code or 500)
        if error.code == 429:
            return response[0], 429, {"Retry-After": "60"}
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> ResponseReturnValue:
        if isinstance(error, HTTPException):
            return http_error(error)
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=error)
        if is_api_request():
            return api_problem(InternalServerError())
        return render_error(InternalServerError.code)

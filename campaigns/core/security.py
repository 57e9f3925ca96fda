"""Security headers for every response."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, abort, request

# No inline script or style anywhere: the pages work without JavaScript, and what styling they
# need comes from our own stylesheet. Nothing is loaded from a third party.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# Added to every response that does not set its own.
_DEFAULTS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    # Supporters arrive from sensitive pages and go on to share links: tell no other site where
    # from. Our own forms still send it, since CSRF protection over HTTPS checks the referrer.
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)


def _has_nul(values: Iterable[str]) -> bool:
    return any("\x00" in value for value in values)


def init_security_headers(app: Flask) -> None:
    @app.before_request
    def refuse_nul_bytes() -> None:
        # No field of ours may hold a NUL, and PostgreSQL refuses them outright: answer 400 here
        # rather than fail deep in a query.
        if (
            "\x00" in request.path
            or _has_nul(v for values in request.args.listvalues() for v in values)
            or (
                request.method == "POST"
                and _has_nul(v for values in request.form.listvalues() for v in values)
            )
        ):
            abort(400)

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        # One look at the headers the response has, rather than one scan per header we add.
        present = {name.lower() for name, _value in headers.items()}
        headers.extend([(name, value) for name, value in _DEFAULTS if name.lower() not in present])
        if request.path.startswith("/staff/"):
            # Staff pages hold personal data (exports, the mail catcher's messages with working
            # links): never kept in a shared or back/forward cache.
            headers["Cache-Control"] = "no-store"
        if request.is_secure and "strict-transport-security" not in present:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        return response

"""Security headers for every response."""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import Flask, Response, abort, request

# No inline script or style anywhere: the pages work without JavaScript, and what styling they
# need comes from our own stylesheet. Nothing is loaded from a third party.
_POLICY_WITHOUT_FRAMING = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
)

# A web origin as a CSP source: scheme, host (a name, an IPv4 or a bracketed IPv6 address) and
# an optional port, nothing else. Anything else could add directives (a ";") or sources (a space).
_ORIGIN = re.compile(r"https?://(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")


def policy_framed_by(origins: Iterable[str]) -> str:
    """The site's Content-Security-Policy, letting the site itself and `origins` (such as
    "https://example.org") frame the page; with no usable origin, nobody may frame it. An entry
    that is not a plain origin is left out rather than trusted into the header."""
    usable = []
    for origin in origins:
        origin = origin.strip().rstrip("/").lower()
        if _ORIGIN.fullmatch(origin) and origin not in usable:
            usable.append(origin)
    ancestors = " ".join(["'self'", *usable]) if usable else "'none'"
    return "; ".join([*_POLICY_WITHOUT_FRAMING, f"frame-ancestors {ancestors}"])


# Every page but the embeddable forms: no site may frame it (clickjacking).
CONTENT_SECURITY_POLICY = policy_framed_by(())


def _allows_framing(policy: str) -> bool:
    """Whether a response's own policy lets some site frame it (frame-ancestors not 'none')."""
    for directive in policy.split(";"):
        name, _space, sources = directive.strip().partition(" ")
        if name.lower() == "frame-ancestors":
            return sources.strip() != "'none'"
    return False


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
# X-Frame-Options can only forbid framing (or allow it to the page's own origin): a response
# whose own policy names who may frame it (the embeddable form: `policy_framed_by`) gets none,
# which would contradict it. Browsers that know frame-ancestors (all current ones) follow it and
# ignore X-Frame-Options anyway; an old one that knows neither header frames the page.
_DEFAULTS_FOR_FRAMED = tuple(item for item in _DEFAULTS if item[0] != "X-Frame-Options")


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
        own_policy = headers.get("Content-Security-Policy")
        defaults = _DEFAULTS_FOR_FRAMED if own_policy and _allows_framing(own_policy) else _DEFAULTS
        headers.extend([(name, value) for name, value in defaults if name.lower() not in present])
        if request.path.startswith("/staff/"):
            # Staff pages hold personal data (exports, the mail catcher's messages with working
            # links): never kept in a shared or back/forward cache.
            headers["Cache-Control"] = "no-store"
        if request.is_secure and "strict-transport-security" not in present:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        return response

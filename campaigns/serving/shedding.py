"""Load shedding: a request that already waited too long is refused at once, before any work.

Under a surge, queueing every request makes every visitor wait, for longer and longer, and the
ones who give up still cost the server their whole request. Refusing what cannot be answered in
time keeps the answers that are given fast: `LoadShedder` wraps the app (outermost, before
Flask, the session or the database) and answers a request that waited more than `SHED_AFTER_MS`
with a 503, `Retry-After` and the busy page (`busy_page`), which gives a POST's fields back in a
"Try again" form. Nothing of the app runs for it, so no signature is half made: a request is
either refused whole or served whole.

A first visit (no session cookie yet) is refused after half the bound already: in a surge the
door closes on newcomers first, and the visitors already on their way (the POST of the form
they were given, the check-email page after it) are the last to be refused. Otherwise a
visitor could sign and then be refused the page that says to check their email.

How long a request waited comes from the gunicorn worker (`worker.QueueTimedWorker`: its time in
the worker's queue) and, when `SHED_TRUST_X_REQUEST_START` is on, from the `X-Request-Start`
header a reverse proxy sets when the request reached it (nginx: `t=${msec}`); the longer of the
two counts. Without either (the sync worker, the test client), nothing is ever shed.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from werkzeug.http import parse_cookie

from campaigns.core.metrics import count_shed_request
from campaigns.serving.busy_page import BusyPages
from campaigns.serving.worker import WAITED_KEY

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Never refused: probes must see the process as it is, metrics must be scraped during a surge,
# and a static file costs less to serve than to refuse.
EXEMPT_PREFIXES = ("/healthz", "/readyz", "/metrics", "/static/")
# At most one log line per this many seconds, however many requests are refused meanwhile.
LOG_EVERY_S = 10.0


def parse_request_start(header: str) -> float | None:
    """The moment (seconds since the epoch) in an `X-Request-Start` header: `t=1700000000.123`
    (nginx's `${msec}`), or whole milliseconds or microseconds since the epoch; None if it is
    none of these."""
    try:
        number = float(header.strip().removeprefix("t="))
    except ValueError:
        return None
    if not math.isfinite(number) or number <= 0:
        return None
    while number > 1e11:  # milliseconds or microseconds: seconds would be beyond the year 5000
        number /= 1000
    return number


def waited(environ: dict[str, Any], trust_request_start: bool) -> float:
    """Seconds this request waited before the app saw it (0 when nobody timed it)."""
    seconds = float(environ.get(WAITED_KEY) or 0.0)
    if trust_request_start:
        started = parse_request_start(environ.get("HTTP_X_REQUEST_START") or "")
        if started is not None:
            seconds = max(seconds, time.time() - started)
    return max(seconds, 0.0)


class LoadShedder:
    """WSGI middleware: refuse with 503 what waited more than `after_s` seconds."""

    def __init__(
        self,
        app: WSGIApp,
        pages: BusyPages,
        after_s: float,
        retry_after: int,
        trust_request_start: bool,
        session_cookie: str = "session",
    ) -> None:
        self.app = app
        self.pages = pages
        self.after_s = after_s
        self.retry_after = retry_after
        self.trust_request_start = trust_request_start
        self.session_cookie = session_cookie
        self._lock = threading.Lock()
        self._refused = 0
        self._longest = 0.0
        self._since = time.monotonic() - LOG_EVERY_S  # so that the first refusal is logged

    @classmethod
    def wrap(cls, app: Flask) -> LoadShedder:
        """Wrap `app.wsgi_app` with the settings of `app.config`."""
        return cls(
            app.wsgi_app,
            BusyPages(app),
            after_s=app.config["SHED_AFTER_MS"] / 1000,
            retry_after=app.config["SHED_RETRY_AFTER"],
            trust_request_start=app.config["SHED_TRUST_X_REQUEST_START"],
            session_cookie=app.config["SESSION_COOKIE_NAME"],
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.after_s > 0:
            seconds = waited(environ, self.trust_request_start)
            if (
                seconds > self.after_s / 2
                and (seconds > self.after_s or self._first_visit(environ))
                and not environ.get("PATH_INFO", "").startswith(EXEMPT_PREFIXES)
            ):
                return self.refuse(environ, start_response, seconds)
        return self.app(environ, start_response)

    def _first_visit(self, environ: dict[str, Any]) -> bool:
        return self.session_cookie not in parse_cookie(environ)

    def refuse(
        self, environ: dict[str, Any], start_response: Callable[..., Any], seconds: float
    ) -> list[bytes]:
        lang, page = self.pages.render(environ)
        start_response(
            "503 Service Unavailable", self.pages.headers(lang, len(page), self.retry_after)
        )
        count_shed_request()
        self._note(seconds)
        return [page]

    def _note(self, seconds: float) -> None:
        """Count the refusal; log how many there were at most every LOG_EVERY_S seconds."""
        with self._lock:
            self._refused += 1
            self._longest = max(self._longest, seconds)
            now = time.monotonic()
            if now - self._since < LOG_EVERY_S:
                return
            refused, longest, since = self._refused, self._longest, self._since
            self._refused, self._longest, self._since = 0, 0.0, now
        log.warning(
            "overloaded: refused %d request(s) in the last %.0f s that had waited more than "
            "%.0f ms (the longest %.0f ms)",
            refused,
            now - since,
            self.after_s * 1000,
            longest * 1000,
        )

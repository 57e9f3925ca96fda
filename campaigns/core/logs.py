"""Logging: one line per request, a request id that follows the work into Celery tasks, text or
JSON lines (LOG_FORMAT), and no personal data in any line.

The request id comes from an incoming `X-Request-ID` header when it is a sane token (a proxy's),
else it is made up; the response carries it back. Every task published while it is current
carries it in a message header (`before_task_publish`, whoever publishes), and the worker makes
it current while the task runs (workers/log_context.py): each line logged meanwhile shows it.

What a request line says of the URL is the route with its public parts filled in (ids, slugs,
language) and the others left as placeholders, never the query string: links in mails carry
their tokens in the path or the query. As a safety net, the formatter replaces anything shaped
like an email address or a signed token in every line (an SMTP error quoting a recipient, a
traceback naming a path).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from urllib.parse import quote

from celery.signals import before_task_publish
from flask import Flask, Response, g, request

from campaigns.core.redact import redact_addresses

REQUEST_ID_HEADER = "X-Request-ID"
# The Celery message header that carries the request id into a task.
TASK_HEADER = "request_id"

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# What a proxy may hand us as a request id: a UUID, nginx's $request_id, and the like.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

# itsdangerous tokens (payload[.timestamp].signature; the signature alone is 27 characters).
_SIGNED_TOKEN = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)?\.[A-Za-z0-9_-]{27,}")
# A route's argument in its rule: <name> or <converter:name>.
_RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
# Route arguments whose values are public and worth reading in a log (ids are too: any int).
PUBLIC_ARGUMENTS = frozenset({"lang", "slug", "network_slug", "locale", "code"})
# In a URL no route matched, a path segment this long may be a token: it is not logged.
_LONG_SEGMENT = 24

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"

requests_log = logging.getLogger("campaigns.requests")


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> None:
    """Make `value` the current request id (a worker does, for the task it runs)."""
    _request_id.set(value)


def sane_request_id(value: str | None) -> str | None:
    """`value` if it is fit to be a request id, else None."""
    return value if value and _SANE_REQUEST_ID.fullmatch(value) else None


def redact(text: str) -> str:
    """`text` without email addresses and signed tokens."""
    return _SIGNED_TOKEN.sub("<token>", redact_addresses(text) or "")


# -- formatting ----------------------------------------------------------------------------------


def _with_request_id(record: logging.LogRecord) -> logging.LogRecord:
    # The request line names its id itself; any other line is about the current request or task.
    if getattr(record, "request_id", None) is None:
        record.request_id = _request_id.get() or "-"
    return record


class TextFormatter(logging.Formatter):
    """The classic one-line format, redacted."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(_with_request_id(record)))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request_id, message, the fields a record
    carries (`extra={"fields": {...}}`) and its traceback, redacted."""

    def format(self, record: logging.LogRecord) -> str:
        _with_request_id(record)
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": record.request_id,
            "message": redact(record.getMessage()),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


_format = "text"


def configure_logging(log_format: str | None = None, level: int | str = logging.INFO) -> None:
    """Log to stderr in `log_format` ("text" or "json"; the last one chosen when None). Like
    logging.basicConfig, it leaves a root logger that has other handlers alone (a test runner's),
    but replaces the handler it installed itself."""
    global _format
    if log_format is not None:
        if log_format not in ("text", "json"):
            raise RuntimeError(f"LOG_FORMAT must be text or json, not {log_format!r}")
        _format = log_format
    root = logging.getLogger()
    root.setLevel(level)
    ours = [h for h in root.handlers if getattr(h, "campaigns", False)]
    if len(ours) < len(root.handlers):
        return
    for handler in ours:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.campaigns = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if _format == "json" else TextFormatter())
    root.addHandler(handler)


# -- requests ------------------------------------------------------------------------------------


def loggable_path() -> str:
    """The request's path, fit for a log: the route's, with its public arguments as they were
    given and the others as placeholders ("/en/confirm/<token>"), no query string. A URL no
    route matched is logged without its long segments."""
    path_segments = request.path.split("/")
    rule = request.url_rule
    if rule is None:
        segments = [
            "<long>" if len(s) >= _LONG_SEGMENT else quote(s, safe="") for s in path_segments
        ]
        return redact("/".join(segments))[:200]
    rule_segments = rule.rule.split("/")
    if len(rule_segments) != len(path_segments):  # an argument spanning segments
        return rule.rule
    # Read from the path: a url_value_preprocessor may have taken an argument out of view_args.
    return "/".join(
        quote(given, safe="") if _is_public(segment) else segment
        for segment, given in zip(rule_segments, path_segments, strict=True)
    )


def _is_public(rule_segment: str) -> bool:
    """Whether a rule's segment is one public argument (`<lang>`, `<int:campaign_id>`)."""
    match = _RULE_ARGUMENT.fullmatch(rule_segment)
    return match is not None and (
        match.group(1) in PUBLIC_ARGUMENTS or rule_segment.startswith("<int:")
    )


def _begin_request() -> None:
    g.request_started = time.perf_counter()
    g.request_id = sane_request_id(request.headers.get(REQUEST_ID_HEADER)) or uuid.uuid4().hex
    _request_id.set(g.request_id)


def _log_request(response: Response) -> Response:
    started = g.get("request_started")
    if started is None:  # a before_request function answered before ours ran
        _begin_request()
        started = g.request_started
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    response.headers[REQUEST_ID_HEADER] = g.request_id
    method, path, endpoint = request.method, loggable_path(), request.endpoint or "-"
    requests_log.info(
        "%s %s %s %.1f ms (%s)",
        method,
        path,
        response.status_code,
        duration_ms,
        endpoint,
        extra={
            "request_id": g.request_id,
            "fields": {
                "method": method,
                "path": path,
                "endpoint": endpoint,
                "status": response.status_code,
                "duration_ms": duration_ms,
            },
        },
    )
    return response


def _end_request(_exc: BaseException | None) -> None:
    _request_id.set(None)


@before_task_publish.connect
def _tag_task(headers: dict | None = None, **_kwargs: object) -> None:
    # Whoever publishes (send_task, the outbox, a task queueing the next): the work keeps the id
    # of the request (or task) that caused it.
    request_id = _request_id.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


def init_request_logging(app: Flask) -> None:
    """Log every request, with its id."""
    # First of all before_request functions, so that even a request another one answers (load
    # shedding, say) has its id.
    app.before_request_funcs.setdefault(None, []).insert(0, _begin_request)
    app.after_request(_log_request)
    app.teardown_request(_end_request)

"""The visitor's journey, open loop: GET the petition page with a fresh cookie jar, POST the form
with the CSRF token from that page, follow the 303 to the check-email page.

`run_journeys(base_url, path, rate, count, tag=...)` starts `count` journeys at exactly `rate` a
second, whatever the server does (no coordinated omission), and returns a `JourneyStats` with one
`Journey` per visitor: its scheduled start, the email it signed with, and each step's status and
latency. A journey's first answer is timed from the journey's scheduled start; the next ones from
the moment the visitor sent them (a browser sends them as soon as the previous answer came), and
the whole journey from its scheduled start.

The client is raw HTTP/1.1 on asyncio streams (as bench/loadgen.py), light enough to share the
machine with the server it measures: one connection per visitor, kept alive between its steps when
the server allows it, as a browser does. A 503 or 429 ends the journey (the visitor sees the "try
again" page); `Retry-After` is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from bench import report
from bench.loadgen import SIGN_FIELDS, bench_email

_CSRF_RE = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')
SHED_STATUSES = (503, 429)
STEPS = ("page", "sign", "check")


@dataclass
class Step:
    name: str  # "page", "sign" or "check"
    status: int  # 0: no answer (connection error or timeout)
    latency_s: float  # "page": from the journey's scheduled start; others: from being sent
    sent_at: float  # wall clock (time.time()) when the request was written
    retry_after: str | None = None  # the Retry-After header of a 503/429

    @property
    def shed(self) -> bool:
        return self.status in SHED_STATUSES


@dataclass
class Journey:
    n: int
    email: str
    scheduled: float  # seconds after the run's start when this journey was due
    lateness_s: float  # how late the generator started it (its own health)
    steps: list[Step] = field(default_factory=list)
    total_s: float = 0.0  # from the scheduled start to the end of the last answer
    error: str = ""  # why the journey stopped early, if it did for another reason than a status

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)

    @property
    def signed(self) -> bool:
        """The POST was answered 303: the signature must be stored."""
        sign = self.step("sign")
        return sign is not None and sign.status == 303

    @property
    def completed(self) -> bool:
        """The visitor saw the check-email page (the success page)."""
        check = self.step("check")
        return check is not None and check.status == 200

    @property
    def shed(self) -> bool:
        return any(s.shed for s in self.steps)

    @property
    def posted_at(self) -> float | None:
        """Wall clock of the sign POST (for the POST-to-mail delay)."""
        sign = self.step("sign")
        return sign.sent_at if sign is not None else None


@dataclass
class JourneyStats:
    rate: float
    journeys: list[Journey]
    started_at: float  # wall clock of the first scheduled start
    duration_s: float  # from the first scheduled start to the last answer

    @property
    def answers(self) -> list[Step]:
        return [s for j in self.journeys for s in j.steps]

    def answer_ms(self, pct: float) -> float:
        """Percentile of every answer's latency (all steps, all statuses), ms."""
        return report.percentile([s.latency_s * 1000 for s in self.answers], pct)

    def journey_ms(self, pct: float) -> float:
        """Percentile of the whole journey, over the journeys that reached the success page."""
        return report.percentile([j.total_s * 1000 for j in self.journeys if j.completed], pct)

    def step_ms(self, name: str, pct: float) -> float:
        return report.percentile([s.latency_s * 1000 for s in self.answers if s.name == name], pct)

    def statuses(self) -> Counter[int]:
        return Counter(s.status for s in self.answers)

    def share(self, lo: int, hi: int) -> float:
        answers = self.answers
        if not answers:
            return 0.0
        return sum(1 for s in answers if lo <= s.status <= hi) / len(answers)

    @property
    def completed(self) -> list[Journey]:
        return [j for j in self.journeys if j.completed]

    @property
    def signed(self) -> list[Journey]:
        return [j for j in self.journeys if j.signed]

    @property
    def shed(self) -> list[Journey]:
        return [j for j in self.journeys if j.shed]

    @property
    def shed_without_retry_after(self) -> int:
        return sum(1 for s in self.answers if s.shed and not s.retry_after)

    def max_lateness_ms(self) -> float:
        return max((j.lateness_s for j in self.journeys), default=0.0) * 1000


# -- HTTP -----------------------------------------------------------------------------------------


@dataclass
class _Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    keep_alive: bool

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)


async def _read_answer(reader: asyncio.StreamReader) -> _Answer:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("closed before answering")
    status = int(status_line.split()[1])
    keep_alive = status_line.startswith(b"HTTP/1.1")
    headers: list[tuple[str, str]] = []
    length: int | None = None
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip()
        headers.append((name, value))
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            keep_alive = value.lower() == "keep-alive"
        elif name == "transfer-encoding":
            chunked = "chunked" in value.lower()
    if chunked:
        parts = []
        while size := int((await reader.readline()).split(b";")[0].strip() or b"0", 16):
            parts.append(await reader.readexactly(size))
            await reader.readline()
        await reader.readline()
        body = b"".join(parts)
    elif length is not None:
        body = await reader.readexactly(length)
    else:
        body, keep_alive = await reader.read(), False
    return _Answer(status, headers, body, keep_alive)


class _Visitor:
    """One browser: a cookie jar and one keep-alive connection, reopened when the server closes."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}
        self.conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> _Answer:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        head += "Accept-Language: en\r\n"
        if self.cookies:
            head += "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n"
        if method == "POST":
            head += "Content-Type: application/x-www-form-urlencoded\r\n"
            head += f"Content-Length: {len(body)}\r\n"
        raw = head.encode() + b"\r\n" + body
        for attempt in range(2):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = await asyncio.open_connection(self.host, self.port)
            reader, writer = self.conn
            try:
                writer.write(raw)
                await writer.drain()
                answer = await _read_answer(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                # A kept-alive connection the server had just closed: send it once more.
                if reused and attempt == 0:
                    continue
                raise
            if not answer.keep_alive:
                self.close()
            for name, value in answer.headers:
                if name == "set-cookie":
                    key, _, val = value.split(";", 1)[0].partition("=")
                    self.cookies[key.strip()] = val.strip()
            return answer
        raise ConnectionResetError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn[1].close()
            self.conn = None


# -- the journeys ---------------------------------------------------------------------------------


async def _journey(
    visitor: _Visitor,
    journey: Journey,
    path: str,
    fields: str,
    scheduled: float,
    request_timeout: float,
) -> None:
    loop = asyncio.get_running_loop()
    step_from = scheduled
    request: tuple[str, str, bytes] = ("GET", path, b"")
    for name in STEPS:
        sent_at = time.time()
        try:
            answer = await asyncio.wait_for(visitor.request(*request), request_timeout)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError, IndexError) as exc:
            journey.steps.append(Step(name, 0, loop.time() - step_from, sent_at))
            journey.error = f"{name}: {type(exc).__name__}"
            break
        step = Step(name, answer.status, loop.time() - step_from, sent_at)
        step.retry_after = answer.header("retry-after")
        journey.steps.append(step)
        step_from = loop.time()
        if name == "page":
            match = _CSRF_RE.search(answer.body)
            if answer.status != 200 or match is None:
                journey.error = "" if step.shed else "page: no form"
                break
            token = quote(match.group(1).decode())
            form = f"csrf_token={token}&email={quote(journey.email)}&{fields}".encode()
            request = ("POST", path, form)
        elif name == "sign":
            location = answer.header("location")
            if answer.status != 303 or not location:
                break
            request = ("GET", urlsplit(location).path or location, b"")
    journey.total_s = loop.time() - scheduled
    visitor.close()


async def journeys_async(
    base_url: str,
    path: str,
    rate: float,
    count: int,
    tag: str,
    request_timeout: float = 10.0,
    fields: str = SIGN_FIELDS,
    on_journey: Callable[[Journey], None] | None = None,
) -> JourneyStats:
    """`run_journeys` for a caller that already runs an event loop."""
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    loop = asyncio.get_running_loop()
    journeys: list[Journey] = []
    tasks: list[asyncio.Task[None]] = []
    start = loop.time() + 0.05
    wall_start = time.time() + 0.05

    async def one(journey: Journey, scheduled: float) -> None:
        visitor = _Visitor(host, port)
        try:
            await _journey(visitor, journey, path, fields, scheduled, request_timeout)
        finally:
            visitor.close()
        if on_journey is not None:
            on_journey(journey)

    for n in range(count):
        scheduled = start + n / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        journey = Journey(n, bench_email(tag, n), scheduled - start, loop.time() - scheduled)
        journeys.append(journey)
        tasks.append(asyncio.create_task(one(journey, scheduled)))
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks)
    return JourneyStats(rate, journeys, wall_start, loop.time() - start)


def run_journeys(
    base_url: str,
    path: str,
    rate: float,
    count: int,
    tag: str = "journey",
    request_timeout: float = 10.0,
    fields: str = SIGN_FIELDS,
    on_journey: Callable[[Journey], None] | None = None,
) -> JourneyStats:
    """Start `count` visitors' journeys at `rate` a second against `base_url` + `path` (the
    petition page); visitor n signs as `bench_email(tag, n)`. `on_journey` is called as each
    journey ends."""
    return asyncio.run(
        journeys_async(base_url, path, rate, count, tag, request_timeout, fields, on_journey)
    )

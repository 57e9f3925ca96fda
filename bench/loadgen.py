"""Load generators: wrk for closed-loop throughput, an asyncio open-loop client for a fixed rate.

Also fetches the pool of (session cookie, CSRF token) pairs the sign POSTs need: Flask-WTF ties a
CSRF token to the session that issued it, so each POST carries a matching pair.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from bench.procs import HOST, BenchError

LUA_DIR = Path(__file__).resolve().parent / "lua"
SIGN_FIELDS = "name=Bench+Signer&country=DE&comment=&source=&website="
_CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# -- (cookie, token) pairs ----------------------------------------------------------------------


def fetch_pairs(port: int, path: str, count: int) -> list[tuple[str, str]]:
    """GET the petition page `count` times without cookies; keep each new session and its token."""
    pairs: list[tuple[str, str]] = []
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        for _ in range(count):
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read().decode("utf-8", "replace")
            if resp.status != 200:
                raise BenchError(f"GET {path} answered {resp.status}, not 200")
            cookies = [
                value.split(";", 1)[0]
                for name, value in resp.getheaders()
                if name.lower() == "set-cookie" and "session=" in value.split(";", 1)[0]
            ]
            match = _CSRF_RE.search(body)
            if not cookies or not match:
                raise BenchError(f"GET {path} gave no session cookie or no CSRF token")
            pairs.append((cookies[0], match.group(1)))
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
    finally:
        conn.close()
    return pairs


def write_pairs(pairs: list[tuple[str, str]], path: Path) -> Path:
    path.write_text("".join(f"{cookie}\t{token}\n" for cookie, token in pairs))
    return path


def bench_email(tag: str, n: int) -> str:
    return f"{tag}-{n}@bench.example.org"


# -- wrk ----------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int
    status_errors: int  # wrk's own count: responses with status >= 400
    statuses: dict[int, int] = field(default_factory=dict)  # only when the script counts them

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def count(self, lo: int, hi: int) -> int:
        return sum(n for status, n in self.statuses.items() if lo <= status <= hi)


class Wrk:
    """Runs wrk in its own process group, so an interrupted benchmark can stop it."""

    def __init__(self, threads: int, connections: int, timeout_s: float = 10.0) -> None:
        self.threads = threads
        self.connections = connections
        self.timeout_s = timeout_s
        self.current: subprocess.Popen[str] | None = None

    def run(
        self, url: str, seconds: float, script: str = "report.lua", args: tuple[str, ...] = ()
    ) -> WrkResult:
        argv = [
            "wrk",
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{seconds:g}s",
            f"--timeout={self.timeout_s:g}s",
            "-s",
            str(LUA_DIR / script),
            url,
        ]
        if args:
            argv += ["--", *args]
        self.current = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            out, _ = self.current.communicate(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            self.stop()
            raise BenchError(f"wrk did not finish {seconds:g} s run in time") from None
        finally:
            code = self.current.returncode
            self.current = None
        line = next((ln for ln in out.splitlines() if ln.startswith("BENCH_JSON ")), None)
        if code != 0 or line is None:
            raise BenchError(f"wrk failed (exit status {code}):\n{out}")
        data = json.loads(line.removeprefix("BENCH_JSON "))
        errors = data["errors"]
        return WrkResult(
            requests=data["requests"],
            duration_s=data["duration_us"] / 1e6,
            p50_ms=data["p50_us"] / 1e3,
            p95_ms=data["p95_us"] / 1e3,
            p99_ms=data["p99_us"] / 1e3,
            max_ms=data["max_us"] / 1e3,
            socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
            status_errors=errors["status"],
            statuses={int(k): v for k, v in data["statuses"].items()},
        )

    def stop(self) -> None:
        proc = self.current
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)


# -- open loop at a fixed rate ------------------------------------------------------------------


@dataclass
class Sent:
    email: str
    sent_at: float  # wall clock (time.time()) when the request was written
    latency_s: float  # from the request's scheduled time to the end of its response
    status: int  # 0: no response (connection error or timeout)
    lateness_s: float  # how late the generator was in sending it (its own health)


class _Connections:
    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def take(
        self, fresh: bool = False
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        if self.idle and not fresh:
            return (*self.idle.pop(), True)
        reader, writer = await asyncio.open_connection(HOST, self.port)
        return reader, writer, False

    def give_back(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.idle.append((reader, writer))

    def close(self) -> None:
        for _reader, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bool]:
    """Send one request; return (status, keep_alive). Status 0 if the peer closed at once."""
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        return 0, False
    status = int(status_line.split()[1])
    length = 0
    keep_alive = status_line.startswith(b"HTTP/1.1")
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection":
            keep_alive = value.strip().lower() == "keep-alive"
    if length:
        await reader.readexactly(length)
    return status, keep_alive


async def _open_loop(
    port: int,
    path: str,
    pairs: list[tuple[str, str]],
    rate: float,
    seconds: float,
    tag: str,
    request_timeout: float,
) -> list[Sent]:
    loop = asyncio.get_running_loop()
    conns = _Connections(port)
    results: list[Sent] = []

    async def one(n: int, scheduled: float) -> None:
        cookie, token = pairs[n % len(pairs)]
        email = bench_email(tag, n)
        body = f"csrf_token={token}&email={quote(email)}&{SIGN_FIELDS}".encode()
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nCookie: {cookie}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        lateness = loop.time() - scheduled
        sent_at = time.time()
        status = 0
        for attempt in range(2):
            try:
                # The second attempt on a new connection: the next idle one may be stale too.
                reader, writer, reused = await conns.take(fresh=attempt > 0)
            except OSError:
                break
            try:
                status, keep_alive = await asyncio.wait_for(
                    _exchange(reader, writer, request), request_timeout
                )
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError, IndexError):
                writer.close()
                status, keep_alive = 0, False
            if keep_alive:
                conns.give_back(reader, writer)
            else:
                writer.close()
            # An idle keep-alive connection the server had just closed: send it once more.
            if status or not reused:
                break
        results.append(Sent(email, sent_at, loop.time() - scheduled, status, lateness))

    tasks: list[asyncio.Task[None]] = []
    start = loop.time() + 0.05
    total = int(rate * seconds)
    for n in range(total):
        scheduled = start + n / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n, scheduled)))
    await asyncio.gather(*tasks)
    conns.close()
    return results


def open_loop(
    port: int,
    path: str,
    pairs: list[tuple[str, str]],
    rate: float,
    seconds: float,
    tag: str,
    request_timeout: float = 10.0,
) -> list[Sent]:
    """POST signatures at a fixed rate regardless of how fast answers come (no coordinated
    omission): latency counts from when each request was due, not from when it went out."""
    return asyncio.run(_open_loop(port, path, pairs, rate, seconds, tag, request_timeout))

"""CPU per visitor journey: `python -m bench.journey_cpu [-n N] [--rounds R] [--profile DIR]`.

A journey is what a visitor does: GET the petition page with a fresh cookie jar, POST the signing
form with the token it holds, follow the 303 to the check-email page. CPU time, unlike latency or
req/s, hardly depends on what else the machine is doing, so it is the figure to compare before
and after a change on a shared, noisy machine. Same settings as `bench.run` (production profile,
a fresh PostgreSQL database with the demo content, the system Redis under a private prefix, an
SMTP sink process). Three measurements, each in rounds whose median is reported:

- gunicorn: one sync gunicorn worker serves the journeys (driven sequentially from this process
  over HTTP, a new connection per request as gunicorn's sync worker closes each one); the worker
  process's CPU (from /proc) per journey, and per request of `GET /static/site.css` beside it;
- in-process: the same journeys through Flask's test client, split by request, with
  `time.process_time` (this includes the test client's own work, so it is a little higher);
- mail: the worker's side, `events.drain("signature.created")` in this process for the events the
  journeys left: CPU per confirmation mail (render, send over SMTP to the sink, record).

`--profile DIR` also writes a cProfile (CPU clock) of the in-process journeys and of the mail
drain into DIR (`python -m pstats DIR/journey.prof`). Everything it creates is removed at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import os
import pstats
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from bench.cpu import _stat
from bench.phases import CEILING_PATH, PETITION_PATH
from bench.procs import HOST, BenchError, port_answers, wait_until
from bench.stack import START_TIMEOUT, Stack, StackConfig, default_pg_url

_CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _form(token: str, email: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "name": "Bench Signer",
        "email": email,
        "country": "DE",
        "comment": "",
    }


def _group_cpu(pgid: int) -> float:
    """CPU seconds of every live process in a process group (gunicorn's master and worker)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(entry)
            if stat is not None and stat[1] == pgid:
                total += stat[2]
    return total


class HttpVisitor:
    """A browser with a fresh cookie jar per journey, over plain HTTP/1.1 (no keep-alive)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str, str]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
        headers = {"Accept-Language": "en", "Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode()
            for header in resp.headers.get_all("Set-Cookie") or []:
                name, _eq, rest = header.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
            return resp.status, resp.headers.get("Location", ""), text
        finally:
            conn.close()

    def journey(self, email: str) -> None:
        self.cookies = {}
        status, _location, page = self.request("GET", PETITION_PATH)
        match = _CSRF_RE.search(page)
        if status != 200 or match is None:
            raise BenchError(f"petition page: {status}")
        body = urlencode(_form(match.group(1), email))
        status, location, _text = self.request("POST", PETITION_PATH, body)
        if status != 303:
            raise BenchError(f"sign POST answered {status}, not 303")
        status, _location, _text = self.request("GET", location.replace(f"http://{HOST}", ""))
        if status != 200:
            raise BenchError(f"check-email page: {status}")


def _rounds(
    label: str, rounds: int, n: int, step: Callable[[int], None], cpu: Callable[[], float]
) -> float:
    """Median over `rounds` of `cpu()` milliseconds per call of `step`, printed per round."""
    per_round = []
    for r in range(rounds):
        started = cpu()
        for i in range(n):
            step(r * n + i)
        per_round.append((cpu() - started) * 1000 / n)
    median = statistics.median(per_round)
    rounds_text = ", ".join(f"{v:.2f}" for v in per_round)
    print(f"{label}: {median:.2f} ms of CPU (median; rounds {rounds_text})")
    return median


def _print_profile(profiler: cProfile.Profile, target: Path, top: int) -> None:
    profiler.dump_stats(target)
    print(f"profile saved to {target} (python -m pstats {target})")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(top)
        print(out.getvalue())


def measure_gunicorn(stack: Stack, n: int, rounds: int) -> None:
    stack.start_web()
    wait_until(port_answers(stack.web_port), START_TIMEOUT, "gunicorn", stack.procs)
    assert stack.web is not None
    pgid = stack.web.pid
    visitor = HttpVisitor(stack.web_port)
    run = stack.run_id

    def journey(i: int) -> None:
        visitor.journey(f"gunicorn{run}-{i}@bench.example.org")

    def static(_i: int) -> None:
        visitor.cookies = {}
        status, _location, _text = visitor.request("GET", CEILING_PATH)
        if status != 200:
            raise BenchError(f"{CEILING_PATH}: {status}")

    for i in range(30):  # warm-up: templates compiled, connections in the pools
        journey(-1 - i)
    print("\n===== gunicorn (1 sync worker), CPU of its processes")
    _rounds(f"GET {CEILING_PATH} (per request)", rounds, n, static, lambda: _group_cpu(pgid))
    _rounds(
        "journey (GET page, POST, GET check-email)", rounds, n, journey, lambda: _group_cpu(pgid)
    )
    stack.procs.stop([stack.web])
    stack.web = None


def measure_in_process(stack: Stack, n: int, rounds: int, profile: Path | None, top: int) -> None:
    from campaigns import create_app
    from campaigns.core import events
    from campaigns.petitions.handlers import CONFIRMATION_BATCH_SIZE

    app = create_app()
    # Plain http, like gunicorn in bench.run (over https Flask-WTF would also want a Referer).
    app.config["PREFERRED_URL_SCHEME"] = "http"
    run = stack.run_id
    times = {"page": 0.0, "sign": 0.0, "check-email": 0.0}

    def journey(i: int) -> None:
        client = app.test_client()  # a fresh cookie jar: a first visit
        t0 = time.process_time()
        page = client.get(PETITION_PATH, headers={"Accept-Language": "en"})
        t1 = time.process_time()
        match = _CSRF_RE.search(page.get_data(as_text=True))
        if page.status_code != 200 or match is None:
            raise BenchError(f"petition page: {page.status_code}")
        t2 = time.process_time()
        signed = client.post(
            PETITION_PATH, data=_form(match.group(1), f"inproc{run}-{i}@bench.example.org")
        )
        t3 = time.process_time()
        if signed.status_code != 303:
            raise BenchError(f"sign POST answered {signed.status_code}, not 303")
        checked = client.get(signed.headers["Location"])
        t4 = time.process_time()
        if checked.status_code != 200:
            raise BenchError(f"check-email page: {checked.status_code}")
        times["page"] += t1 - t0
        times["sign"] += t3 - t2
        times["check-email"] += t4 - t3

    for i in range(30):
        journey(-1 - i)
    for key in times:
        times[key] = 0.0
    print("\n===== in process (Flask test client), CPU of this process")
    _rounds("journey", rounds, n, journey, time.process_time)
    for key, seconds in times.items():
        print(f"  {key}: {seconds * 1000 / (rounds * n):.2f} ms (mean)")
    if profile is not None:
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for i in range(n):
            journey(1_000_000 + i)
        profiler.disable()
        _print_profile(profiler, profile / "journey.prof", top)

    def drain_batch(_i: int) -> None:
        with app.app_context():
            events.drain("signature.created", budget=0)  # one batch

    with app.app_context():
        drain_batch(0)  # warm-up: mail templates compiled, the SMTP connection open
    batches = max(1, (rounds * n) // CONFIRMATION_BATCH_SIZE // (rounds + 2))
    print(f"\n===== worker side in process: events.drain, {CONFIRMATION_BATCH_SIZE} mails a call")
    per_batch = _rounds(
        f"{CONFIRMATION_BATCH_SIZE} mails", rounds, batches, drain_batch, time.process_time
    )
    print(f"  per confirmation mail: {per_batch / CONFIRMATION_BATCH_SIZE:.2f} ms of CPU")
    if profile is not None:
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for i in range(batches):
            drain_batch(i)
        profiler.disable()
        _print_profile(profiler, profile / "mail.prof", top)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.journey_cpu", description=__doc__.split("\n")[0]
    )
    p.add_argument("-n", type=int, default=200, help="journeys per round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--skip-gunicorn", action="store_true", help="in-process figures only")
    p.add_argument("--profile", type=Path, help="write journey.prof and mail.prof into this folder")
    p.add_argument("--top", type=int, default=40, help="rows per profile listing")
    p.add_argument("--pg-url", default=default_pg_url())
    p.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = p.parse_args(argv)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)

    workdir = Path(tempfile.mkdtemp(prefix="campaigns-journey-cpu-"))
    stack = Stack(StackConfig(args.pg_url, args.redis_url, 1, 1, 1, "solo"), workdir)
    try:
        stack.prepare()
        stack.start_sink()
        # The app reads its settings from the environment when the first one is built.
        os.environ.update(stack.env)
        if not args.skip_gunicorn:
            measure_gunicorn(stack, args.n, args.rounds)
        measure_in_process(stack, args.n, args.rounds, args.profile, args.top)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for problem in stack.close():
            print(f"cleanup: {problem}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

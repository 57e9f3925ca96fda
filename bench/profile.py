"""Where the time of one request goes: `python -m bench.profile [page|sign|mail ...] [-n N]`.

Same settings as `bench.run` (production profile, a fresh PostgreSQL database with the demo content,
the system Redis under a private prefix, an SMTP sink process), but the app runs in this process
under cProfile, driven by Flask's test client -- no gunicorn, no sockets -- so the numbers are the
application's own cost per request:

- page: GET the petition page without cookies (a first visit: new session, new CSRF token);
- sign: POST a signature with a valid token and a new email address;
- mail: what the worker's `events.drain` task does for the `signature.created` events the sign
  POSTs left: one call handles one batch (render, send and record 25 confirmation mails); the
  time is also given per mail.

Everything it creates is removed at the end, as with `bench.run`.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench.phases import PETITION_PATH
from bench.procs import BenchError
from bench.stack import Stack, StackConfig, default_pg_url

_CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class RoundTrips:
    """Counts SQL statements and Redis commands (a pipeline counts once: one round trip)."""

    def __init__(self) -> None:
        self.sql: list[str] = []
        self.redis: list[str] = []

    def install(self, *engines: object) -> None:
        import redis.client
        from sqlalchemy import event

        for engine in engines:
            event.listen(engine, "before_cursor_execute", self._on_sql)
        counter = self
        execute_command = redis.client.Redis.execute_command
        pipeline_execute = redis.client.Pipeline.execute

        def counted_command(client: redis.Redis, *args: object, **options: object) -> object:
            counter.redis.append(str(args[0]))
            return execute_command(client, *args, **options)

        def counted_pipeline(pipe: redis.client.Pipeline, *args: object, **kwargs: object) -> list:
            names = ",".join(str(c[0][0]) for c in pipe.command_stack)
            counter.redis.append(f"pipeline[{names}]")
            return pipeline_execute(pipe, *args, **kwargs)

        redis.client.Redis.execute_command = counted_command
        redis.client.Pipeline.execute = counted_pipeline

    def _on_sql(self, _conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        self.sql.append(" ".join(statement.split())[:110])

    def reset(self) -> None:
        self.sql.clear()
        self.redis.clear()


TRIPS = RoundTrips()


def _profile(
    label: str,
    n: int,
    step: Callable[[int], None],
    top: int,
    save: Path | None = None,
    cpu: bool = False,
    warmup: int = 20,
    per_call: tuple[int, str] | None = None,
) -> None:
    for i in range(min(warmup, n)):  # warm-up: templates compiled, pools filled
        step(-1 - i)
    TRIPS.reset()
    step(-100)
    print(f"\n===== {label}: round trips of one call")
    print(f"{len(TRIPS.sql)} SQL statements:")
    for statement, times in Counter(TRIPS.sql).items():  # in order of first use
        print(f"  {times} x {statement}" if times > 1 else f"  {statement}")
    print(f"{len(TRIPS.redis)} Redis round trips: {', '.join(TRIPS.redis)}")
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(n):
        step(10_000 + i)
    plain = (time.perf_counter() - started) / n
    plain_cpu = (time.process_time() - cpu_started) / n
    # By default cProfile times with the wall clock, so waits on PostgreSQL, Redis and the SMTP
    # sink count; --cpu shows only what the process itself computes.
    profiler = cProfile.Profile(time.process_time) if cpu else cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for i in range(n):
        step(i)
    profiler.disable()
    elapsed = time.perf_counter() - started
    print(
        f"\n===== {label}: {plain * 1000:.2f} ms per call without the profiler "
        f"({plain_cpu * 1000:.2f} ms of it CPU in this process), "
        f"{elapsed / n * 1000:.2f} ms under cProfile ({n} calls)"
    )
    if per_call is not None:
        count, unit = per_call
        print(
            f"===== {label}: per {unit}, {plain * 1000 / count:.2f} ms "
            f"({plain_cpu * 1000 / count:.2f} ms of CPU)"
        )
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        target = save / (label.split(":")[0] + ".prof")
        profiler.dump_stats(target)
        print(f"profile saved to {target} (python -m pstats {target})")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order)
        stats.print_stats(top)
        print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n")[0])
    p.add_argument("what", nargs="*", default=["page", "sign", "mail"])
    p.add_argument("-n", type=int, default=300, help="profiled calls per kind")
    p.add_argument("--top", type=int, default=35, help="rows per listing")
    p.add_argument("--save", type=Path, help="also write <kind>.prof files into this folder")
    p.add_argument("--cpu", action="store_true", help="profile CPU time instead of wall time")
    p.add_argument(
        "--pg-url",
        default=default_pg_url(),
    )
    p.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = p.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="campaigns-profile-"))
    stack = Stack(StackConfig(args.pg_url, args.redis_url, 1, 1, 1, "solo"), workdir)
    try:
        stack.prepare()
        stack.start_sink()
        # The app reads its settings from the environment when the first one is built.
        os.environ.update(stack.env)
        from campaigns import create_app
        from campaigns.core import events
        from campaigns.core.db import autocommit
        from campaigns.extensions import db

        app = create_app()
        # Flask's test client takes its scheme from here; plain http, like gunicorn in bench.run
        # (over https Flask-WTF would also require a Referer header).
        app.config["PREFERRED_URL_SCHEME"] = "http"
        with app.app_context():
            TRIPS.install(db.engine, autocommit(db.engine))  # the latter: signing's statement
        anonymous = app.test_client(use_cookies=False)
        signer = app.test_client()
        page = signer.get(PETITION_PATH)
        match = _CSRF_RE.search(page.get_data(as_text=True))
        if match is None:
            raise BenchError("no CSRF token on the petition page")
        token = match.group(1)

        def get_page(_i: int) -> None:
            resp = anonymous.get(PETITION_PATH)
            assert resp.status_code == 200, resp.status_code

        def post_sign(i: int) -> None:
            resp = signer.post(
                PETITION_PATH,
                data={
                    "csrf_token": token,
                    "name": "Bench Signer",
                    "email": f"profile{stack.run_id}-{i}@bench.example.org",
                    "country": "DE",
                    "comment": "",
                },
            )
            assert resp.status_code == 303, resp.status_code

        kinds = set(args.what)
        if "page" in kinds:
            _profile("page: GET " + PETITION_PATH, args.n, get_page, args.top, args.save, args.cpu)
        if "sign" in kinds or "mail" in kinds:
            _profile(
                "sign: POST " + PETITION_PATH, args.n, post_sign, args.top, args.save, args.cpu
            )
        if "mail" in kinds:
            from campaigns.petitions.handlers import CONFIRMATION_BATCH_SIZE

            with app.app_context():
                pending = db.session.scalar(
                    db.select(db.func.count())
                    .select_from(events.Event)
                    .where(
                        events.Event.type == "signature.created",
                        events.Event.processed_at.is_(None),
                    )
                )
                db.session.remove()
            batches = pending // CONFIRMATION_BATCH_SIZE

            def send_batch(_i: int) -> None:
                with app.app_context():
                    events.drain("signature.created", budget=0)  # one batch

            _profile(
                f"mail: events.drain(signature.created), {CONFIRMATION_BATCH_SIZE} mails a call",
                (batches - 3) // 2,
                send_batch,
                args.top,
                args.save,
                args.cpu,
                warmup=2,
                per_call=(CONFIRMATION_BATCH_SIZE, "mail"),
            )
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

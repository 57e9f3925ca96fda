"""The load benchmark: `python -m bench.run` (`make bench`). Bounded in time, cleans up after itself.

It starts the production stack on this machine -- a fresh PostgreSQL database (dropped at the end),
the system Redis under a private key prefix (its keys deleted at the end), an SMTP sink, gunicorn
and one Celery worker -- and measures, in the same run:

1. closed-loop throughput with wrk, in rounds so that noise spreads evenly over the phases:
   `ceiling` (a static file of the same app), `floor` (the same POST to bench/floor_app.py, a
   bare Flask view that only INSERTs the email and commits: the least any signing that stores
   the signature before answering can cost), `page` (the petition page) and `sign` (the sign
   POST with a valid CSRF token and a unique email each; every status is counted, a run is only
   valid if all of them are 303);
2. an open-loop phase that signs at a fixed rate (default 100/s) and measures the latency of each
   POST from the moment it was due, then the time from each POST to its confirmation mail in the
   sink, matched by address;
3. the visitor's journey (bench/journeys.py: GET the petition page with a fresh cookie jar, POST
   the form, follow the 303), open loop at 50, 100, 200 and 400 journeys/s, the last a surge of
   about 4x what the machine serves: every answer's latency, the shares refused with 503, that
   every signature answered 303 is stored, the mail at the lower rates; then at 50/s right after
   the surge, to see how soon everything is served in full again.

It prints a table with PASS/FAIL per target and writes it into bench/RESULTS.md (between markers;
the hand-written text around them is kept).

This module holds the command line and `main`, which runs the phases in order and always cleans
up. The rest lives by what it does: bench/phases.py (what is measured, and the results of each
phase), bench/measure.py (the measuring phases), bench/maillog.py (the sink's mail log),
bench/run_report.py (the report and its targets), bench/environment.py (machine and versions),
bench/stack.py (the processes under test).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from urllib.parse import urlparse

from bench import pyspy, report
from bench.cpu import CpuMeter
from bench.environment import postgres_version
from bench.loadgen import Wrk, fetch_pairs, write_pairs
from bench.maillog import MailLog
from bench.measure import (
    fixed_rate,
    journey_phases,
    profile_runs,
    say,
    smoke_test,
    throughput_rounds,
)
from bench.phases import DISTURBED_CORES, JOURNEY_RATES, PETITION_PATH
from bench.procs import REPO_ROOT, BenchError
from bench.run_report import TARGET_SIGN_P99_MS, render
from bench.stack import Stack, StackConfig, default_pg_url


class Interrupted(Exception):
    """SIGTERM, SIGHUP or the overall time limit: stop, clean up, exit non-zero."""


# -- the command line -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    p = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n\n")[0].split(": ", 1)[0]
    )
    p.add_argument("--duration", type=float, default=15.0, help="seconds per measured wrk run")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up before each run")
    p.add_argument("--repeats", type=int, default=3, help="rounds of the three wrk phases")
    p.add_argument("--connections", type=int, default=16, help="wrk connections")
    p.add_argument("--wrk-threads", type=int, default=2)
    # 2 * cores sync workers measured best on 2 cores (see bench/README.md), as many as the
    # README's deployment example runs.
    p.add_argument("--workers", type=int, default=2 * cores, help="gunicorn workers")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="gunicorn threads per worker (default: campaigns/serving/gunicorn_conf.py's)",
    )
    p.add_argument(
        "--sync",
        action="store_true",
        help="gunicorn's sync workers instead of the deployed config's (nothing is shed)",
    )
    p.add_argument(
        "--shed-after-ms",
        type=int,
        default=500,
        help="SHED_AFTER_MS: refuse what waited longer than this (0: never)",
    )
    p.add_argument("--celery-concurrency", type=int, default=cores)
    p.add_argument("--celery-pool", default="prefork")
    p.add_argument(
        "--worker-nice",
        type=int,
        default=19,
        help="the Celery worker's nice value (the README's advice for a shared machine)",
    )
    p.add_argument("--rate", type=float, default=100.0, help="signatures/s of the fixed-rate phase")
    p.add_argument("--rate-duration", type=float, default=20.0)
    p.add_argument("--rate-warmup", type=float, default=3.0)
    p.add_argument("--mail-timeout", type=float, default=60.0, help="wait for late mail (s)")
    p.add_argument(
        "--journey-rates",
        type=lambda text: tuple(float(r) for r in text.split(",")),
        default=JOURNEY_RATES,
        help="journeys/s of the journey phases, comma-separated; the last is the surge "
        f"(default {','.join(f'{r:g}' for r in JOURNEY_RATES)})",
    )
    p.add_argument("--journey-duration", type=float, default=15.0, help="seconds per rate")
    p.add_argument("--recovery-rate", type=float, default=50.0, help="journeys/s after the surge")
    p.add_argument("--recovery-duration", type=float, default=10.0)
    p.add_argument(
        "--mail-rate",
        type=float,
        default=100.0,
        help="wait for the mail of the journey phases up to this rate (above, it is dropped)",
    )
    p.add_argument("--pairs", type=int, default=200, help="(session, CSRF token) pairs")
    p.add_argument(
        "--pg-url",
        default=default_pg_url(),
        help="a database on the server where bench_<random> is created (env BENCH_PG_URL; "
        "default: the local server's unix socket if there is one, else 127.0.0.1:5432)",
    )
    p.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    p.add_argument(
        "--disturbed-retries",
        type=int,
        default=3,
        help="measure a wrk run again if other processes kept more than "
        f"{DISTURBED_CORES} cores busy meanwhile (at most this many times per benchmark)",
    )
    p.add_argument("--time-limit", type=float, default=720.0, help="abort after this many s")
    p.add_argument("--results", type=Path, default=REPO_ROOT / "bench" / "RESULTS.md")
    p.add_argument("--no-results", action="store_true", help="print only; leave RESULTS.md")
    p.add_argument("--keep-logs", action="store_true", help="keep the process logs folder")
    p.add_argument(
        "--py-spy",
        action="store_true",
        help="after the measured rounds, profile gunicorn (page, sign) and the worker (sign) "
        "with py-spy during one extra, unmeasured run each; needs py-spy installed",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run (5 s runs, 1 round, 5 s fixed rate and journey phases); never writes "
        "RESULTS.md",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.repeats = 5.0, 1.0, 1
        args.rate_duration, args.rate_warmup, args.no_results = 5.0, 1.0, True
        args.journey_duration, args.recovery_duration = 5.0, 5.0
    return args


def check_tools() -> None:
    if shutil.which("wrk") is None:
        raise BenchError(
            "wrk is not installed: apt-get install -y --no-install-recommends wrk (Debian/Ubuntu)"
        )


# -- main -------------------------------------------------------------------------------------------


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    name = "time limit" if signum == signal.SIGALRM else signal.Signals(signum).name
    raise Interrupted(name)


def main(argv: list[str] | None = None) -> int:
    raw_argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(raw_argv)
    command = ["python", "-m", "bench.run", *raw_argv]
    started = dt.datetime.now().astimezone()
    # Ctrl-C raises KeyboardInterrupt even where a parent shell started us with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(signum, _interrupt)
    signal.alarm(int(args.time_limit))

    workdir = Path(tempfile.mkdtemp(prefix="campaigns-bench-"))
    stack = Stack(
        StackConfig(
            pg_url=args.pg_url,
            redis_url=args.redis_url,
            gunicorn_workers=args.workers,
            gunicorn_threads=args.threads,
            gunicorn_sync=args.sync,
            shed_after_ms=args.shed_after_ms,
            celery_concurrency=args.celery_concurrency,
            celery_pool=args.celery_pool,
            worker_nice=args.worker_nice,
        ),
        workdir,
    )
    wrk = Wrk(args.wrk_threads, args.connections)
    status = 1
    failed = True
    try:
        check_tools()
        idle_meter = CpuMeter(dict)
        first = idle_meter.snapshot()
        time.sleep(2.0)
        background = CpuMeter.other(CpuMeter.delta(first, idle_meter.snapshot()))
        say(f"background load before starting: {background:.2f} cores busy")
        if background > 0.25:
            say("warning: the machine is busy with something else; numbers will be low and noisy")
        say(f"run {stack.run_id}: database {stack.db_name}, Redis prefix {stack.redis_prefix}")
        say(f"logs in {workdir}")
        stack.open()
        say(f"stack up: gunicorn on {stack.base_url}, SMTP sink on port {stack.smtp_port}")
        mail = MailLog(stack.mail_log)
        meter = CpuMeter(stack.groups, redis_port=urlparse(args.redis_url).port or 6379)
        pairs = fetch_pairs(stack.web_port, PETITION_PATH, args.pairs)
        pairs_file = write_pairs(pairs, workdir / "pairs.tsv")
        smoke_test(stack, mail, pairs)
        say(f"{len(pairs)} session/CSRF pairs; smoke test signed and got its mail")
        phases = throughput_rounds(args, stack, wrk, meter, mail, pairs_file)
        if args.py_spy:
            if pyspy.executable() is None:
                raise BenchError("--py-spy: py-spy is not installed (.venv/bin/pip install py-spy)")
            profile_runs(args, stack, wrk, mail, pairs_file)
        fixed = fixed_rate(args, stack, meter, mail, pairs)
        journeys, recovery = journey_phases(args, stack, meter, mail, TARGET_SIGN_P99_MS)
        block, all_pass = render(
            args,
            command,
            stack,
            started,
            (phases, fixed, journeys, recovery),
            postgres_version(args.pg_url),
            background,
        )
        print()
        print(block)
        if not args.no_results:
            report.write_results(args.results, block, "Benchmark results")
            say(f"results written to {args.results}")
        status = 0 if all_pass else 2
        failed = False
    except BenchError as exc:
        say(f"error: {exc}")
    except (KeyboardInterrupt, Interrupted) as exc:
        say(f"interrupted ({str(exc) or 'Ctrl-C'}); cleaning up")
        status = 124 if str(exc) == "time limit" else 130
    finally:
        signal.alarm(0)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        wrk.stop()
        problems = stack.close()
        for problem in problems:
            say(f"cleanup: {problem}")
        say(f"cleanup: {stack.cleanup_summary}")
        if failed or args.keep_logs or args.py_spy:
            say(f"process logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
    if status == 2:
        say("some targets FAILED (see the table)")
    return status


if __name__ == "__main__":
    sys.exit(main())

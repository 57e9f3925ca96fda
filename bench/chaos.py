"""Chaos suite: `python -m bench.chaos [--journeys 10000 --rate 50 --recipients 50000]`.

On a deployment like the README's (bench/chaos_stack.py: gunicorn, a Celery worker, a bulk
worker, two beats, an SMTP sink) running on its own PostgreSQL and Redis (never the machine's):

1. visitors sign at a fixed rate, open loop (bench/journeys.py: GET the petition page with a
   fresh cookie jar, POST, follow the 303 to the check-email page), and confirm by the link in
   their mail as it arrives (bench/chaos_confirm.py), while the suite kills -9 a gunicorn worker,
   kills -9 the Celery worker (restarted as systemd would), restarts Redis (which keeps nothing)
   and restarts PostgreSQL (bench/chaos_faults.py);
2. after a bounded wait for the outbox to drain it checks, in the database and at the sink, that
   every signature that got a success page is stored, that each signer got exactly one
   confirmation mail, and that the outbox is empty (bench/chaos_checks.py);
3. a mailing to `--recipients` supporters goes out while the bulk worker is killed -9 `--kills`
   times: each must get exactly one message (bench/chaos_mailing.py).

It prints the figures and writes them into RELIABILITY.md between markers; exits 1 if a check
failed. `--journeys 1000 --recipients 5000` is the quick mode for development. Not part of the
tests: it takes about 10 minutes and both cores.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bench.chaos_checks import check_journeys, drain, fault_figures, read_mails
from bench.chaos_confirm import Confirmer
from bench.chaos_faults import FaultSchedule
from bench.chaos_mailing import MailingOutcome, run_mailing
from bench.chaos_report import RunInfo, render, write_results
from bench.chaos_stack import ChaosStack
from bench.environment import machine_summary, postgres_version, redis_version, tree_summary
from bench.journeys import run_journeys
from bench.maillog import MailLog
from bench.phases import PETITION_PATH
from bench.procs import REPO_ROOT, BenchError, wait_until


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--journeys", type=int, default=10_000, help="signing journeys")
    p.add_argument("--rate", type=float, default=50.0, help="journeys started per second")
    p.add_argument("--recipients", type=int, default=50_000, help="the mailing's (0: none)")
    p.add_argument("--kills", type=int, default=5, help="kills -9 of the bulk worker")
    p.add_argument(
        "--claim-lease",
        type=int,
        default=60,
        help="MAILING_CLAIM_LEASE, s: how long a killed worker's claimed deliveries wait",
    )
    p.add_argument("--drain-timeout", type=float, default=300.0, help="s, for the outbox")
    p.add_argument("--mailing-timeout", type=float, default=900.0)
    p.add_argument("--results", type=Path, default=REPO_ROOT / "RELIABILITY.md")
    p.add_argument("--no-results", action="store_true", help="print only")
    p.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    return p.parse_args(argv)


def warm_up(stack: ChaosStack) -> None:
    """Every gunicorn worker imports the app on its first request: not a fault to measure."""

    def page_answers() -> bool:
        try:
            url = stack.base_url + PETITION_PATH  # our own http:// URL
            with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310
                return resp.status == 200
        except OSError:
            return False

    for _ in range(4 * stack.config.gunicorn_workers):
        wait_until(page_answers, 90, "the petition page", stack.procs)
    # And the worker: one signature, whose mail must come before the faults begin.
    warm = run_journeys(stack.base_url, PETITION_PATH, 1, 1, tag=f"warm{stack.run_id}")
    mails = MailLog(stack.mail_log)
    mails.wait_for([j.email for j in warm.journeys], 90)
    if not mails.count:
        raise BenchError(
            f"no confirmation mail within 90 s:\n{stack.worker.tail() if stack.worker else ''}"
        )


def run(args: argparse.Namespace, stack: ChaosStack) -> tuple[str, bool]:
    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print("starting the private PostgreSQL and Redis, then the stack...", flush=True)
    stack.open()
    warm_up(stack)
    tag = f"chaos{stack.run_id}"
    confirmer = Confirmer(stack.web_port, stack.links_log)
    confirmer.start()
    duration = args.journeys / args.rate
    schedule = FaultSchedule(stack, duration)
    print(f"{args.journeys:,} journeys at {args.rate:g}/s ({duration:.0f} s), with faults...")
    schedule.start()
    stats = run_journeys(stack.base_url, PETITION_PATH, args.rate, args.journeys, tag=tag)
    schedule.join()
    print(f"{len(stats.completed):,} success pages; waiting for the outbox to drain...")
    drain_s = drain(stack, tag, args.drain_timeout)
    confirmer.wait(120)
    confirmer.stop()
    # The warm-up's signer confirms too: only the journeys' signers are checked.
    confirmed = {a: t for a, t in confirmer.result.confirmed.items() if a.startswith(f"{tag}-")}
    outcome = check_journeys(stack, stats, tag, confirmed, confirmer.result.failed, drain_s)
    _, first_mail = read_mails(stack, tag)
    figures = fault_figures(schedule.faults, stats, first_mail)
    mailing: MailingOutcome | None = None
    if args.recipients:
        print(f"a mailing to {args.recipients:,}, the bulk worker killed {args.kills} times...")
        mailing = run_mailing(stack, args.recipients, args.kills, args.mailing_timeout)
    restarts = {name: len(unit.restarts) for name, unit in stack.supervisor.units.items()}
    cfg = stack.config
    info = RunInfo(
        when=when,
        command="python -m bench.chaos " + shlex.join(sys.argv[1:]),
        machine=machine_summary(),
        load=load,
        code=tree_summary(),
        software=f"{postgres_version(stack.postgres.url)}, Redis {redis_version(stack)}",
        deployment=(
            f"gunicorn {cfg.gunicorn_workers} sync workers; Celery worker -Q default,transactional"
            f" prefork x{cfg.celery_concurrency} at nice {cfg.worker_nice}; bulk worker prefork x2;"
            " two beats; private PostgreSQL over a unix socket; private Redis without"
            f" persistence; restart 1 s after a death; MAILING_CLAIM_LEASE={args.claim_lease} s"
        ),
        rate=args.rate,
    )
    return render(
        info,
        outcome,
        set(confirmed),
        figures,
        restarts,
        mailing,
        schedule.errors,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-chaos-"))
    stack = ChaosStack(workdir, args.claim_lease)
    started = time.monotonic()
    try:
        block, ok = run(args, stack)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        stack.close()
        if args.keep_logs:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(block)
    print(f"\n(the whole run took {time.monotonic() - started:.0f} s)")
    if not args.no_results:
        write_results(args.results, block)
        print(f"written into {args.results}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

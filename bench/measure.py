"""The measuring phases of `bench.run`, in the order it runs them, on a stack that is up.

`smoke_test` signs once end to end; `throughput_rounds` runs the closed-loop wrk phases in rounds
(measuring a run again when other load disturbed it); `profile_runs` (`--py-spy`) profiles extra,
unmeasured runs; `fixed_rate` signs at a fixed rate in an open loop and waits for each
signature's mail, and `diagnose_missing` says where the mails that never came got stuck.
`journey_phases` runs the visitor's journeys at each rate (the last one a surge), then at a
normal rate again to see how soon the app recovers. `say` prints the progress lines of the whole
run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench import pyspy
from bench.cpu import CpuMeter
from bench.journeys import JourneyStats, run_journeys
from bench.loadgen import Wrk, WrkResult, open_loop
from bench.maillog import MailLog
from bench.phases import (
    CEILING_PATH,
    DISTURBED_CORES,
    PETITION_PATH,
    PHASES,
    FixedRate,
    JourneyPhase,
    Phase,
    Recovery,
)
from bench.procs import HOST, BenchError
from bench.stack import Stack


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


def smoke_test(stack: Stack, mail: MailLog, pairs: list[tuple[str, str]]) -> None:
    """One real signature end to end (web, database, broker, worker, SMTP) before measuring."""
    sent = open_loop(stack.web_port, PETITION_PATH, pairs, 1.0, 1.0, f"smoke{stack.run_id}")
    if sent[0].status != 303:
        raise BenchError(f"the smoke-test POST answered {sent[0].status}, not 303")
    mail.wait_for([sent[0].email], timeout=60.0)
    if sent[0].email not in mail.arrivals:
        raise BenchError(
            "no confirmation mail for the smoke-test signature within 60 s:\n"
            + (stack.worker.tail() if stack.worker else "")
        )


def throughput_rounds(
    args: argparse.Namespace,
    stack: Stack,
    wrk: Wrk,
    meter: CpuMeter,
    mail: MailLog,
    pairs_file: Path,
) -> dict[str, Phase]:
    phases = {name: Phase(name) for name in PHASES}
    retries_left = args.disturbed_retries
    for rnd in range(1, args.repeats + 1):
        for name in PHASES:
            attempt = 0
            while True:
                stack.procs.check()
                result, cores, mails_per_s, note = _measure(
                    args, stack, wrk, meter, mail, pairs_file, name, rnd, attempt
                )
                phase = phases[name]
                other = CpuMeter.other(cores)
                disturbed = other > DISTURBED_CORES
                say(
                    f"round {rnd} {name:<7} {phase.good_rps(result):8.1f} req/s  "
                    f"p50 {result.p50_ms:.1f} ms  p99 {result.p99_ms:.1f} ms  "
                    f"unexpected {phase.unexpected(result)}; other load {other:.2f} cores{note}"
                )
                if disturbed and retries_left > 0:
                    retries_left -= 1
                    attempt += 1
                    phase.discarded.append(result)
                    say(f"  disturbed by other load: measuring round {rnd} {name} again")
                    continue
                phase.runs.append(result)
                phase.cpu.append(cores)
                phase.mails_per_s.append(mails_per_s)
                break
    return phases


def _measure(
    args: argparse.Namespace,
    stack: Stack,
    wrk: Wrk,
    meter: CpuMeter,
    mail: MailLog,
    pairs_file: Path,
    name: str,
    rnd: int,
    attempt: int,
) -> tuple[WrkResult, dict[str, float], float, str]:
    """One warm-up and one measured wrk run of a phase: (result, cores used, mails/s, note)."""
    url = stack.base_url + (CEILING_PATH if name == "ceiling" else PETITION_PATH)
    if name == "floor":
        url = f"http://{HOST}:{stack.floor_port}/"
    posts = name in ("floor", "sign")
    script, extra = ("sign.lua" if posts else "report.lua"), ()
    if args.warmup > 0:
        if posts:
            extra = (str(pairs_file), f"w{name}{rnd}x{attempt}{stack.run_id}")
        wrk.run(url, args.warmup, script, extra)
    if posts:
        extra = (str(pairs_file), f"s{name}{rnd}x{attempt}{stack.run_id}")
    mails_before = mail.poll()
    before = meter.snapshot()
    result = wrk.run(url, args.duration, script, extra)
    after = meter.snapshot()
    mails = mail.poll() - mails_before
    cores = CpuMeter.delta(before, after)
    note = ""
    if name == "sign":
        dropped = stack.drop_backlog()
        note = (
            f"; statuses {dict(sorted(result.statuses.items()))}; "
            f"{mails / result.duration_s:.0f} mails/s sent meanwhile, "
            f"{dropped} confirmations still waiting dropped"
        )
        mail.wait_quiet(quiet_for=1.5, timeout=30.0)
    return result, cores, mails / result.duration_s, note


def profile_runs(
    args: argparse.Namespace, stack: Stack, wrk: Wrk, mail: MailLog, pairs_file: Path
) -> None:
    """Extra wrk runs under py-spy (not part of the measurements); summaries go to stdout."""
    for name in ("page", "sign"):
        targets = [("gunicorn", stack.web)]
        if name == "sign":
            targets.append(("celery", stack.worker))
        recorders = [
            (role, pyspy.Recorder(child.pid, args.duration, stack.workdir / f"{name}-{role}.txt"))
            for role, child in targets
            if child is not None
        ]
        extra: tuple[str, ...] = ()
        script = "report.lua"
        if name == "sign":
            script, extra = "sign.lua", (str(pairs_file), f"p{stack.run_id}")
        try:
            wrk.run(stack.base_url + PETITION_PATH, args.duration, script, extra)
        finally:
            errors = [(role, rec.wait(timeout=args.duration + 30)) for role, rec in recorders]
        if name == "sign":
            stack.drop_backlog()
            mail.wait_quiet(quiet_for=1.5, timeout=30.0)
        for (role, rec), (_role, error) in zip(recorders, errors, strict=True):
            print(f"\n### py-spy: {role} during the {name} phase ({rec.out})\n")
            print(error or pyspy.summarize(rec.out), flush=True)


def fixed_rate(
    args: argparse.Namespace,
    stack: Stack,
    meter: CpuMeter,
    mail: MailLog,
    pairs: list[tuple[str, str]],
) -> FixedRate:
    if args.rate_warmup > 0:
        open_loop(
            stack.web_port,
            PETITION_PATH,
            pairs,
            args.rate,
            args.rate_warmup,
            f"fw{stack.run_id}",
        )
    mails_before = mail.poll()
    before = meter.snapshot()
    sent = open_loop(
        stack.web_port, PETITION_PATH, pairs, args.rate, args.rate_duration, f"fr{stack.run_id}"
    )
    after = meter.snapshot()
    mails_per_s = (mail.poll() - mails_before) / (after[0] - before[0])
    ok = [s.email for s in sent if s.status == 303]
    say(
        f"fixed rate: {len(sent)} POSTs, {len(ok)} answered 303; waiting for their mail "
        f"(up to {args.mail_timeout:.0f} s)"
    )
    mail.wait_for(ok, timeout=args.mail_timeout)
    missing = [email for email in ok if email not in mail.arrivals]
    if missing:
        diagnose_missing(stack, missing)
    return FixedRate(
        rate=args.rate,
        seconds=args.rate_duration,
        sent=sent,
        mail_timeout=args.mail_timeout,
        arrivals=dict(mail.arrivals),
        cpu=CpuMeter.delta(before, after),
        mails_per_s=mails_per_s,
    )


def journey_phases(
    args: argparse.Namespace, stack: Stack, meter: CpuMeter, mail: MailLog, p99_target_ms: float
) -> tuple[list[JourneyPhase], Recovery]:
    """Visitors' journeys at each of `args.journey_rates`, then `args.recovery_rate` at once
    after the last (the surge). Mail is waited for at the rates up to `args.mail_rate`; after each
    phase its backlog is dropped, except between the surge and the recovery (a real surge leaves
    one too)."""
    base = stack.base_url
    if args.rate_warmup > 0:
        rate = args.journey_rates[0]
        run_journeys(base, PETITION_PATH, rate, int(rate * args.rate_warmup), f"jw{stack.run_id}")
    results = []
    for i, rate in enumerate(args.journey_rates):
        surge = i == len(args.journey_rates) - 1
        mails_before = mail.poll()
        before = meter.snapshot()
        stats = run_journeys(
            base, PETITION_PATH, rate, int(rate * args.journey_duration), f"j{i}{stack.run_id}"
        )
        cpu = CpuMeter.delta(before, meter.snapshot())
        phase = JourneyPhase(stats, _stored(stack, stats), cpu)
        say(
            f"journeys at {rate:g}/s: answers {dict(sorted(stats.statuses().items()))}, "
            f"p99 {stats.answer_ms(99):.0f} ms; {len(stats.completed)} reached the success page; "
            f"{phase.lost} answered 303 but not stored; {mail.poll() - mails_before} mails meanwhile"
        )
        if surge:
            recovery = _recovery(args, stack, stats, p99_target_ms)
        if rate <= args.mail_rate:
            ok = [j.email for j in stats.signed]
            mail.wait_for(ok, timeout=args.mail_timeout)
            phase.arrivals = dict(mail.arrivals)
            missing = [email for email in ok if email not in mail.arrivals]
            if missing:
                diagnose_missing(stack, missing)
        results.append(phase)
        dropped = stack.drop_backlog()
        say(f"  {dropped} confirmations still waiting dropped")
        mail.wait_quiet(quiet_for=1.5, timeout=30.0)
    return results, recovery


def _recovery(
    args: argparse.Namespace, stack: Stack, surge: JourneyStats, p99_target_ms: float
) -> Recovery:
    surge_end = surge.started_at + (len(surge.journeys) - 1) / surge.rate
    stats = run_journeys(
        stack.base_url,
        PETITION_PATH,
        args.recovery_rate,
        int(args.recovery_rate * args.recovery_duration),
        f"jr{stack.run_id}",
    )
    recovery = Recovery(stats, stats.started_at - surge_end, p99_target_ms, _stored(stack, stats))
    say(
        f"after the surge, at {args.recovery_rate:g}/s: answers "
        f"{dict(sorted(stats.statuses().items()))}; served in full again after "
        f"{recovery.recovered_after_s:.1f} s"
    )
    return recovery


def _stored(stack: Stack, stats: JourneyStats) -> int:
    """How many of the signatures answered 303 are in the database."""
    import psycopg

    emails = [j.email for j in stats.signed]
    if not emails:
        return 0
    with psycopg.connect(stack.database_url, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT count(DISTINCT email) FROM signatures WHERE email = ANY(%s)", (emails,)
        ).fetchone()
    return int(row[0]) if row else 0


def diagnose_missing(stack: Stack, emails: list[str], limit: int = 10) -> None:
    """Say where the signatures whose mail never came got stuck (outbox event, sent_mails row)."""
    import psycopg

    query = """
        SELECT s.email, s.status, e.type, e.processed_at IS NOT NULL, e.relayed_at IS NOT NULL,
               m.status, m.error
        FROM signatures s
        LEFT JOIN outbox_events e ON e.payload->>'signature_id' = s.id::text
        LEFT JOIN sent_mails m ON m.key = 'confirm:' || e.id
        WHERE s.email = ANY(%s)
        ORDER BY s.id
    """
    try:
        with psycopg.connect(stack.database_url, connect_timeout=5) as conn:
            rows = conn.execute(query, (emails[:limit],)).fetchall()
    except Exception as exc:  # noqa: BLE001 - a diagnosis must not break the run
        say(f"could not look into the database: {exc}")
        return
    say(f"{len(emails)} signature(s) answered 303 but their mail never came; the first ones:")
    for email, status, etype, processed, relayed, mail_status, error in rows:
        say(
            f"  {email}: signature {status}; event {etype or 'MISSING'} "
            f"processed={processed} relayed={relayed}; sent_mails {mail_status or '-'} "
            f"{error or ''}"
        )
    if len(rows) < min(limit, len(emails)):
        say("  (the others have no signature row at all)")

"""The report of one `bench.run`: the targets, and `render`, which turns the measured phases
into the Markdown block printed to stdout and written into bench/RESULTS.md (PASS/FAIL per
target, the run's settings, the CPU tables, the visitors' journeys beside the POST alone)."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import platform
import shlex

from bench import report
from bench.cpu import CpuMeter
from bench.environment import machine_summary, redis_version, tool_version, tree_summary
from bench.journeys import SHED_STATUSES
from bench.phases import (
    DISTURBED_CORES,
    PHASE_LABELS,
    PHASES,
    FixedRate,
    JourneyPhase,
    Phase,
    Recovery,
)
from bench.stack import Stack
from campaigns.serving import gunicorn_conf

TARGET_PAGE_RATIO = 0.50
TARGET_SIGN_RATIO = 0.25
TARGET_SIGN_P99_MS = 250.0
TARGET_MAIL_P95_S = 5.0
TARGET_JOURNEY_RATE = 100.0  # journeys/s that must be served in full, within TARGET_SIGN_P99_MS
TARGET_SURGE_P99_MS = 1000.0
TARGET_RECOVERY_S = 5.0


def render(
    args: argparse.Namespace,
    argv: list[str],
    stack: Stack,
    started: dt.datetime,
    measured: tuple[dict[str, Phase], FixedRate, list[JourneyPhase], Recovery],
    pg_version: str,
    background: float,
) -> tuple[str, bool]:
    phases, fixed, journeys, recovery = measured
    ceiling = phases["ceiling"].rps
    rows = []
    for name in PHASES:
        ph = phases[name]
        ratio = ph.rps / ceiling if ceiling else math.nan
        rows.append(
            [
                PHASE_LABELS[name],
                f"{ph.rps:.0f}",
                " / ".join(f"{ph.good_rps(r):.0f}" for r in ph.runs),
                f"{ratio:.0%}",
                report.ms(ph.latency("p50_ms")),
                report.ms(ph.latency("p95_ms")),
                report.ms(ph.latency("p99_ms")),
                str(sum(ph.unexpected(r) for r in ph.runs + ph.discarded)),
            ]
        )
    throughput = report.table(
        [
            "phase (wrk, closed loop)",
            "req/s (median)",
            "runs",
            "of ceiling",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "unexpected",
        ],
        rows,
    )

    sign = phases["sign"]
    sign_total = sum(r.requests for r in sign.runs)
    sign_ok = sum(r.count(303, 303) for r in sign.runs)
    fixed_bad = len(fixed.sent) - len(fixed.ok)
    fixed_rows = [
        ["POSTs sent / answered 303", f"{len(fixed.sent)} / {len(fixed.ok)}"],
        ["responses by status", fixed.statuses()],
        ["achieved rate", f"{fixed.achieved_rate:.1f} /s"],
        ["generator max lateness", f"{fixed.max_lateness_ms():.1f} ms"],
        [
            "POST latency p50 / p95 / p99 / max",
            " / ".join(report.ms(fixed.latency_ms(p)) for p in (50, 95, 99, 100)) + " ms",
        ],
        [
            "POST -> confirmation mail p50 / p95 / max",
            " / ".join(report.seconds(fixed.mail_pct(p)) for p in (50, 95, 100)),
        ],
        ["mails sent by the worker while signing at this rate", f"{fixed.mails_per_s:.0f} /s"],
        ["mails not arrived within the wait", str(fixed.missing_mails)],
    ]
    fixed_table = report.table(
        [f"fixed rate: sign at {fixed.rate:g}/s for {fixed.seconds:g} s", "value"], fixed_rows
    )

    roles = ["gunicorn", "floor", "celery", "postgres", "redis", "sink", "wrk", "bench", "other"]
    for cores in [c for ph in phases.values() for c in ph.cpu] + [fixed.cpu]:
        cores["other"] = CpuMeter.other(cores)
    cpu_rows = []
    for name in PHASES:
        ph = phases[name]
        cpu_rows.append(
            [PHASE_LABELS[name].split(":")[0]]
            + [f"{report.median([c.get(r, 0.0) for c in ph.cpu]):.2f}" for r in roles]
        )
    cpu_rows.append(
        [f"fixed rate {fixed.rate:g}/s"] + [f"{fixed.cpu.get(r, 0.0):.2f}" for r in roles]
    )
    cpu_table = report.table(["CPU cores used during", *roles], cpu_rows)

    def per_request(ph: Phase, role: str) -> float:
        return report.median(
            [c.get(role, 0.0) / r.rps * 1000 for c, r in zip(ph.cpu, ph.runs, strict=True) if r.rps]
        )

    cost_rows = [
        [
            f"{PHASE_LABELS[name].split(':')[0]}: one request (gunicorn)",
            f"{per_request(phases[name], 'floor' if name == 'floor' else 'gunicorn'):.2f}",
        ]
        for name in PHASES
    ]
    for name in ("floor", "sign"):
        cost_rows.append(
            [f"{name}: PostgreSQL per request", f"{per_request(phases[name], 'postgres'):.2f}"]
        )
    mail_costs = [
        c.get("celery", 0.0) / m * 1000
        for c, m in zip(sign.cpu, sign.mails_per_s, strict=True)
        if m
    ]
    cost_rows.append(
        ["confirmation mail: one mail (Celery worker)", f"{report.median(mail_costs):.2f}"]
    )
    cost_table = report.table(["CPU cost (ms of one core)", "ms"], cost_rows)
    wrk_cpu_note = (
        "Cores used per process role, from /proc (1.00 = one core busy all the time; medians of "
        "the rounds); `bench` is the open-loop generator; `other` is everything else that kept "
        "the machine busy meanwhile (other users' processes, kernel threads): when it is not "
        "near 0, the run was disturbed and its numbers are low."
    )

    page_ratio = phases["page"].rps / ceiling if ceiling else 0.0
    sign_ratio = sign.rps / ceiling if ceiling else 0.0
    p99 = fixed.latency_ms(99)
    mail_p95 = fixed.mail_pct(95)
    targets = [
        (
            f"petition page >= {TARGET_PAGE_RATIO:.0%} of ceiling",
            f"{page_ratio:.0%}",
            page_ratio >= TARGET_PAGE_RATIO and phases["page"].rps > 0,
        ),
        (
            f"signing >= {TARGET_SIGN_RATIO:.0%} of ceiling (all POSTs 303)",
            f"{sign_ratio:.0%}, {sign_total - sign_ok} not 303",
            sign_ratio >= TARGET_SIGN_RATIO and sign_ok == sign_total and sign_total > 0,
        ),
        (
            f"sign p99 < {TARGET_SIGN_P99_MS:.0f} ms at {fixed.rate:g}/s (all POSTs 303)",
            f"{report.ms(p99)} ms, {fixed_bad} not 303",
            p99 < TARGET_SIGN_P99_MS
            and fixed_bad == 0
            and fixed.achieved_rate >= 0.95 * fixed.rate,
        ),
        (
            f"confirmation mail p95 < {TARGET_MAIL_P95_S:g} s at {fixed.rate:g}/s (none missing)",
            f"{report.seconds(mail_p95)}, {fixed.missing_mails} missing",
            mail_p95 < TARGET_MAIL_P95_S and bool(fixed.ok) and fixed.missing_mails == 0,
        ),
    ]
    targets += journey_targets(journeys, recovery)
    target_table = report.table(
        ["target", "measured", "result"],
        [[t, m, "PASS" if ok else "FAIL"] for t, m, ok in targets],
    )
    all_pass = all(ok for _t, _m, ok in targets)

    floor = phases["floor"].rps
    floor_note = (
        f"The floor, a bare Flask view under the same gunicorn that only INSERTs the posted email "
        f"and commits, reached {floor / ceiling if ceiling else math.nan:.0%} of the ceiling: "
        f"no signing that stores the signature before answering can do better on this machine. "
        f"Signing reached {sign.rps / floor if floor else math.nan:.0%} of the floor."
    )
    mails = ", ".join(f"{m:.0f}" for m in sign.mails_per_s)
    redone = (
        ", ".join(f"{len(ph.discarded)} {ph.name}" for ph in phases.values() if ph.discarded)
        or "none"
    )
    gunicorn = (
        f"{args.workers} x sync (nothing shed)"
        if args.sync
        else f"{args.workers} x QueueTimedWorker (gthread), "
        f"{args.threads or gunicorn_conf.threads} threads each, "
        f"`-c python:campaigns.serving.gunicorn_conf`, SHED_AFTER_MS={args.shed_after_ms}"
    )
    quick_note = (
        "- **--quick smoke run: phases too short to judge the targets (a mail backlog needs time "
        "to grow)**\n"
        if args.quick
        else ""
    )
    block = f"""\
## Latest run

{quick_note}- command: `{" ".join(shlex.quote(a) for a in argv)}`
- date: {started.strftime("%Y-%m-%d %H:%M %Z")}
- machine: {machine_summary()}
- code: {tree_summary()}
- software: Python {platform.python_version()}; {pg_version} (over {stack.database_connection}); Redis {redis_version(stack)}; {tool_version(["wrk", "-v"]).split(" Copyright")[0]}
- gunicorn: {gunicorn} workers; Celery: 1 worker, {args.celery_pool} pool, concurrency {args.celery_concurrency}, nice {args.worker_nice} ({stack.worker_session_nice})
- wrk: {args.wrk_threads} threads, {args.connections} connections, {args.repeats} rounds of {args.warmup:g} s warm-up + {args.duration:g} s per phase (medians shown)
- runs measured again because other processes kept > {DISTURBED_CORES:g} cores busy: {redone}
- load generator, database, Redis, web and worker all share the same machine; other load
  before the run: {background:.2f} cores busy (see `other` below for during the run)

{throughput}

{fixed_table}

{journey_table(journeys, recovery)}

{target_table}

{floor_note}

Confirmation mails the worker sent while the sign phase ran: {mails} per second (the rest of each
sign run's backlog, queued tasks and outbox events alike, was dropped before the next phase, so
it could not slow it).

{cpu_table}

{wrk_cpu_note}

{cost_table}
"""
    return block, all_pass


def journey_table(journeys: list[JourneyPhase], recovery: Recovery) -> str:
    def row(label: str, cell: object) -> list[str]:
        return [label, *(cell(ph) for ph in journeys), cell(recovery)]  # type: ignore[operator]

    def ms_row(pct: float) -> object:
        return lambda ph: report.ms(ph.stats.answer_ms(pct))

    def shares(ph: JourneyPhase | Recovery) -> str:
        st = ph.stats
        return f"{st.share(200, 399):.0%} / {sum(st.share(s, s) for s in SHED_STATUSES):.0%}"

    def others(ph: JourneyPhase | Recovery) -> str:
        bad = {s: n for s, n in ph.stats.statuses().items() if not (200 <= s < 400 or s == 503)}
        return ", ".join(f"{s or 'no answer'}: {n}" for s, n in sorted(bad.items())) or "none"

    def mail(ph: JourneyPhase | Recovery) -> str:
        if not isinstance(ph, JourneyPhase) or ph.arrivals is None:
            return "not waited for"
        p50, p95 = ph.mail_pct(50), ph.mail_pct(95)
        return f"{report.seconds(p50)} / {report.seconds(p95)}, {ph.missing_mails} missing"

    def cpu(ph: JourneyPhase | Recovery) -> str:
        return f"{ph.gunicorn_ms_per_journey():.1f}" if isinstance(ph, JourneyPhase) else "-"

    rows = [
        row("journeys started / reached the success page",
            lambda ph: f"{len(ph.stats.journeys)} / {len(ph.stats.completed)}"),
        row("every answer p50 / p99 / max, ms", lambda ph: " / ".join(
            report.ms(ph.stats.answer_ms(p)) for p in (50, 99, 100))),
        row("POST answer p99, ms", lambda ph: report.ms(ph.stats.step_ms("sign", 99))),
        row("whole journey p99 (those completed), ms",
            lambda ph: report.ms(ph.stats.journey_ms(99))),
        row("answers 2xx-3xx / refused (503, 429)", shares),
        row("refused without Retry-After", lambda ph: str(ph.stats.shed_without_retry_after)),
        row("other answers (errors, timeouts)", others),
        row("POST answered 303 / not stored", lambda ph: f"{len(ph.stats.signed)} / {ph.lost}"),
        row("POST -> confirmation mail p50 / p95", mail),
        row("gunicorn CPU per completed journey, ms", cpu),
        row("generator max lateness, ms", lambda ph: f"{ph.stats.max_lateness_ms():.1f}"),
    ]  # fmt: skip
    head = [
        "journeys: GET page (fresh cookies), POST, follow 303; open loop",
        *(f"{ph.rate:g}/s" for ph in journeys),
        f"{recovery.stats.rate:g}/s after the surge",
    ]
    note = (
        "Latency from each journey's scheduled start for its first answer, from the moment it "
        "was sent for the next ones (a visitor sends them as soon as the previous answer came); "
        f"the last rate is the surge. After it, everything was served in full (nothing refused, "
        f"p99 of each second < {TARGET_SIGN_P99_MS:.0f} ms) again "
        f"{recovery.recovered_after_s:.1f} s after the surge's last journey started."
    )
    return f"{report.table(head, rows)}\n\n{note}"


def journey_targets(
    journeys: list[JourneyPhase], recovery: Recovery
) -> list[tuple[str, str, bool]]:
    """Served in full at TARGET_JOURNEY_RATE, refused fast in the surge, back in seconds, and no
    signature answered 303 ever lost."""
    targets = []
    normal = next((ph for ph in journeys if ph.rate == TARGET_JOURNEY_RATE), None)
    if normal is not None:
        st = normal.stats
        incomplete = len(st.journeys) - len(st.completed)
        p99, mail_p95 = st.answer_ms(99), normal.mail_pct(95)
        targets += [
            (
                f"journey answers p99 < {TARGET_SIGN_P99_MS:.0f} ms at {normal.rate:g}/s "
                "(all completed)",
                f"{report.ms(p99)} ms, {incomplete} not completed",
                p99 < TARGET_SIGN_P99_MS and incomplete == 0,
            ),
            (
                f"journey mail p95 < {TARGET_MAIL_P95_S:g} s at {normal.rate:g}/s (none missing)",
                f"{report.seconds(mail_p95)}, {normal.missing_mails} missing",
                mail_p95 < TARGET_MAIL_P95_S and bool(st.signed) and normal.missing_mails == 0,
            ),
        ]
    surge = journeys[-1].stats
    answers = surge.statuses()
    unexpected = sum(n for s, n in answers.items() if not (200 <= s < 400 or s == 503))
    p99 = surge.answer_ms(99)
    lost = sum(ph.lost for ph in journeys) + recovery.lost
    recovered = recovery.recovered_after_s
    targets += [
        (
            f"surge {surge.rate:g}/s: every answer p99 < {TARGET_SURGE_P99_MS:.0f} ms, the rest "
            "503 + Retry-After",
            f"{report.ms(p99)} ms, {surge.share(503, 503):.0%} refused, "
            f"{surge.shed_without_retry_after} without Retry-After, {unexpected} other",
            p99 < TARGET_SURGE_P99_MS
            and unexpected == 0
            and surge.shed_without_retry_after == 0
            and bool(surge.completed),
        ),
        (
            f"served in full again < {TARGET_RECOVERY_S:g} s after the surge",
            f"{recovered:.1f} s",
            recovered < TARGET_RECOVERY_S,
        ),
        ("every journey answered 303 has its signature stored", f"{lost} lost", lost == 0),
    ]
    return targets

"""The lobbying benchmark's report: the tables, the CPU per letter, the notes and the verdicts
against the targets."""

from __future__ import annotations

import argparse

from bench.lobbying_data import LIFTED, TARGETS_PER_LETTER
from bench.lobbying_sending import ROLES
from bench.report import median, percentile, table


def report(
    results: list[dict],
    check: dict[str, float],
    configured: dict,
    args: argparse.Namespace,
    wall: float,
) -> None:
    rows = []
    for r in results:
        tick, task = r["ticks"]["tick"], r["ticks"]["task"]
        rows.append(
            [
                f"{r['size']:,} ({r['supporters']:,})",
                f"{median(tick):.2f} / {percentile(tick, 95):.2f}",
                f"{median(task):.2f} / {percentile(task, 95):.2f}",
                f"{r['ceiling']:,.0f}",
                f"{r['rate']:,.0f}" + ("" if r["complete"] else f" ({r['arrived']:,} arrived)"),
                f"{100 * r['rate'] / r['ceiling']:.0f} %",
                f"{r['steady_rate']:,.0f}",
                " / ".join(f"{mb:.0f}" for mb in r["sending_peaks_mb"]),
                f"{r['parent_peak_mb']:.0f}",
            ]
        )
    print()
    print(
        table(
            [
                "letters (supporters)",
                "tick ms median / p95",
                "beat task ms median / p95",
                "ceiling msg/s",
                "platform letters/s",
                "ratio",
                "letters/s from the 1st",
                "pool processes peak RSS MB",
                "worker parent MB",
            ],
            rows,
        )
    )
    detail, cost = [], []
    for r in results:
        cores, ceiling_cores = r["cores"], r["ceiling_cores"]
        sent = max(1, min(r["arrived"], r["size"]))
        platform_ms = {role: 1000 * cores.get(role, 0.0) * cores["wall"] / sent for role in ROLES}
        ceiling_ms = {
            role: 1000 * ceiling_cores.get(role, 0.0) * ceiling_cores["wall"] / r["size"]
            for role in ("bench", "sink")
        }
        r["platform_cpu_ms"] = sum(platform_ms.values())
        r["ceiling_cpu_ms"] = sum(ceiling_ms.values())
        detail.append(
            [
                f"{r['size']:,}",
                f"{r['elapsed']:.1f} s",
                f"{r['first_after']:.1f} s",
                f"{r['log']['per_round_median']:.0f} (max {r['log']['per_round_max']})",
                f"{r['log']['tasks']}",
                *(f"{cores.get(role, 0.0):.2f}" for role in ROLES),
                f"{cores['other']:.2f}",
                f"{ceiling_cores['other']:.2f}",
            ]
        )
        cost.append(
            [
                f"{r['size']:,}",
                *(f"{platform_ms[role]:.2f}" for role in ROLES),
                f"{r['platform_cpu_ms']:.2f}",
                f"{ceiling_ms['bench']:.2f} + {ceiling_ms['sink']:.2f}",
                f"{r['platform_cpu_ms'] / r['ceiling_cpu_ms']:.0f} x",
                f"{2000 / r['platform_cpu_ms']:,.0f}",
            ]
        )
    print()
    print(
        table(
            [
                "letters",
                "send time",
                "1st letter after",
                "letters per tick round",
                "beat tasks run",
                *(f"{role} cores" for role in ROLES),
                "other cores",
                "other during ceiling",
            ],
            detail,
        )
    )
    print()
    print(
        table(
            [
                "CPU ms per letter",
                *ROLES,
                "platform total",
                "ceiling (smtplib loop + sink)",
                "platform / ceiling",
                "CPU-bound limit, 2 cores: letters/s",
            ],
            cost,
        )
    )
    disturbed = [r for r in results if r["cores"]["other"] > 0.25]
    if disturbed:
        print(
            "\nWARNING: other processes kept "
            + ", ".join(f"{r['cores']['other']:.2f}" for r in disturbed)
            + " cores busy while the platform sent (sizes "
            + ", ".join(f"{r['size']:,}" for r in disturbed)
            + "): its letters/s are low by up to that share of the machine; the CPU per letter"
            " is the figure to compare. Run again on a quiet machine."
        )
    print(
        f"\nschedule_letter (one letter of {TARGETS_PER_LETTER} deliveries per call, committed):"
        f" {check['letters'] / check['seconds']:,.0f} letters/s"
        f" ({1000 * check['seconds'] / check['letters']:.1f} ms each); the bulk load gave the"
        " same due times and reasons."
    )
    for r in results:
        print(f"claim query plan at {r['size']:,}: {r['plan']}")
        print(f"deliveries at {r['size']:,} after sending: {r['states']}")
    print(f"configured pacing (tick phase): {configured}; lifted (sending): {LIFTED}")
    print(
        f"worker: 1 x prefork, concurrency {args.concurrency}, -Q default; beat every"
        f" {LIFTED['LOBBYING_TICK_INTERVAL']} s; one letter is"
        f" {results[0]['message_bytes'] if results else 0:,} bytes"
    )

    verdicts = []
    worst_p95 = max((percentile(r["ticks"]["tick"], 95) for r in results), default=float("nan"))
    verdicts.append(("tick p95 < 50 ms while all wait", f"{worst_p95:.2f} ms", worst_p95 < 50))
    peaks = [r["sending_peak_mb"] for r in results]
    growth = peaks[-1] - peaks[0] if peaks else 0.0
    verdicts.append(
        (
            "worker < 150 MB, flat (+10 MB at most)",
            " -> ".join(f"{p:.0f}" for p in peaks) + f" MB ({growth:+.1f} MB)",
            bool(peaks) and max(peaks) < 150 and growth <= 10,
        )
    )
    # Judged on the largest size: the action the target is set for (10,000 supporters, 50,000
    # letters); the smaller sizes are shown beside it (a short run weighs its warm-up more).
    ratios = [r["rate"] / r["ceiling"] for r in results]
    verdicts.append(
        (
            ">= 70 % of the ceiling at the largest size, every letter sent",
            " / ".join(f"{100 * x:.0f} %" for x in ratios),
            bool(ratios) and ratios[-1] >= 0.70 and all(r["complete"] for r in results),
        )
    )
    print()
    print(
        table(
            ["target", "measured", "result"],
            [[name, value, "PASS" if ok else "FAIL"] for name, value, ok in verdicts],
        )
    )
    print(f"\nthe whole run took {wall:.0f} s")

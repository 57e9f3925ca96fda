"""The webhook benchmark's figures: latencies from each milestone's commit to its messages'
arrival, where the time went (the event handler, the wait for a sending thread, the request),
the worker's memory, and the verdicts against the targets."""

from __future__ import annotations

import argparse
import math
from collections import Counter

from bench.report import median, percentile, table
from bench.webhooks_phases import MemoryTimeline, Phase

TARGET_P95_S = 2.0
FLAT_MB = 10.0  # as bench.lobbying's worker: at most +10 MB from one round to the next


def measure(phase: Phase, alerts: dict[str, dict], facts: dict, networks: int) -> dict:
    """The phase's latencies (seconds) and its checks, from what the receivers logged, the
    alerts made and the database's deliveries."""
    received = phase.results["received"]
    by_kind: dict[str, list[float]] = {"fast": [], "slow": []}
    answered_slow: list[float] = []
    handled, waited, posted = [], [], []
    per_milestone: dict[int, list[float]] = {t: [] for t in phase.thresholds}
    unknown = 0
    for item in received:
        info = alerts.get(item.webhook_id)
        if info is None:
            unknown += 1
            continue
        committed = phase.committed[info["threshold"]]
        by_kind[item.kind].append(item.arrived - committed)
        if item.kind == "slow":
            answered_slow.append(item.answered - committed)
            continue
        per_milestone[info["threshold"]].append(item.arrived - committed)
        handled.append(info["made"] - committed)
        attempted = facts["first_attempt"].get((item.webhook_id, "fast"))
        if attempted is not None:
            waited.append(attempted - info["made"])
            posted.append(item.arrived - attempted)
    seen = Counter((item.kind, item.webhook_id) for item in received)
    expected = {(kind, message_id) for message_id in alerts for kind in ("fast", "slow")}
    return {
        "healthy": by_kind["fast"],
        "slow_arrived": by_kind["slow"],
        "slow_answered": [x for x in answered_slow if not math.isnan(x)],
        "handled": handled,
        "waited": waited,
        "posted": posted,
        "per_milestone": [median(per_milestone[t]) for t in phase.thresholds],
        "alerts": len(alerts),
        "expected_alerts": len(phase.thresholds) * networks,
        "received": len(received),
        "missing": len(expected - set(seen)),
        "duplicates": sum(n - 1 for n in seen.values() if n > 1),
        "unknown": unknown,
        "bad_signatures": sum(1 for item in received if not item.verified),
        "retries": facts["attempts"] - facts["deliveries"],
        "attempts_logged": facts["attempts_logged"],
        "deliveries": facts["deliveries"],
        "statuses": facts["statuses"],
    }


def spread(values: list[float]) -> str:
    """p50 / p95 / max in seconds."""
    if not values:
        return "n/a"
    return f"{median(values):.2f} / {percentile(values, 95):.2f} / {max(values):.2f}"


def exact(m: dict) -> bool:
    """Every message arrived once, signed right, nothing retried, everything delivered."""
    return (
        m["alerts"] == m["expected_alerts"]
        and m["missing"] == 0
        and m["duplicates"] == 0
        and m["unknown"] == 0
        and m["bad_signatures"] == 0
        and m["retries"] == 0
        and m["statuses"] == {"delivered": m["deliveries"]}
    )


def report(
    phases: list[Phase],
    measured: dict[str, dict],
    memory: MemoryTimeline,
    args: argparse.Namespace,
    context: dict[str, str],
) -> list[tuple[str, str, bool]]:
    """Print the tables and the verdicts; return the verdicts."""
    print()
    for name, value in context.items():
        print(f"- {name}: {value}")
    rows, stages, mem_rows = [], [], []
    for phase in phases:
        m = measured[phase.name]
        r = phase.results
        rows.append(
            [
                phase.name,
                f"{phase.slow_delay:g} s",
                f"{len(phase.thresholds)} x {args.networks} x 2",
                spread(m["healthy"]),
                spread(m["slow_arrived"]),
                spread(m["slow_answered"]),
                f"{m['received']}/{2 * m['expected_alerts']}"
                + ("" if phase.complete else " (timed out)"),
                f"{m['duplicates']} / {m['retries']} / {m['bad_signatures']}",
                f"{phase.waited_s:.1f} s",
            ]
        )
        tasks = r["tasks"]
        send = tasks.get("webhooks.send_due", [])
        stages.append(
            [
                phase.name,
                spread(m["handled"]),
                spread(m["waited"]),
                spread(m["posted"]),
                f"{len(send)} ({max(send, default=0):.1f} s max)",
                f"{len(tasks.get('webhooks.tick', []))}",
                f"{r['max_in_flight']['fast']} / {r['max_in_flight']['slow']}",
                f"{r['cores'].get('worker', 0) + r['cores'].get('webhook-worker', 0):.2f}"
                f" / {r['cores']['other']:.2f}",
            ]
        )
        mem = memory.of(phase.name)
        if mem:
            mem_rows.append(
                [
                    phase.name,
                    f"{mem['start_mb']:.1f}",
                    f"{mem['peak_mb']:.1f}",
                    f"{mem['end_mb']:.1f}",
                    f"{mem['sum_peak_mb']:.1f}",
                    f"{mem['parent_peak_mb']:.1f}",
                    f"{mem['pool_pids']}",
                ]
            )
    print()
    print(
        table(
            [
                "phase",
                "slow receiver answers after",
                "milestones x networks x endpoints",
                "healthy: event -> arrival p50 / p95 / max",
                "slow: event -> arrival",
                "slow: event -> answered",
                "received",
                "dup / retries / bad sig",
                "drained after last",
            ],
            rows,
        )
    )
    print()
    print(
        table(
            [
                "phase (healthy deliveries)",
                "event -> alert made (handler) p50 / p95 / max",
                "alert -> request started",
                "request started -> arrival",
                "send_due tasks run",
                "webhooks.tick run",
                "most requests in flight fast / slow",
                "worker / other cores",
            ],
            stages,
        )
    )
    print()
    print(
        table(
            [
                "worker memory (MB)",
                "largest pool process: start",
                "peak",
                "end",
                "pool processes together, peak",
                "parent peak",
                "pool pids seen",
            ],
            mem_rows,
        )
    )
    for phase in phases:
        if phase.slow_delay:
            medians = " ".join(f"{x:.1f}" for x in measured[phase.name]["per_milestone"])
            print(f"\n{phase.name}: median healthy latency per milestone, in order (s): {medians}")
    for phase in phases:
        m = measured[phase.name]
        print(f"{phase.name}: deliveries {m['statuses']}, attempts logged {m['attempts_logged']}")
    return verdicts(phases, measured, memory)


def verdicts(
    phases: list[Phase], measured: dict[str, dict], memory: MemoryTimeline
) -> list[tuple[str, str, bool]]:
    slow = [p for p in phases if p.slow_delay]
    baseline = next((p for p in phases if p.name == "baseline"), None)
    found = []
    p95s = [percentile(measured[p.name]["healthy"], 95) for p in slow]
    base_p95 = percentile(measured[baseline.name]["healthy"], 95) if baseline else math.nan
    ratio = max(p95s, default=math.nan) / base_p95 if base_p95 else math.nan
    found.append(
        (
            f"healthy p95 < {TARGET_P95_S:g} s with the slow receivers (each round)",
            " / ".join(f"{x:.2f} s" for x in p95s)
            + f" (all fast: {base_p95:.2f} s; worst ratio {ratio:.1f} x)",
            bool(p95s) and max(p95s) < TARGET_P95_S and all(p.complete for p in slow),
        )
    )
    checked = [measured[p.name] for p in phases]
    found.append(
        (
            "every message once, signed, delivered, no retry",
            f"{sum(m['received'] for m in checked)} received; missing "
            f"{sum(m['missing'] for m in checked)}, duplicates "
            f"{sum(m['duplicates'] for m in checked)}, retries "
            f"{sum(m['retries'] for m in checked)}, bad signatures "
            f"{sum(m['bad_signatures'] for m in checked)}",
            all(exact(m) for m in checked),
        )
    )
    mems = {p.name: memory.of(p.name) for p in phases}
    if len(slow) >= 2 and baseline and all(mems[p.name] for p in (*slow, baseline)):
        first, last = mems[slow[0].name], mems[slow[-1].name]
        growth = last["peak_mb"] - first["peak_mb"]
        drift = last["end_mb"] - mems[baseline.name]["end_mb"]
        found.append(
            (
                f"worker memory flat (round to round and after warm-up, +{FLAT_MB:g} MB at most)",
                f"peak {first['peak_mb']:.1f} -> {last['peak_mb']:.1f} MB ({growth:+.1f}); end"
                f" {mems[baseline.name]['end_mb']:.1f} after baseline -> {last['end_mb']:.1f}"
                f" MB ({drift:+.1f})",
                growth <= FLAT_MB and drift <= FLAT_MB,
            )
        )
    print()
    print(
        table(
            ["target", "measured", "result"],
            [[name, value, "PASS" if ok else "FAIL"] for name, value, ok in found],
        )
    )
    return found

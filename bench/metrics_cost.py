"""What the request metrics cost each request: `python -m bench.metrics_cost [-n N] [--rounds R]`.

Every request is timed by two hooks (campaigns.core.metrics: `_start_timer` before the views,
`_observe` after them, which adds the time to a histogram). This runs the two hooks N times in a
request context, in a process with `PROMETHEUS_MULTIPROC_DIR` set as the README's deployment
does (each observation written to a memory-mapped file) and in one without (plain memory), beside
the CPU of the cheapest whole request, `GET /healthz` through Flask's test client, in the same
process. CPU time (`time.process_time`), medians of R rounds: CPU hardly depends on what else a
noisy machine is doing. Compare the hooks with bench.journey_cpu's CPU per journey request.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

MODES = {"multiprocess files (deployment)": True, "one process (development)": False}


def _median_per_call(rounds: int, n: int, call: Callable[[], object]) -> float:
    """Median over rounds of the CPU seconds per call."""
    per_round = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(n):
            call()
        per_round.append((time.process_time() - started) / n)
    return statistics.median(per_round)


def measure(n: int, rounds: int) -> dict[str, float]:
    """Runs in a child process whose environment chose the mode before anything imported."""
    from campaigns import create_app
    from campaigns.core import metrics

    app = create_app(
        {"SECRET_KEY": "bench", "DATABASE_URL": "sqlite://", "SHED_AFTER_MS": 0, "TESTING": False}
    )
    client = app.test_client()
    with app.test_request_context("/healthz"):
        response = app.response_class("ok")

        def hooks() -> None:
            metrics._start_timer()
            metrics._observe(response)

        hooks_s = _median_per_call(rounds, n, hooks)
    request_s = _median_per_call(rounds, max(n // 10, 1), lambda: client.get("/healthz"))
    return {"hooks": hooks_s, "request": request_s, "files": bool(metrics.MULTIPROC_DIR)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.metrics_cost", description=__doc__.split("\n")[0]
    )
    p.add_argument("-n", type=int, default=20_000, help="hook calls per round")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.n, args.rounds)))
        return 0

    print(f"request metrics, CPU per request: medians of {args.rounds} rounds of {args.n} calls")
    for label, files in MODES.items():
        with tempfile.TemporaryDirectory(prefix="campaigns-metrics-") as folder:
            env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
            if files:
                env["PROMETHEUS_MULTIPROC_DIR"] = folder
            child = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.metrics_cost",
                    "--child",
                    "-n",
                    str(args.n),
                    "--rounds",
                    str(args.rounds),
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
        result = json.loads(child.stdout.strip().splitlines()[-1])
        if result["files"] != files:
            print(f"error: {label}: the child did not run in that mode", file=sys.stderr)
            return 1
        hooks_us, request_us = result["hooks"] * 1e6, result["request"] * 1e6
        print(
            f"  {label}: the two hooks {hooks_us:.1f} µs; GET /healthz in all {request_us:.0f} µs;"
            f" the hooks' share of it {100 * hooks_us / request_us:.1f} %"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

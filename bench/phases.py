"""What `bench.run` measures: the routes and phases, and the results of each phase.

The closed-loop phases (`ceiling`, `floor`, `page`, `sign`) collect one `Phase` each, the open-loop
phase at a fixed rate one `FixedRate`; both compute their figures (good req/s, latency
percentiles, POST-to-mail delays) from the raw runs. The visitor's journeys (bench/journeys.py) at
each rate collect one `JourneyPhase`, the rate just after the surge a `Recovery`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from bench import report
from bench.journeys import Journey, JourneyStats
from bench.loadgen import Sent, WrkResult

PETITION_PATH = "/en/c/naloxone-in-every-pocket"
CEILING_PATH = "/static/site.css"
PHASES = ("ceiling", "floor", "page", "sign")
PHASE_LABELS = {
    "ceiling": f"ceiling: GET {CEILING_PATH}",
    "floor": "floor: POST, bare Flask, 1 INSERT + COMMIT",
    "page": f"petition page: GET {PETITION_PATH}",
    "sign": f"sign: POST {PETITION_PATH} (303 only)",
}

# A run during which other processes kept this many cores busy is measured again (see
# --disturbed-retries): another user's test suite on a 2-core machine halves the numbers.
DISTURBED_CORES = 0.25


@dataclass
class Phase:
    name: str
    runs: list[WrkResult] = field(default_factory=list)
    cpu: list[dict[str, float]] = field(default_factory=list)
    mails_per_s: list[float] = field(default_factory=list)  # sign: mails sent during each run
    discarded: list[WrkResult] = field(default_factory=list)  # runs disturbed by other load

    @property
    def posts(self) -> bool:
        return self.name in ("floor", "sign")

    def good_rps(self, run: WrkResult) -> float:
        if self.posts:
            return run.count(303, 303) / run.duration_s
        return (run.requests - run.status_errors) / run.duration_s

    def unexpected(self, run: WrkResult) -> int:
        if self.posts:
            return run.requests - run.count(303, 303) + run.socket_errors
        return run.status_errors + run.socket_errors

    @property
    def rps(self) -> float:
        return report.median([self.good_rps(r) for r in self.runs])

    def latency(self, attr: str) -> float:
        return report.median([getattr(r, attr) for r in self.runs])


@dataclass
class FixedRate:
    rate: float
    seconds: float
    sent: list[Sent]
    mail_timeout: float
    arrivals: dict[str, float]
    cpu: dict[str, float]
    mails_per_s: float  # confirmation mails that reached the sink while the phase ran

    @property
    def ok(self) -> list[Sent]:
        return [s for s in self.sent if s.status == 303]

    @property
    def achieved_rate(self) -> float:
        if len(self.sent) < 2:
            return 0.0
        times = sorted(s.sent_at for s in self.sent)
        return (len(times) - 1) / (times[-1] - times[0])

    def statuses(self) -> str:
        counts = Counter(s.status for s in self.sent)
        return ", ".join(
            f"{status or 'no answer (error or 10 s timeout)'}: {n}"
            for status, n in sorted(counts.items(), reverse=True)
        )

    def latency_ms(self, pct: float) -> float:
        return report.percentile([s.latency_s * 1000 for s in self.sent], pct)

    def max_lateness_ms(self) -> float:
        return max((s.lateness_s for s in self.sent), default=math.nan) * 1000

    def mail_delays(self) -> list[float]:
        return [self.arrivals.get(s.email, math.inf) - s.sent_at for s in self.ok]

    def mail_pct(self, pct: float) -> float:
        return report.percentile(self.mail_delays(), pct)

    @property
    def missing_mails(self) -> int:
        return sum(1 for d in self.mail_delays() if math.isinf(d))


# Journeys a second, open loop: the last rate is the surge (about 4x what the machine serves).
JOURNEY_RATES = (50.0, 100.0, 200.0, 400.0)


@dataclass
class JourneyPhase:
    stats: JourneyStats
    stored: int  # of the journeys whose POST was answered 303, signatures found in the database
    cpu: dict[str, float]
    arrivals: dict[str, float] | None = None  # None: the phase's mail was not waited for

    @property
    def rate(self) -> float:
        return self.stats.rate

    @property
    def lost(self) -> int:
        """Signatures answered 303 (the visitor was sent to the success page) but not stored."""
        return len(self.stats.signed) - self.stored

    def mail_delays(self) -> list[float]:
        arrivals = self.arrivals or {}
        return [arrivals.get(j.email, math.inf) - (j.posted_at or 0.0) for j in self.stats.signed]

    def mail_pct(self, pct: float) -> float:
        return report.percentile(self.mail_delays(), pct) if self.arrivals is not None else math.nan

    @property
    def missing_mails(self) -> int:
        return (
            sum(1 for d in self.mail_delays() if math.isinf(d)) if self.arrivals is not None else 0
        )

    def gunicorn_ms_per_journey(self) -> float:
        done = len(self.stats.completed)
        return (
            self.cpu.get("gunicorn", 0.0) * self.stats.duration_s / done * 1000
            if done
            else math.nan
        )


@dataclass
class Recovery:
    """Journeys at a normal rate started right after the surge's last one."""

    stats: JourneyStats
    gap_s: float  # from the surge's last scheduled journey to this phase's first
    p99_target_ms: float
    stored: int  # as JourneyPhase.stored
    window_s: float = 1.0

    @property
    def lost(self) -> int:
        return len(self.stats.signed) - self.stored

    def _window_ok(self, journeys: list[Journey]) -> bool:
        steps = [s for j in journeys for s in j.steps]
        if any(j.shed or j.error or not j.completed for j in journeys):
            return False
        return report.percentile([s.latency_s * 1000 for s in steps], 99) < self.p99_target_ms

    @property
    def recovered_after_s(self) -> float:
        """Seconds after the surge from which every window of journeys was served in full, none
        refused, p99 under the target; `inf` if the phase never got there."""
        windows: dict[int, list[Journey]] = {}
        for j in self.stats.journeys:
            windows.setdefault(int(j.scheduled // self.window_s), []).append(j)
        if not windows:
            return math.inf
        last = max(windows)
        first_good = last + 1
        for w in range(last, -1, -1):
            if not self._window_ok(windows.get(w, [])):
                break
            first_good = w
        if first_good > last:
            return math.inf
        return self.gap_s + first_good * self.window_s

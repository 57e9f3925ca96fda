"""What `bench.run` measures: the routes and phases, and the results of each phase.

The closed-loop phases (`ceiling`, `floor`, `page`, `sign`) collect one `Phase` each, the open-loop
phase at a fixed rate one `FixedRate`; both compute their figures (good req/s, latency
percentiles, POST-to-mail delays) from the raw runs.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from bench import report
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

"""What must hold after the journeys, read from the database and the sink, never from the app:
every signature that got a success page is stored, every signer got exactly one confirmation mail
(counted per recipient at the sink), every confirmed signature is stored as confirmed, and the
outbox is empty. Also the figures of each fault: the visitors it cost and how late mail came.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import parseaddr

from bench.chaos_faults import Fault
from bench.chaos_stack import ChaosStack
from bench.journeys import Journey, JourneyStats
from bench.report import percentile

# A visitor failed "because of" a fault when their journey was due from shortly before it (an
# answer in flight when it struck) up to the next fault.
BEFORE_FAULT_S = 5.0


@dataclass
class JourneyOutcome:
    journeys: int
    completed: int  # saw the check-email page
    signed: int  # got the 303 (the signature must be stored)
    not_completed: Counter[str]  # why the others did not: "sign 500", "page: TimeoutError"...
    lost: list[str]  # signed, success page or not, but not stored
    stored: int  # signatures of the journeys in the database
    mails: Counter[str]  # confirmation mails per journey address at the sink
    confirmed_by_link: int  # confirmations that got their 303
    confirm_failed: dict[str, str]
    confirmed_stored: int  # of those, stored as confirmed
    outbox_waiting: int  # events still unprocessed at the end
    drain_s: float  # from the last journey to an empty outbox and every mail in
    signers: set[str] = field(default_factory=set)  # addresses of the stored signatures
    mail_delays: list[float] = field(default_factory=list)  # POST -> mail, per stored signature

    def missing(self, among: set[str]) -> int:
        return sum(1 for a in among if self.mails[a] == 0)

    def duplicates(self, among: set[str]) -> int:
        return sum(self.mails[a] - 1 for a in among if self.mails[a] > 1)


def read_mails(stack: ChaosStack, tag: str) -> tuple[Counter[str], dict[str, float]]:
    """Messages per journey address at the sink, and each one's first arrival."""
    counts: Counter[str] = Counter()
    first: dict[str, float] = {}
    with open(stack.mail_log, encoding="utf-8") as fh:
        for line in fh:
            arrived, _, to = line.rstrip("\n").partition("\t")
            address = parseaddr(to)[1].lower()
            if address.startswith(f"{tag}-"):
                counts[address] += 1
                first.setdefault(address, float(arrived))
    return counts, first


def stored_signatures(stack: ChaosStack, tag: str) -> dict[str, str]:
    rows = stack.query("SELECT email, status FROM signatures WHERE email LIKE %s", f"{tag}-%")
    return {email.lower(): str(status) for email, status in rows}


def outbox_waiting(stack: ChaosStack) -> int:
    return stack.query("SELECT count(*) FROM outbox_events WHERE processed_at IS NULL")[0][0]


def drain(stack: ChaosStack, tag: str, timeout: float) -> float:
    """Wait until the outbox is empty and every stored signature has its mail; seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            stored = stored_signatures(stack, tag)
            mails, _ = read_mails(stack, tag)
            if outbox_waiting(stack) == 0 and all(mails[a] for a in stored):
                break
        except Exception:  # noqa: BLE001, S110 - the database may still be coming back
            pass
        time.sleep(1)
    return time.monotonic() - start


def check_journeys(
    stack: ChaosStack,
    stats: JourneyStats,
    tag: str,
    confirmed: dict[str, float],
    confirm_failed: dict[str, str],
    drain_s: float,
) -> JourneyOutcome:
    stored = stored_signatures(stack, tag)
    mails, first_mail = read_mails(stack, tag)
    signed = [j for j in stats.journeys if j.signed]
    posted = {j.email.lower(): j.posted_at for j in signed}
    return JourneyOutcome(
        journeys=len(stats.journeys),
        completed=len(stats.completed),
        signed=len(signed),
        not_completed=Counter(_why(j) for j in stats.journeys if not j.completed),
        lost=[j.email for j in signed if j.email.lower() not in stored],
        stored=len(stored),
        mails=mails,
        confirmed_by_link=len(confirmed),
        confirm_failed=confirm_failed,
        confirmed_stored=sum(1 for a in confirmed if stored.get(a) == "confirmed"),
        outbox_waiting=outbox_waiting(stack),
        drain_s=drain_s,
        signers=set(stored),
        mail_delays=[
            first_mail.get(a, math.inf) - (posted.get(a) or math.inf) for a in stored if a in posted
        ],
    )


def _why(journey: Journey) -> str:
    if journey.error:
        return journey.error
    last = journey.steps[-1] if journey.steps else None
    return f"{last.name} {last.status}" if last else "no answer"


@dataclass
class FaultFigures:
    fault: Fault
    offset_s: float  # seconds after the journeys started
    failed: int  # visitors without a success page, due around the fault
    last_failure_s: float  # after the fault, the last such visitor was due (nan: none)
    mail_delay_max_s: float  # of signatures posted from the fault to the next one
    mail_delay_p95_s: float


def fault_figures(
    faults: list[Fault], stats: JourneyStats, mails_first: dict[str, float]
) -> list[FaultFigures]:
    figures = []
    ordered = sorted(faults, key=lambda f: f.at)
    end = stats.started_at + stats.duration_s
    for n, fault in enumerate(ordered):
        until = ordered[n + 1].at if n + 1 < len(ordered) else end
        due = [
            j for j in stats.journeys
            if fault.at - BEFORE_FAULT_S <= stats.started_at + j.scheduled < until
        ]  # fmt: skip
        failed = [j for j in due if not j.completed]
        delays = [
            mails_first.get(j.email.lower(), math.inf) - (j.posted_at or 0)
            for j in due
            if j.signed and j.posted_at and j.posted_at >= fault.at
        ]
        figures.append(
            FaultFigures(
                fault=fault,
                offset_s=fault.at - stats.started_at,
                failed=len(failed),
                last_failure_s=(
                    max(stats.started_at + j.scheduled for j in failed) - fault.at
                    if failed
                    else math.nan
                ),
                mail_delay_max_s=max(delays, default=math.nan),
                mail_delay_p95_s=percentile(delays, 95),
            )
        )
    return figures

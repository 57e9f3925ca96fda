"""The chaos suite's mailing: an audience loaded as bench/mailing.py loads it, a mailing scheduled
for beat to start (two beats run), and the bulk worker killed -9 while it sends.

Afterwards the sink's log is counted per recipient against the audience in the database: every
supporter must have exactly one message (0 missed, 0 duplicates), and every delivery must be
recorded as sent.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import parseaddr

from bench.chaos_faults import Fault, kill_bulk_worker_during
from bench.chaos_stack import ChaosStack
from bench.mailing import load_supporters, make_mailing

# The journeys sign from DE; the mailing's supporters come from a country of their own.
COUNTRY = "PL"


@dataclass
class MailingOutcome:
    recipients: int
    seconds: float  # from scheduling to the last message at the sink
    received: int  # distinct audience addresses that got a message
    missed: int
    duplicates: int  # messages beyond the first, over the audience
    strangers: int  # messages to addresses outside the audience
    statuses: dict[str, int]  # deliveries by status in the database
    kills: list[Fault] = field(default_factory=list)
    recoveries_s: list[float] = field(default_factory=list)  # kill -> next message at the sink


def run_mailing(stack: ChaosStack, recipients: int, kills: int, timeout: float) -> MailingOutcome:
    """Load `recipients` supporters, schedule a mailing to them and kill the bulk worker `kills`
    times while it goes out; wait up to `timeout` s for the last message."""
    os.environ.update(stack.env)  # the in-process app below reads the stack's settings
    from campaigns import create_app

    app = create_app()
    load_supporters(app, recipients, COUNTRY)
    start_line = _lines(stack)
    started = time.time()
    mailing_id = make_mailing(app, COUNTRY)  # scheduled now: beat's next tick starts it
    faults = kill_bulk_worker_during(stack, recipients, kills, timeout)
    deadline = time.monotonic() + timeout
    while _lines(stack) - start_line < recipients and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(5)  # anything sent twice arrives now, or not at all
    arrivals = _read_sink(stack, start_line)
    audience = {
        email.lower()
        for (email,) in stack.query(
            "SELECT email FROM signatures WHERE country = %s AND status = 'confirmed'", COUNTRY
        )
    }
    counts = Counter(address for _, address in arrivals)
    statuses = dict(
        stack.query(
            "SELECT status, count(*) FROM deliveries WHERE mailing_id = %s GROUP BY status",
            mailing_id,
        )
    )
    last = max((at for at, _ in arrivals), default=started)
    return MailingOutcome(
        recipients=recipients,
        seconds=last - started,
        received=sum(1 for a in audience if counts[a]),
        missed=sum(1 for a in audience if not counts[a]),
        duplicates=sum(n - 1 for a, n in counts.items() if a in audience and n > 1),
        strangers=sum(n for a, n in counts.items() if a not in audience),
        statuses={str(k): v for k, v in statuses.items()},
        kills=faults,
        recoveries_s=[_next_arrival(arrivals, f.at) - f.at for f in faults],
    )


def _lines(stack: ChaosStack) -> int:
    with open(stack.mail_log, "rb") as fh:
        return sum(1 for _ in fh)


def _read_sink(stack: ChaosStack, skip: int) -> list[tuple[float, str]]:
    """(arrival, recipient) of every message after the first `skip` lines of the sink's log."""
    arrivals = []
    with open(stack.mail_log, encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if n < skip or not line.endswith("\n"):
                continue
            arrived, _, to = line.rstrip("\n").partition("\t")
            for address in to.split(","):
                arrivals.append((float(arrived), parseaddr(address)[1].lower()))
    return arrivals


def _next_arrival(arrivals: list[tuple[float, str]], after: float) -> float:
    """When the first message after `after` arrived (inf: none did)."""
    return min((at for at, _ in arrivals if at > after), default=float("inf"))

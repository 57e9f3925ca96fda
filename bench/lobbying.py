"""Lobbying benchmark: `python -m bench.lobbying [--sizes 5000 50000] [--quick]`.

An action whose supporters each write to 5 of 720 MEPs (the Parliament's seats per country, each
MEP in their capital's time zone). A size counts letters as the targets receive them (one
delivery = one email): 50,000 letters are 10,000 confirmed supporters writing to 5 MEPs each.
For each size, in one run:

1. **Tick while all wait.** The deliveries scheduled as `delivery.schedule_letter` schedules them
   with the configured pacing (default 30 an hour per target, jitter 0.25, Mon-Fri 08:00-19:00),
   for letters confirmed in the evening after the offices closed: every one is due later. Then
   `delivery.tick()` is timed many times in-process (each in its own app context, as a Celery task
   runs), and so is the whole beat task `lobbying.tick` (tick, then the daily digests).
2. **Ceiling.** A plain `smtplib` loop sends N copies of one letter, as the platform builds it,
   over one connection into the SMTP sink (bench/sink.py), as bench/mailing.py does.
3. **Platform, pacing lifted.** The deliveries scheduled again, for letters confirmed over the
   past hour with LOBBYING_PER_TARGET_PER_HOUR=10,000,000 (0.36 ms apart), office hours
   Mon-Sun 00:00-23:59 and no jitter: all are due. A real Celery worker (`-Q default`, prefork,
   `--concurrency` processes) and beat (LOBBYING_TICK_INTERVAL=1) send them; timed from beat's
   start until the sink holds all N. LOBBYING_DELIVERY stays "test": every letter must reach the
   test inbox and no other envelope recipient (checked), each exactly once.
   The peak RSS of the worker's pool processes (the ones that send) is sampled meanwhile.

Targets: tick p95 < 50 ms, worker < 150 MB and flat, letters/s >= 70 % of the ceiling.
Needs PostgreSQL (BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432/test) and Redis
(BENCH_REDIS_URL, default redis://127.0.0.1:6379/0); it creates its own database and key prefix
and removes both at the end (Redis keys by SCAN of its prefix, never FLUSH).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import secrets
import smtplib
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from bench.cpu import _machine_busy, _stat
from bench.mailing import MemoryWatch
from bench.procs import HOST, BenchError, Child, Processes, free_port, venv_bin, wait_until
from bench.report import median, percentile, table

if TYPE_CHECKING:
    from flask import Flask

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_INBOX = "letters-test@bench.example.org"
TARGETS_PER_LETTER = 5

# Pacing lifted, for the throughput phase (the worker's environment, and the bench's schedule).
LIFTED = {
    "LOBBYING_PER_TARGET_PER_HOUR": 10_000_000,
    "LOBBYING_OFFICE_HOURS": "Mon-Sun 00:00-23:59",
    "LOBBYING_JITTER": 0.0,
    "LOBBYING_TICK_INTERVAL": 1,
}

# The European Parliament's seats per country (2024-2029): 720 MEPs.
SEATS = {
    "DE": 96, "FR": 81, "IT": 76, "ES": 61, "PL": 53, "RO": 33, "NL": 31, "BE": 22, "CZ": 21,
    "EL": 21, "HU": 21, "PT": 21, "SE": 21, "AT": 20, "BG": 17, "DK": 15, "FI": 15, "SK": 15,
    "IE": 14, "HR": 12, "LT": 11, "LV": 9, "SI": 9, "EE": 7, "CY": 6, "LU": 6, "MT": 6,
}  # fmt: skip
CAPITALS = {
    "DE": "Berlin", "FR": "Paris", "IT": "Rome", "ES": "Madrid", "PL": "Warsaw",
    "RO": "Bucharest", "NL": "Amsterdam", "BE": "Brussels", "CZ": "Prague", "EL": "Athens",
    "HU": "Budapest", "PT": "Lisbon", "SE": "Stockholm", "AT": "Vienna", "BG": "Sofia",
    "DK": "Copenhagen", "FI": "Helsinki", "SK": "Bratislava", "IE": "Dublin", "HR": "Zagreb",
    "LT": "Vilnius", "LV": "Riga", "SI": "Ljubljana", "EE": "Tallinn", "CY": "Nicosia",
    "LU": "Luxembourg", "MT": "Malta",
}  # fmt: skip
LANGUAGES = {
    "DE": "de en", "FR": "fr en", "IT": "it en", "ES": "es en", "PL": "pl en", "RO": "ro en",
    "NL": "nl en", "BE": "fr nl en", "CZ": "cs en", "EL": "el en", "HU": "hu en", "PT": "pt en",
    "SE": "sv en", "AT": "de en", "BG": "bg en", "DK": "da en", "FI": "fi en", "SK": "sk en",
    "IE": "en", "HR": "hr en", "LT": "lt en", "LV": "lv en", "SI": "sl en", "EE": "et en",
    "CY": "el en", "LU": "fr de en", "MT": "en",
}  # fmt: skip
# Who used the CPU while the platform sent (process groups we started, PostgreSQL, Redis).
ROLES = ("worker", "postgres", "sink", "redis", "beat", "bench")
GROUPS = ("EPP", "S&D", "PfE", "ECR", "Renew", "Greens/EFA", "The Left", "ESN", "NI")

LETTER = {
    "en": (
        "Harm reduction in the next EU Drugs Strategy",
        "I am writing to you as one of the people you represent in the European Parliament.\n\n"
        "The next EU Drugs Strategy is being written now. Harm reduction services - needle and "
        "syringe programmes, opioid agonist treatment, naloxone in every pocket, drug checking "
        "- save lives and cost little. Yet in many Member States they are scarce, and people "
        "who use drugs are still punished rather than helped.\n\n"
        "I ask you to support harm reduction in the strategy and in the budget that carries "
        "it out, and to let me know where you stand.\n\nThank you for your time.",
    ),
    "fr": (
        "La réduction des risques dans la prochaine stratégie antidrogue de l'UE",
        "Je vous écris en tant que citoyenne ou citoyen que vous représentez au Parlement "
        "européen.\n\nLa prochaine stratégie antidrogue de l'UE est en cours d'écriture. Les "
        "services de réduction des risques - programmes d'échange de seringues, traitements "
        "agonistes opioïdes, naloxone, analyse des produits - sauvent des vies.\n\n"
        "Je vous demande de soutenir la réduction des risques et de me dire votre position."
        "\n\nMerci de votre attention.",
    ),
    "de": (
        "Schadensminderung in der nächsten EU-Drogenstrategie",
        "Ich schreibe Ihnen als eine der Personen, die Sie im Europäischen Parlament vertreten."
        "\n\nDie nächste EU-Drogenstrategie wird jetzt geschrieben. Angebote der "
        "Schadensminderung - Spritzentausch, Substitution, Naloxon, Drug-Checking - retten "
        "Leben.\n\nIch bitte Sie, die Schadensminderung zu unterstützen und mir Ihre Haltung "
        "mitzuteilen.\n\nVielen Dank.",
    ),
}
NOTE = (
    "I lost a friend to an overdose that naloxone would have stopped. Please make sure the "
    "strategy funds it everywhere."
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[5_000, 50_000], help="letters (deliveries)"
    )
    parser.add_argument("--ticks", type=int, default=200, help="timed ticks per size")
    parser.add_argument(
        "--concurrency", type=int, default=os.cpu_count() or 2, help="worker pool processes"
    )
    parser.add_argument(
        "--send-timeout",
        type=float,
        default=420.0,
        help="seconds the platform may take per size; what arrived by then is measured",
    )
    parser.add_argument(
        "--check-letters", type=int, default=400, help="letters scheduled by schedule_letter"
    )
    parser.add_argument("--quick", action="store_true", help="small smoke run (500 and 2,000)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.ticks, args.check_letters = [500, 2_000], 50, 100
    return args


# -- CPU ------------------------------------------------------------------------------------------


class CpuSampler:
    """CPU seconds per role, sampled process by process (bench/cpu.py's readings of /proc): each
    process counts from the first sample, or from 0 if it started later, up to its last sample.
    A process that ends between two samples (an autovacuum worker after the bulk load) thus
    keeps what it used, where a difference of per-role totals would lose it."""

    def __init__(self, groups: dict[str, int]) -> None:
        self.roles = {pgid: role for role, pgid in groups.items()}
        self.redis_port = f":{REDIS_URL.rsplit(':', 1)[-1].split('/')[0]}"
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.started = time.monotonic()
        self.machine = _machine_busy()
        self.own = sum(os.times()[:2])
        self.sample(initial=True)

    def _role(self, entry: Path, comm: str, pgrp: int) -> str | None:
        role = self.roles.get(pgrp)
        if role is None and comm.startswith("postgres"):
            return "postgres"
        if role is None and comm.startswith("redis-server"):
            with contextlib.suppress(OSError):
                if self.redis_port in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    return "redis"
        return role

    def sample(self, initial: bool = False) -> None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            stat = _stat(entry)
            if stat is None:
                continue
            comm, pgrp, seconds = stat
            role = self._role(entry, comm, pgrp)
            if role is None:
                continue
            pid = int(entry.name)
            if initial:
                self.first[pid] = seconds
            self.last[pid] = (role, seconds)

    def cores(self) -> dict[str, float]:
        """Cores used per role since the start (1.0 = one core busy), and `other`: everything
        the machine did for anybody else."""
        self.sample()
        wall = time.monotonic() - self.started
        used: dict[str, float] = {"bench": sum(os.times()[:2]) - self.own}
        for pid, (role, seconds) in self.last.items():
            used[role] = used.get(role, 0.0) + seconds - self.first.get(pid, 0.0)
        cores = {role: seconds / wall for role, seconds in used.items()}
        cores["other"] = max(0.0, (_machine_busy() - self.machine) / wall - sum(cores.values()))
        cores["wall"] = wall
        return cores


# -- the SMTP sink --------------------------------------------------------------------------------


class Sink:
    """bench/sink.py, and its log read as it grows: arrival times and envelope recipients."""

    def __init__(self, procs: Processes, workdir: Path) -> None:
        self.port = free_port()
        self.path = workdir / "sink.tsv"
        self.path.touch()
        self.child = procs.spawn(
            "sink",
            [sys.executable, "-m", "bench.sink", "--port", str(self.port), "--out", str(self.path)],
        )
        self._offset = 0
        self.times: list[float] = []
        self.recipients: list[str] = []
        wait_until(self._answers, 20, "the SMTP sink", procs)

    def _answers(self) -> bool:
        try:
            smtplib.SMTP(HOST, self.port, timeout=1).quit()
            return True
        except OSError:
            return False

    def poll(self) -> int:
        """Read what arrived since the last call; returns how many messages arrived in all."""
        with open(self.path, "rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1
        self._offset += end
        for line in data[:end].decode("utf-8").splitlines():
            arrived, _, recipients = line.partition("\t")
            self.times.append(float(arrived))
            self.recipients.append(recipients)
        return len(self.times)


def ceiling(sink: Sink, sender: str, message: bytes, count: int) -> tuple[float, dict]:
    """Messages per second of a bare smtplib loop over one connection (to the test inbox), and
    the cores used meanwhile."""
    before = sink.poll()
    cpu = CpuSampler({"sink": sink.child.pid})
    smtp = smtplib.SMTP(HOST, sink.port)
    start = time.time()
    for _ in range(count):
        smtp.sendmail(sender, [TEST_INBOX], message)
    smtp.quit()
    wait_until(lambda: sink.poll() >= before + count, 60, "the ceiling's messages")
    cores = cpu.cores()
    return count / (sink.times[before + count - 1] - start), cores


# -- the data ---------------------------------------------------------------------------------------


@dataclass
class Directory:
    by_country: dict[str, list[int]] = field(default_factory=dict)
    zones: dict[int, ZoneInfo] = field(default_factory=dict)
    action_id: int = 0


def load_directory(app: Flask) -> Directory:
    """720 MEPs, a live letter campaign with ready letters in three languages, its action."""
    from sqlalchemy import insert

    from campaigns.campaign.models import (
        Campaign,
        CampaignKind,
        CampaignStatus,
        CampaignTranslation,
        TranslationStatus,
    )
    from campaigns.core.db import utcnow
    from campaigns.extensions import db
    from campaigns.lobbying.models import (
        EditPolicy,
        LetterAction,
        SelectionRule,
        Target,
        TargetKind,
    )

    found = Directory()
    rows = []
    for country, seats in SEATS.items():
        zone = f"Europe/{CAPITALS[country]}"
        for _ in range(seats):
            n = len(rows) + 1
            rows.append(
                {
                    "id": n,
                    "kind": TargetKind.MEP,
                    "ep_id": 200_000 + n,
                    "name": f"Member {n:03d} {country}",
                    "role": "Member of the European Parliament",
                    "institution": "European Parliament",
                    "country": country,
                    "political_group": GROUPS[n % len(GROUPS)],
                    "languages": LANGUAGES[country],
                    "email": f"mep{n:03d}@europarl.example.eu",
                    "time_zone": zone,
                    "active": True,
                    "daily_digest": False,
                    "created_at": utcnow(),
                }
            )
            found.by_country.setdefault(country, []).append(n)
            found.zones[n] = ZoneInfo(zone)
    with app.app_context():
        db.session.execute(insert(Target), rows)
        db.session.execute(
            sql_text("SELECT setval('targets_id_seq', (SELECT max(id) FROM targets))")
        )
        campaign = Campaign(
            slug="bench-harm-reduction-letters",
            kind=CampaignKind.LETTER,
            status=CampaignStatus.LIVE,
            default_locale="en",
            launched_at=utcnow(),
        )
        campaign.translations = [
            CampaignTranslation(
                locale=locale,
                status=TranslationStatus.READY,
                title=subject,
                summary="Ask your MEPs to back harm reduction in the next EU Drugs Strategy.",
                target="Members of the European Parliament",
                body_markdown="The EU Drugs Strategy is being written **now**.",
                letter_subject=subject,
                letter_body=body,
            )
            for locale, (subject, body) in LETTER.items()
        ]
        action = LetterAction(
            campaign=campaign,
            rule=SelectionRule.OWN_COUNTRY,
            max_targets=TARGETS_PER_LETTER,
            edit_policy=EditPolicy.NOTE,
            note_max=1000,
            live=False,  # test mode twice over: LOBBYING_DELIVERY=test as well
        )
        db.session.add(campaign)
        db.session.commit()
        found.action_id = action.id
    return found


def sql_text(statement: str):  # noqa: ANN201 - a TextClause (SQLAlchemy imported late)
    from sqlalchemy import text

    return text(statement)


@dataclass
class Letters:
    """Supporters' letters (rows of `letters`) and, per letter, its targets in delivery order."""

    rows: list[dict]
    targets: list[list[int]]
    first_delivery_id: int


def make_letters(found: Directory, supporters: int, first_id: int, tag: str) -> Letters:
    """`supporters` confirmed letters; each supporter's country is drawn in proportion to its
    seats, and their 5 MEPs are the next 5 of that country's list (round robin): every MEP
    receives about as many letters as the others."""
    from campaigns.lobbying.models import LetterStatus

    rng = random.Random(supporters)
    countries = list(SEATS)
    drawn = rng.choices(countries, weights=[SEATS[c] for c in countries], k=supporters)
    turn: Counter[str] = Counter()
    rows, targets = [], []
    for n, country in enumerate(drawn):
        meps = found.by_country[country]
        start = turn[country] * TARGETS_PER_LETTER
        turn[country] += 1
        targets.append([meps[(start + k) % len(meps)] for k in range(TARGETS_PER_LETTER)])
        rows.append(
            {
                "id": first_id + n,
                "action_id": found.action_id,
                "status": LetterStatus.CONFIRMED,
                "email": f"supporter{n}.{tag}@bench.example.org",
                "email_digest": f"{tag}-{n:08d}",
                "name": f"Supporter{n} Example",
                "country": country,
                "locale": ("en", "fr", "de")[n % 3],
                "note": NOTE if n % 3 == 0 else None,
            }
        )
    return Letters(rows, targets, first_delivery_id=1)


@contextlib.contextmanager
def pacing(app: Flask, **values: object) -> Iterator[None]:
    """The app's LOBBYING_* settings changed for the duration (in this process only)."""
    saved = {name: app.config[name] for name in values}
    app.config.update(values)
    try:
        yield
    finally:
        app.config.update(saved)


def schedule(
    app: Flask, found: Directory, letters: Letters, confirmed: list[datetime], seed: int
) -> tuple[list[dict], dict[int, datetime]]:
    """The deliveries as `delivery.schedule_letter` gives them, letter by letter in order of
    confirmation, with the app's current pacing: each target's next free slot, jittered, moved
    into office hours, the target's next slot moved on by the spacing. Same functions
    (`pacing.next_slot`), no database round trip. Returns the rows and each target's
    `next_slot_at`."""
    from campaigns.lobbying.models import LetterDeliveryStatus
    from campaigns.lobbying.pacing import next_slot, spacing

    rng = random.Random(seed)
    free: dict[int, datetime] = {}
    rows = []
    with app.app_context():
        gap = spacing()
        for row, targets, now in zip(letters.rows, letters.targets, confirmed, strict=True):
            for target_id in targets:
                slot = next_slot(now, free.get(target_id), found.zones[target_id], rng)
                free[target_id] = slot.due_at + gap
                rows.append(
                    {
                        "id": letters.first_delivery_id + len(rows),
                        "letter_id": row["id"],
                        "target_id": target_id,
                        "status": LetterDeliveryStatus.SCHEDULED,
                        "due_at": slot.due_at,
                        "deferred_by": slot.deferred_by,
                        "attempts": 0,
                    }
                )
    return rows, free


def reset(app: Flask) -> None:
    """No letters, deliveries or sent mails; every target's pacing state cleared."""
    from campaigns.extensions import db

    with app.app_context():
        db.session.execute(
            sql_text("TRUNCATE letter_deliveries, letter_consents, letters, sent_mails")
        )
        db.session.execute(
            sql_text("UPDATE targets SET next_slot_at = NULL, last_claimed_at = NULL")
        )
        db.session.commit()


def insert_rows(app: Flask, model: type, rows: list[dict], chunk: int = 10_000) -> None:
    from sqlalchemy import insert

    from campaigns.extensions import db

    with app.app_context():
        for start in range(0, len(rows), chunk):
            db.session.execute(insert(model), rows[start : start + chunk])
        db.session.commit()


def set_next_slots(app: Flask, free: dict[int, datetime]) -> None:
    from sqlalchemy import bindparam, update

    from campaigns.extensions import db
    from campaigns.lobbying.models import Target

    with app.app_context():
        db.session.connection().execute(
            update(Target.__table__)
            .where(Target.__table__.c.id == bindparam("tid"))
            .values(next_slot_at=bindparam("slot"), last_claimed_at=None),
            [{"tid": tid, "slot": at} for tid, at in free.items()],
        )
        db.session.commit()


def analyze(app: Flask) -> None:
    """Fresh planner statistics, as autovacuum would gather soon after a bulk load."""
    from campaigns.extensions import db

    with app.app_context():
        db.session.execute(sql_text("ANALYZE letters, letter_deliveries, targets, sent_mails"))
        db.session.commit()


def evening_after(now: datetime) -> datetime:
    """The next 19:00 in Brussels: the offices (default hours) have just closed."""
    brussels = ZoneInfo("Europe/Brussels")
    local = now.astimezone(brussels)
    evening = local.replace(hour=19, minute=0, second=0, microsecond=0)
    if evening <= local + timedelta(hours=1):  # at least an hour ahead
        evening += timedelta(days=1)
    return evening.astimezone(UTC)


# -- schedule_letter itself, on a sample --------------------------------------------------------


def check_schedule_letter(app: Flask, found: Directory, count: int) -> dict[str, float]:
    """Schedule `count` letters with `delivery.schedule_letter`, one at a time and committed as
    the `letter.confirmed` handler does, timed; then check that `schedule()` (the bulk load)
    gives exactly the same times (jitter 0, so both are deterministic)."""
    from sqlalchemy import select

    from campaigns.core.db import utcnow
    from campaigns.extensions import db
    from campaigns.lobbying.delivery import schedule_letter
    from campaigns.lobbying.models import Letter, LetterDelivery, LetterDeliveryStatus

    reset(app)
    letters = make_letters(found, count, first_id=1, tag="check")
    base = utcnow()
    confirmed = [base + timedelta(seconds=2 * n) for n in range(count)]
    insert_rows(app, Letter, letters.rows)
    awaiting = [
        {
            "id": letters.first_delivery_id + n,
            "letter_id": letter_id,
            "target_id": target_id,
            "status": LetterDeliveryStatus.AWAITING_CONFIRMATION,
            "attempts": 0,
        }
        for n, (letter_id, target_id) in enumerate(
            (row["id"], t)
            for row, targets in zip(letters.rows, letters.targets, strict=True)
            for t in targets
        )
    ]
    insert_rows(app, LetterDelivery, awaiting)
    analyze(app)
    with pacing(app, LOBBYING_JITTER=0.0):
        started = time.perf_counter()
        for row, now in zip(letters.rows, confirmed, strict=True):
            with app.app_context():
                schedule_letter(row["id"], now)
                db.session.commit()
        elapsed = time.perf_counter() - started
        expected, _free = schedule(app, found, letters, confirmed, seed=0)
    with app.app_context():
        got = db.session.execute(
            select(
                LetterDelivery.id,
                LetterDelivery.status,
                LetterDelivery.due_at,
                LetterDelivery.deferred_by,
            ).order_by(LetterDelivery.id)
        ).all()
    want = [(r["id"], r["status"], r["due_at"], r["deferred_by"]) for r in expected]
    if [tuple(g) for g in got] != want:
        wrong = next(w for g, w in zip(got, want, strict=True) if tuple(g) != w)
        raise BenchError(f"the bulk schedule differs from schedule_letter's, e.g. {wrong}")
    reset(app)
    return {"letters": count, "seconds": elapsed, "deliveries": len(awaiting)}


# -- the tick while all wait ------------------------------------------------------------------------


def time_ticks(app: Flask, count: int) -> dict[str, list[float]]:
    """Milliseconds of `delivery.tick()` and of the whole beat task, each in a fresh app context
    (as each Celery task runs); nothing may be sent."""
    from campaigns.lobbying import delivery
    from workers.lobbying import tick as lobbying_task

    ticks, tasks = [], []
    for n in range(count + 10):  # 10 warm-up rounds, not counted
        with app.app_context():
            started = time.perf_counter()
            result = delivery.tick()
            elapsed = time.perf_counter() - started
        if result.sent or result.failed or result.deferred or result.more:
            raise BenchError(f"a tick found letters due while all should wait: {result}")
        started = time.perf_counter()
        lobbying_task()  # FlaskTask: runs in an app context of its own
        task_elapsed = time.perf_counter() - started
        if n >= 10:
            ticks.append(elapsed * 1000)
            tasks.append(task_elapsed * 1000)
    return {"tick": ticks, "task": tasks}


def claim_plan(app: Flask) -> str:
    """PostgreSQL's plan of the claim query's core (what the tick costs, whatever the size)."""
    from campaigns.extensions import db

    with app.app_context():
        rows = db.session.execute(
            sql_text(
                "EXPLAIN SELECT d.id FROM letter_deliveries d JOIN targets t ON t.id = d.target_id"
                " WHERE d.status = 'scheduled' AND d.due_at <= now()"
                " ORDER BY d.due_at LIMIT 200 FOR UPDATE OF d SKIP LOCKED"
            )
        ).all()
        db.session.rollback()
    return " / ".join(r[0].strip() for r in rows)


# -- the platform sending -----------------------------------------------------------------------------


def sample_letter(app: Flask) -> tuple[str, bytes]:
    """One delivery's email as the platform builds it (test mode): the ceiling sends copies."""
    from sqlalchemy import select

    from campaigns.core.mime import sender_address
    from campaigns.extensions import db
    from campaigns.lobbying.message import letter_email
    from campaigns.lobbying.models import LetterDelivery

    with app.app_context(), app.test_request_context():
        delivery = db.session.scalars(select(LetterDelivery).order_by(LetterDelivery.id)).first()
        email, test_mode = letter_email(delivery)
        if not test_mode or email.envelope_to != TEST_INBOX:
            raise BenchError(f"a letter would go to {email.envelope_to}, not the test inbox")
        return sender_address(email.sender), email.as_bytes()


def delivery_states(app: Flask) -> dict[str, int]:
    from campaigns.extensions import db

    with app.app_context():
        rows = db.session.execute(
            sql_text(
                "SELECT status || CASE WHEN test_mode THEN ' (test)' WHEN test_mode IS NULL"
                " THEN '' ELSE ' (LIVE)' END, count(*) FROM letter_deliveries GROUP BY 1"
            )
        ).all()
        sent_mails = db.session.scalar(
            sql_text("SELECT count(*) FROM sent_mails WHERE template = 'lobbying/letter'")
        )
    return {**dict(rows), "sent_mails rows": sent_mails}


ROUND = re.compile(r"letters: (\d+) sent, (\d+) failed")
TASK_DONE = re.compile(r"Task lobbying\.tick\[[^\]]+\] succeeded in ([\d.]+)s")


def worker_log_stats(worker: Child) -> dict[str, float]:
    """From the worker's INFO log: letters per tick round, and lobbying.tick tasks run."""
    text = worker.log_path.read_text(errors="replace")
    rounds = [int(m[1]) for m in ROUND.finditer(text)]
    tasks = [float(m[1]) for m in TASK_DONE.finditer(text)]
    return {
        "rounds": len(rounds),
        "per_round_median": median(rounds),
        "per_round_max": max(rounds, default=0),
        "tasks": len(tasks),
        "task_max_s": max(tasks, default=0.0),
    }


def send_with_platform(
    procs: Processes,
    sink: Sink,
    env: dict[str, str],
    workdir: Path,
    size: int,
    args: argparse.Namespace,
) -> dict:
    worker = procs.spawn(
        f"worker-{size}",
        [
            venv_bin("celery"),
            "-A",
            "celery_worker",
            "worker",
            "-Q",
            "default",
            "--concurrency",
            str(args.concurrency),
            "--pool",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"lobbying{size}@%h",
            "--loglevel",
            "INFO",
        ],
        env=env,
    )
    wait_until(lambda: " ready." in worker.tail(200), 60, "the Celery worker", procs)
    watch = MemoryWatch([worker.pid])
    watch.sample()
    before = sink.poll()
    start = time.time()
    beat = procs.spawn(
        f"beat-{size}",
        [
            venv_bin("celery"),
            "-A",
            "celery_worker",
            "beat",
            "--schedule",
            str(workdir / f"celerybeat-schedule-{size}"),
            "--loglevel",
            "INFO",
        ],
        env=env,
    )
    cpu = CpuSampler({"worker": worker.pid, "beat": beat.pid, "sink": sink.child.pid})
    deadline = start + args.send_timeout
    samples = 0
    while sink.poll() < before + size:
        procs.check()
        watch.sample()
        samples += 1
        if samples % 4 == 0:
            cpu.sample()
        if time.time() > deadline:
            break
        time.sleep(0.25)
    cores = cpu.cores()
    arrived = sink.poll() - before
    end = sink.times[-1] if arrived >= size else time.time()
    procs.stop([beat])
    time.sleep(1.5)  # anything sent twice would arrive now
    watch.sample()
    arrived = sink.poll() - before
    procs.stop([worker])
    recipients = Counter(r for line in sink.recipients[before:] for r in line.split(","))
    children = {pid: rss for pid, rss in watch.peaks.items() if pid != worker.pid}
    return {
        "arrived": arrived,
        "complete": arrived >= size,
        "elapsed": end - start,
        "first_after": sink.times[before] - start if arrived else float("nan"),
        "rate": min(arrived, size) / (end - start),
        "steady_rate": (min(arrived, size) - 1) / (end - sink.times[before])
        if arrived > 1
        else float("nan"),
        "recipients": recipients,
        "sending_peak_mb": max(children.values(), default=0) / 2**20,
        "sending_peaks_mb": sorted((v / 2**20 for v in children.values()), reverse=True),
        "parent_peak_mb": watch.peaks.get(worker.pid, 0) / 2**20,
        "cores": cores,
        "log": worker_log_stats(worker),
    }


# -- one size --------------------------------------------------------------------------------------


def run_size(
    app: Flask,
    procs: Processes,
    sink: Sink,
    env: dict[str, str],
    workdir: Path,
    found: Directory,
    size: int,
    args: argparse.Namespace,
) -> dict:
    from campaigns.core.db import utcnow
    from campaigns.extensions import db
    from campaigns.lobbying.models import Letter, LetterDelivery

    supporters = max(1, size // TARGETS_PER_LETTER)
    result: dict = {"size": supporters * TARGETS_PER_LETTER, "supporters": supporters}
    size = result["size"]
    reset(app)

    # 1. All waiting: confirmed from 19:00 on, one every 0.36 s (10,000 in an hour), paced as
    # configured.
    started = time.perf_counter()
    letters = make_letters(found, supporters, first_id=1, tag=secrets.token_hex(3))
    evening = evening_after(utcnow())
    gap = 3600 / max(supporters, 10_000)
    confirmed = [evening + timedelta(seconds=gap * n) for n in range(supporters)]
    for row, at in zip(letters.rows, confirmed, strict=True):
        row.update(created_at=at, confirmation_requested_at=at, confirmed_at=at)
    waiting, free = schedule(app, found, letters, confirmed, seed=size)
    built = time.perf_counter() - started
    insert_rows(app, Letter, letters.rows)
    insert_rows(app, LetterDelivery, waiting)
    set_next_slots(app, free)
    analyze(app)
    result["load_s"] = time.perf_counter() - started
    result["build_s"] = built
    now = utcnow()
    result["waiting_from"] = min(r["due_at"] for r in waiting) - now
    result["waiting_until"] = max(r["due_at"] for r in waiting) - now
    print(
        f"  {size:,} letters of {supporters:,} supporters loaded in {result['load_s']:.1f} s"
        f" (schedule built in {built:.1f} s); due from {result['waiting_from']} to"
        f" {result['waiting_until']} from now",
        flush=True,
    )
    result["plan"] = claim_plan(app)
    result["ticks"] = time_ticks(app, args.ticks)
    print(
        f"  tick while all wait: median {median(result['ticks']['tick']):.2f} ms,"
        f" p95 {percentile(result['ticks']['tick'], 95):.2f} ms",
        flush=True,
    )

    # 2. Pacing lifted: the same letters, confirmed over the past hour, all due.
    now = utcnow()
    confirmed = [now - timedelta(seconds=3600 - 3600 * n / supporters) for n in range(supporters)]
    with pacing(app, **LIFTED):
        due, free = schedule(app, found, letters, confirmed, seed=size)
    with app.app_context():
        db.session.execute(sql_text("TRUNCATE letter_deliveries"))
        db.session.commit()
    insert_rows(app, LetterDelivery, due)
    set_next_slots(app, free)
    analyze(app)
    later = sum(1 for r in due if r["due_at"] > utcnow())
    if later:
        raise BenchError(f"{later} deliveries are not due yet (office hours at 23:59 local?)")

    # 3. The ceiling: N copies of one of these letters over one connection.
    sender, message = sample_letter(app)
    result["message_bytes"] = len(message)
    result["ceiling"], result["ceiling_cores"] = ceiling(sink, sender, message, size)
    print(f"  ceiling: {result['ceiling']:,.0f} msg/s; now the platform...", flush=True)

    # 4. The platform: a worker and beat, until the sink holds every letter.
    sent = send_with_platform(procs, sink, env, workdir, size, args)
    result.update(sent)
    result["states"] = delivery_states(app)
    others = {r: n for r, n in sent["recipients"].items() if r != TEST_INBOX}
    if others:
        raise BenchError(f"letters reached addresses other than the test inbox: {others}")
    print(
        f"  platform: {sent['arrived']:,} letters in {sent['elapsed']:.1f} s ="
        f" {sent['rate']:,.0f} letters/s; states {result['states']}",
        flush=True,
    )
    return result


# -- main --------------------------------------------------------------------------------------------


def cleanup(procs: Processes, db_name: str, prefix: str) -> None:
    procs.close()
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db_name))
        )
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_started = time.monotonic()
    db_name = f"bench_lobbying_{secrets.token_hex(4)}"
    prefix = f"bench-lobbying-{secrets.token_hex(4)}:"
    base = PG_URL.rsplit("/", 1)[0]
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db_name)))
        pg_version = admin.execute("SHOW server_version").fetchone()[0].split()[0]
    workdir = Path(tempfile.mkdtemp(prefix="bench-lobbying-"))
    procs = Processes(dict(os.environ), workdir)
    results = []
    try:
        sink = Sink(procs, workdir)
        settings = {
            "DATABASE_URL": f"{base}/{db_name}",
            "REDIS_URL": REDIS_URL,
            "REDIS_KEY_PREFIX": prefix,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "CAMPAIGNS_PROFILE": "production",
            "SESSION_COOKIE_SECURE": "false",
            "MAIL_SERVER": HOST,
            "MAIL_PORT": str(sink.port),
            "LOBBYING_DELIVERY": "test",
            "LOBBYING_TEST_INBOX": TEST_INBOX,
        }
        # This process keeps the configured pacing (the tick phase); the worker and beat get it
        # lifted.
        os.environ.update(settings)
        env = {
            **os.environ,
            **{name: str(value) for name, value in LIFTED.items()},
            "PYTHONUNBUFFERED": "1",
        }
        from flask_migrate import upgrade

        from campaigns import create_app

        app = create_app()
        with app.app_context():
            upgrade()
        found = load_directory(app)
        configured = {
            name: app.config[name]
            for name in (
                "LOBBYING_PER_TARGET_PER_HOUR",
                "LOBBYING_OFFICE_HOURS",
                "LOBBYING_JITTER",
                "LOBBYING_BATCH_SIZE",
            )
        }
        print(f"database {db_name} (PostgreSQL {pg_version}), configured pacing {configured}")
        check = check_schedule_letter(app, found, args.check_letters)
        print(
            f"schedule_letter: {check['letters']} letters ({check['deliveries']} deliveries) in"
            f" {check['seconds']:.2f} s = {check['letters'] / check['seconds']:,.0f} letters/s,"
            " each committed; the bulk schedule gives the same times",
            flush=True,
        )
        for size in args.sizes:
            print(f"{size:,} letters:", flush=True)
            results.append(run_size(app, procs, sink, env, workdir, found, size, args))
    finally:
        cleanup(procs, db_name, prefix)
    report(results, check, configured, args, time.monotonic() - run_started)
    return 0


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
    ratios = [r["rate"] / r["ceiling"] for r in results]
    verdicts.append(
        (
            ">= 70 % of the ceiling, every letter sent",
            " / ".join(f"{100 * x:.0f} %" for x in ratios),
            bool(ratios) and min(ratios) >= 0.70 and all(r["complete"] for r in results),
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


if __name__ == "__main__":
    sys.exit(main())

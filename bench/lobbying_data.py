"""The lobbying benchmark's database content (bench/lobbying.py runs it).

720 MEPs (the Parliament's seats per country, each in its capital's time zone), a live letter
campaign with ready letters in three languages and its action; the supporters' letters and their
deliveries, scheduled as `delivery.schedule_letter` schedules them and loaded by Core bulk INSERT.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bench.mailing import sql_text

if TYPE_CHECKING:
    from flask import Flask

TEST_INBOX = "letters-test@bench.example.org"
TARGETS_PER_LETTER = 5

# Pacing lifted, for the throughput phase (the worker's environment, and the bench's schedule).
LIFTED = {
    "LOBBYING_PER_TARGET_PER_HOUR": 10_000_000,
    "LOBBYING_OFFICE_HOURS": "Mon-Sun 00:00-24:00",
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

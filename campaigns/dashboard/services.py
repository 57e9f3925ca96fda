"""The figures of a campaign's dashboard, all from aggregates.

Campaign-wide, nothing here reads signature rows one by one: the confirmed counts by country and
network come from the Redis tallies, the time series from HourlyConfirmations, the pending count
from an indexed COUNT. A coordinator sees only the signatures their network brought; that set is
small, so it is counted in the database with queries filtered by source network.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select

from campaigns.campaign.models import Campaign, CampaignStatus
from campaigns.core.db import utcnow
from campaigns.core.i18n import EU_MEMBER_STATES
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions.models import Petition, Signature, SignatureStatus
from campaigns.petitions.tallies.hourly import confirmations_by_hour, floor_hour
from campaigns.petitions.tallies.models import HourlyConfirmations
from campaigns.petitions.tallies.services import current_tally, page_views

HOURLY_SPAN = 48  # hours in the "last hours" chart

# European Citizens' Initiative: at least ECI_TOTAL signatures, and the minimum of
# eci_thresholds.csv reached in at least ECI_COUNTRIES_NEEDED member states.
ECI_TOTAL = 1_000_000
ECI_COUNTRIES_NEEDED = 7
_ECI_FILE = Path(__file__).resolve().parent.parent / "data" / "eci_thresholds.csv"


@functools.cache
def eci_minimums() -> dict[str, int]:
    """Minimum signatures per member state (ISO code -> count), read once."""
    with _ECI_FILE.open(newline="", encoding="utf-8") as f:
        return {row["country_code"]: int(row["min_signatures"]) for row in csv.DictReader(f)}


@dataclass
class EciCountry:
    code: str
    signatures: int
    minimum: int

    @property
    def share(self) -> float:
        return self.signatures / self.minimum

    @property
    def reached(self) -> bool:
        return self.signatures >= self.minimum


@dataclass
class EciProgress:
    countries: list[EciCountry]
    total: int  # signatures from EU member states, the ones an initiative counts

    @property
    def countries_reached(self) -> int:
        return sum(1 for c in self.countries if c.reached)

    @property
    def countries_needed(self) -> int:
        return ECI_COUNTRIES_NEEDED

    @property
    def total_needed(self) -> int:
        return ECI_TOTAL


@dataclass
class NetworkRow:
    network_id: int | None  # None: signatures that came without a network's link
    name: str | None
    confirmed: int


@dataclass
class Dashboard:
    campaign: Campaign
    petition: Petition
    scope: Network | None  # the coordinator's network, or None for every network
    confirmed: int
    pending: int
    by_country: dict[str, int]
    networks: list[NetworkRow]
    hourly: list[tuple[datetime, int]]  # local start of each hour, confirmations
    daily: list[tuple[date, int]]  # local day, confirmations
    eci: EciProgress | None = None
    page_views: int | None = None  # campaign-wide only: views are not counted per network
    as_of: datetime = field(default_factory=utcnow)

    @property
    def conversion(self) -> float | None:
        """Confirmed among the signatures still held: confirmed or pending (those not confirmed
        in time are deleted, and withdrawn ones are gone, so neither counts)."""
        signed = self.confirmed + self.pending
        return self.confirmed / signed if signed else None

    @property
    def view_conversion(self) -> float | None:
        """Confirmed signatures per view of the petition page."""
        return self.confirmed / self.page_views if self.page_views else None

    @property
    def goal_share(self) -> float:
        return self.confirmed / self.petition.goal if self.petition.goal else 0.0


def build_dashboard(
    campaign: Campaign, network: Network | None, zone: ZoneInfo, now: datetime | None = None
) -> Dashboard:
    """The dashboard of `campaign`, limited to the signatures `network` brought when given.
    Times are grouped in `zone` (the staff member's), counted in UTC hours."""
    petition = campaign.petition
    now = now or utcnow()
    if network is None:
        tally = current_tally(petition.id)
        confirmed, by_country = tally.total, tally.by_country
        pending = _count(petition.id, SignatureStatus.PENDING)
        networks = _network_rows(tally.by_network, tally.total)
        per_hour = _stored_hours(petition.id)
    else:
        scoped = Signature.source_network_id == network.id
        statuses = _status_counts(petition.id, scoped)
        confirmed = statuses.get(SignatureStatus.CONFIRMED, 0)
        pending = statuses.get(SignatureStatus.PENDING, 0)
        by_country = _country_counts(petition.id, scoped)
        networks = [NetworkRow(network.id, network.name, confirmed)]
        per_hour = confirmations_by_hour(Signature.petition_id == petition.id, scoped)
    return Dashboard(
        campaign=campaign,
        petition=petition,
        scope=network,
        confirmed=confirmed,
        pending=pending,
        by_country=by_country,
        networks=networks,
        hourly=hourly_series(per_hour, zone, now),
        daily=daily_series(per_hour, zone, now, _first_day(campaign, zone), _runs_on(campaign)),
        eci=eci_progress(by_country) if petition.eci_progress else None,
        page_views=page_views(petition.id) if network is None else None,
        as_of=now,
    )


def eci_progress(by_country: dict[str, int]) -> EciProgress:
    minimums = eci_minimums()
    countries = [EciCountry(cc, by_country.get(cc, 0), minimums[cc]) for cc in EU_MEMBER_STATES]
    return EciProgress(countries=countries, total=sum(c.signatures for c in countries))


def hourly_series(
    per_hour: dict[datetime, int], zone: ZoneInfo, now: datetime
) -> list[tuple[datetime, int]]:
    """The last HOURLY_SPAN hours up to the current one, oldest first, with their counts."""
    last = floor_hour(now)
    hours = [last - timedelta(hours=n) for n in range(HOURLY_SPAN - 1, -1, -1)]
    # A handler's -1 may reach an hour before its +1 does (see tallies): never show below zero.
    return [(hour.astimezone(zone), max(per_hour.get(hour, 0), 0)) for hour in hours]


def daily_series(
    per_hour: dict[datetime, int],
    zone: ZoneInfo,
    now: datetime,
    first_day: date | None,
    running: bool,
) -> list[tuple[date, int]]:
    """Every day of the campaign in `zone`: from its launch (or first confirmation) to today
    while it runs, or to its last confirmation once it is over."""
    per_day: dict[date, int] = {}
    for hour, n in per_hour.items():
        day = hour.astimezone(zone).date()
        per_day[day] = per_day.get(day, 0) + n
    days_with_data = [day for day, n in per_day.items() if n > 0]
    today = now.astimezone(zone).date()
    candidates = days_with_data + ([first_day] if first_day else [])
    if not candidates:
        return []
    start = min(candidates)
    end = max(today if running or not days_with_data else max(days_with_data), start)
    return [
        (start + timedelta(days=n), max(per_day.get(start + timedelta(days=n), 0), 0))
        for n in range((end - start).days + 1)
    ]


def _first_day(campaign: Campaign, zone: ZoneInfo) -> date | None:
    return campaign.launched_at.astimezone(zone).date() if campaign.launched_at else None


def _runs_on(campaign: Campaign) -> bool:
    return campaign.status in (CampaignStatus.LIVE, CampaignStatus.PAUSED)


def _stored_hours(petition_id: int) -> dict[datetime, int]:
    rows = db.session.execute(
        select(HourlyConfirmations.hour, HourlyConfirmations.confirmed).where(
            HourlyConfirmations.petition_id == petition_id
        )
    )
    return dict(rows.all())


def _count(petition_id: int, status: SignatureStatus) -> int:
    # Served by the (petition_id, status, country) index.
    return db.session.scalar(
        select(func.count())
        .select_from(Signature)
        .where(Signature.petition_id == petition_id, Signature.status == status)
    )


def _status_counts(
    petition_id: int, *conditions: ColumnElement[bool]
) -> dict[SignatureStatus, int]:
    rows = db.session.execute(
        select(Signature.status, func.count())
        .where(Signature.petition_id == petition_id, *conditions)
        .group_by(Signature.status)
    )
    return dict(rows.all())


def _country_counts(petition_id: int, *conditions: ColumnElement[bool]) -> dict[str, int]:
    rows = db.session.execute(
        select(Signature.country, func.count())
        .where(
            Signature.petition_id == petition_id,
            Signature.status == SignatureStatus.CONFIRMED,
            *conditions,
        )
        .group_by(Signature.country)
    )
    return dict(rows.all())


def _network_rows(by_network: dict[int, int], total: int) -> list[NetworkRow]:
    names = dict(db.session.execute(select(Network.id, Network.name)).all())
    rows = [NetworkRow(nid, names.get(nid, "?"), n) for nid, n in by_network.items() if n]
    rows.sort(key=lambda row: (-row.confirmed, row.name or ""))
    direct = total - sum(by_network.values())
    if direct > 0:
        rows.append(NetworkRow(None, None, direct))
    return rows

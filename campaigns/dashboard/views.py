"""The campaign dashboard page: key figures, charts and the map, each with its table."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime, format_skeleton
from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, format_percent, get_locale
from flask_babel import gettext as _

from campaigns.campaign.models import Campaign, CampaignKind
from campaigns.core.i18n import SIGNER_COUNTRIES, country_name
from campaigns.dashboard import charts
from campaigns.dashboard.services import Dashboard, build_dashboard
from campaigns.extensions import db
from campaigns.lobbying.action_services import letter_counts, mode_of
from campaigns.networks.models import Network
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.models import Capability, Role

bp = Blueprint("dashboard", __name__, url_prefix="/staff/campaigns")


@bp.route("/<int:campaign_id>/dashboard")
@staff_required(Capability.VIEW_CAMPAIGNS)
def campaign_dashboard(campaign_id: int) -> ResponseReturnValue:
    user = current_staff()
    if user.role == Role.COORDINATOR and user.network_id is None:
        abort(403)  # never "all networks" by accident of a missing network
    campaign = db.get_or_404(Campaign, campaign_id)
    network = db.session.get(Network, user.scoped_network_id) if user.scoped_network_id else None
    if campaign.kind == CampaignKind.LETTER and campaign.letter_action is not None:
        return _letter_page(campaign, network)
    if campaign.petition is None:
        abort(404)
    zone = _zone(user.timezone)
    board = build_dashboard(campaign, network, zone)
    translation = campaign.translation_for(str(get_locale()))
    return render_template(
        "dashboard/campaign.html",
        board=board,
        title=translation.title if translation else campaign.slug,
        charts=_charts(board, zone),
        countries=_country_rows(board),
        hour_label=lambda moment: _hour_label(moment, zone),
        day_label=lambda day: format_date(day, "medium", locale=get_locale()),
        percent=share_percent,
        can_export=user.can(Capability.EXPORT),
    )


def _letter_page(campaign: Campaign, network: Network | None) -> ResponseReturnValue:
    """A letter campaign has no signatures to chart yet: its letters, counted (those the staff
    member's network brought, for a coordinator), and where they go."""
    translation = campaign.translation_for(str(get_locale()))
    action = campaign.letter_action
    return render_template(
        "dashboard/letter.html",
        campaign=campaign,
        title=translation.title if translation else campaign.slug,
        counts=letter_counts(action, network.id if network else None),
        network=network,
        mode=mode_of(action),
        can_edit=current_staff().can(Capability.EDIT_CAMPAIGNS),
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def share_percent(share: float) -> str:
    """A share as a percentage. One that is not nothing never reads "0%": 2 signatures of a
    goal of 10,000 read "< 0.1%"."""
    if 0 < share < 0.0005:  # below what rounds to 0.1%
        return "< " + format_percent(0.001, "#,##0.#%")
    return format_percent(share, "#,##0.#%")


def _hour_label(moment: datetime, zone: ZoneInfo) -> str:
    # CLDR has no "day, month, hour" skeleton; the date and the 24-hour time side by side read
    # well in every language.
    locale = get_locale()
    day = format_skeleton("MMMd", moment, tzinfo=zone, locale=locale)
    return f"{day} {format_skeleton('Hm', moment, tzinfo=zone, locale=locale)}"


def _country_rows(board: Dashboard) -> list[tuple[str, str, int]]:
    """(code, name, confirmed) for every signer country and "elsewhere", most signatures first."""
    codes = [*SIGNER_COUNTRIES, *(cc for cc in board.by_country if cc not in SIGNER_COUNTRIES)]
    rows = [(cc, country_name(cc), board.by_country.get(cc, 0)) for cc in codes]
    return sorted(rows, key=lambda row: (-row[2], row[1]))


HOURLY_LABEL_EVERY = 6


def _hourly_points(
    hourly: list[tuple[datetime, int]], zone: ZoneInfo
) -> list[tuple[str, str, int]]:
    """(axis label, full label, value) per hour; the axis names the day under the first time
    written and under the first one of each new day."""
    locale = get_locale()
    points, last_day = [], None
    for i, (hour, value) in enumerate(hourly):
        axis = format_datetime(hour, "HH:mm", tzinfo=zone, locale=locale)
        day = hour.astimezone(zone).date()
        if i % HOURLY_LABEL_EVERY == 0 and day != last_day:
            axis += "\n" + format_skeleton("MMMd", day, locale=locale)
            last_day = day
        points.append((axis, _hour_label(hour, zone), value))
    return points


def _charts(board: Dashboard, zone: ZoneInfo) -> dict[str, object]:
    locale = get_locale()
    n = format_decimal

    hourly = _hourly_points(board.hourly, zone)
    busiest_hour = max(board.hourly, key=lambda point: point[1])
    hourly_desc = _(
        "Confirmed signatures per hour over the last %(hours)d hours: %(total)s in all.",
        hours=len(board.hourly),
        total=n(sum(v for _h, v in board.hourly)),
    )
    if busiest_hour[1]:
        hourly_desc += " " + _(
            "The busiest hour began %(when)s, with %(count)s.",
            when=_hour_label(busiest_hour[0], zone),
            count=n(busiest_hour[1]),
        )

    daily = [
        (
            format_skeleton("MMMd", day, locale=locale),
            format_date(day, "medium", locale=locale),
            value,
        )
        for day, value in board.daily
    ]
    daily_desc = _(
        "Confirmed signatures per day over %(days)d days: %(total)s in all.",
        days=len(board.daily),
        total=n(sum(v for _d, v in board.daily)),
    )
    if board.daily and max(v for _d, v in board.daily):
        best_day = max(board.daily, key=lambda point: point[1])
        daily_desc += " " + _(
            "The best day was %(day)s, with %(count)s.",
            day=format_date(best_day[0], "medium", locale=locale),
            count=n(best_day[1]),
        )

    in_tiles = {cc: v for cc, v in board.by_country.items() if cc in charts.TILES}
    leader = max(in_tiles.items(), key=lambda item: item[1], default=None)
    map_desc = _(
        "A tile map of the EU member states and Norway, one square per country in its "
        "approximate place, darker for more confirmed signatures; each square shows its "
        "country code and figure. %(with)d of %(all)d countries have signatures.",
        **{"with": sum(1 for v in in_tiles.values() if v), "all": len(charts.TILES)},
    )
    if leader and leader[1]:
        map_desc += " " + _(
            "Most: %(country)s, %(count)s.", country=country_name(leader[0]), count=n(leader[1])
        )

    network_bars = [
        charts.Bar(row.name or _("No network link"), row.confirmed, n(row.confirmed))
        for row in board.networks
    ]
    result = {
        "hourly": charts.column_chart(
            "chart-hourly",
            _("Confirmed signatures per hour, last %(hours)d hours", hours=len(board.hourly)),
            hourly_desc,
            hourly,
            label_every=HOURLY_LABEL_EVERY,
            axes=(_("Hour (%(zone)s)", zone=zone.key), _("Confirmed signatures")),
        ),
        "daily": charts.column_chart(
            "chart-daily",
            _("Confirmed signatures per day"),
            daily_desc,
            daily,
            label_every=max(1, math.ceil(len(daily) / 8)),
            axes=(_("Day"), _("Confirmed signatures")),
        ),
        "map": charts.tile_map(
            "chart-map",
            _("Map of Europe: confirmed signatures by country"),
            map_desc,
            board.by_country,
            country_name,
        ),
        "networks": charts.bar_list(
            "chart-networks",
            _("Confirmed signatures by network"),
            _("One bar per network that brought signatures, with its figure."),
            network_bars,
        ),
    }
    if board.eci:
        ranked = sorted(board.eci.countries, key=lambda c: (-c.share, country_name(c.code)))
        result["eci"] = charts.bar_list(
            "chart-eci",
            _("Share of each country's minimum reached"),
            _(
                "%(reached)d of the %(needed)d countries needed have reached their minimum.",
                reached=board.eci.countries_reached,
                needed=board.eci.countries_needed,
            ),
            [
                charts.Bar(
                    country_name(c.code),
                    c.share,
                    share_percent(c.share) + (" ✓ " + _("reached") if c.reached else ""),
                    done=c.reached,
                )
                for c in ranked
            ],
            scale=1.0,
            reference=(1.0, _("minimum")),
        )
    return result

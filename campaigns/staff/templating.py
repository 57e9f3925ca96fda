"""What staff templates can use: the signed-in person, the navigation, labels, dates."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from flask import Blueprint, current_app, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from campaigns.audit.services import ACTIONS
from campaigns.core.i18n import language_name
from campaigns.staff.auth import current_staff
from campaigns.staff.models import Capability, Role
from campaigns.staff.passwords import MIN_LENGTH


class NavItem(NamedTuple):
    label: str
    href: str
    current: bool


# The workspace's sections: (endpoint, label, capability needed, the blueprints whose pages belong
# to it: the menu shows the section as current on them). A section appears once its blueprint is
# registered and the person's role includes the capability.
SECTIONS = [
    (
        "editor.index",
        _l("Campaigns"),
        Capability.VIEW_CAMPAIGNS,
        ("editor", "editor_texts", "editor_status", "dashboard", "exports"),
    ),
    (
        "staff_mailings.index",
        _l("Mailings"),
        Capability.SEND_MAILINGS,
        ("staff_mailings", "mailing_sending"),
    ),
    ("targets.index", _l("Targets"), Capability.VIEW_TARGETS, ("targets",)),
    (
        "network_directory.index",
        _l("Member networks"),
        Capability.EDIT_OWN_NETWORK,
        ("network_directory", "webhooks", "shared_supporters"),
    ),
    ("api_keys.index", _l("API keys"), Capability.MANAGE_API_KEYS, ("api_keys",)),
    ("alerts.log", _l("Alerts"), Capability.SEND_ALERTS, ("alerts",)),
    ("mail_catcher.index", _l("Mail catcher"), Capability.READ_MAIL_CATCHER, ("mail_catcher",)),
    ("staff_team.team", _l("Staff accounts"), Capability.MANAGE_STAFF, ("staff_team",)),
    ("audit.log", _l("Audit log"), Capability.READ_AUDIT_LOG, ("audit",)),
    ("operations.status", _l("System status"), Capability.VIEW_SYSTEM_STATUS, ("operations",)),
]

ROLE_NAMES = {
    Role.ADMIN: _l("Administrator"),
    Role.CAMPAIGNER: _l("Campaigner"),
    Role.COORDINATOR: _l("Coordinator"),
}


def staff_navigation() -> list[NavItem]:
    user = current_staff()
    if user is None:
        return []
    endpoint = request.endpoint or ""
    items = []
    blueprint = endpoint.partition(".")[0]
    for section_endpoint, label, capability, blueprints in SECTIONS:
        if section_endpoint not in current_app.view_functions or not user.can(capability):
            continue
        current = endpoint == section_endpoint or blueprint in blueprints
        items.append(NavItem(str(label), url_for(section_endpoint), current))
    return items


def staff_datetime(value: datetime | None, format: str = "medium") -> str:
    """A timestamp in the signed-in person's time zone (stored in UTC), with the zone named."""
    if value is None:
        return ""
    user = current_staff()
    zone_name = user.timezone if user else "UTC"
    # Babel's own formatting, not Flask-Babel's, which would convert back to its default zone.
    text = babel_dates.format_datetime(
        value, format, tzinfo=ZoneInfo(zone_name), locale=get_locale()
    )
    return f"{text} ({zone_name})"


def init_staff_templating(bp: Blueprint) -> None:
    @bp.app_context_processor
    def staff_context() -> dict[str, object]:
        return {
            "current_staff": current_staff,
            "staff_navigation": staff_navigation,
            "role_name": lambda role: str(ROLE_NAMES[Role(role)]),
            "action_label": lambda code: str(ACTIONS.get(code, code)),
            "password_hint": lambda: _(
                "At least %(count)d characters. A few unrelated words make a strong, "
                "memorable password.",
                count=MIN_LENGTH,
            ),
        }

    bp.add_app_template_filter(staff_datetime, "datetime")
    bp.add_app_template_filter(language_name, "language_name")

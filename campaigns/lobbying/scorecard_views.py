"""Each letter action's public scorecard: who was written to, how many letters each received,
who answered and how."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue
from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l

from campaigns.lobbying import services
from campaigns.lobbying.mode import letters_go_live
from campaigns.lobbying.models import Position
from campaigns.lobbying.scorecard import build_scorecard

bp = Blueprint("scorecard", __name__, url_prefix="/<lang>")

POSITION_LABELS = {
    Position.SUPPORTS: _l("Supports"),
    Position.OPPOSES: _l("Opposes"),
    Position.UNDECIDED: _l("Undecided"),
    Position.NO_REPLY: _l("No reply"),
}


def position_label(position: Position | str | None) -> str:
    """How a target answered, in words; None: nothing logged yet."""
    if position is None:
        return str(_l("No answer yet"))
    return str(POSITION_LABELS[Position(position)])


@bp.route("/write/<slug>/scorecard")
def show(slug: str) -> ResponseReturnValue:
    action = services.live_action(slug)
    translation = action.campaign.translation_for(str(get_locale())) if action else None
    if action is None or translation is None:
        abort(404)
    return render_template(
        "lobbying/scorecard.html",
        campaign=action.campaign,
        translation=translation,
        card=build_scorecard(action),
        test_mode=not letters_go_live(action),
        position_label=position_label,
        day=lambda value: format_date(value, "medium"),
    )

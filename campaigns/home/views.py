"""The public home page: the network's live campaigns."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

from campaigns.campaign.models import CampaignKind
from campaigns.campaign.services import live_campaigns
from campaigns.lobbying.action_services import confirmed_letters
from campaigns.networks.services import member_networks
from campaigns.petitions.tallies.services import current_tally

bp = Blueprint("home", __name__)


@bp.route("/")
def root() -> ResponseReturnValue:
    # No language in the URL: the saved choice, then the browser's preference (see core.i18n).
    return redirect(url_for("home.home", lang=str(get_locale())), 302)


@bp.route("/favicon.ico")
def favicon() -> ResponseReturnValue:
    # Browsers ask for /favicon.ico whatever the page says; without this it would look like a
    # language code.
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.route("/<lang>/")
def home() -> ResponseReturnValue:
    locale = str(get_locale())
    campaigns = live_campaigns()
    letters = confirmed_letters([c.letter_action.id for c in campaigns if c.letter_action])
    cards = []
    for campaign in campaigns:
        translation = campaign.translation_for(locale)
        if translation is None:
            continue
        if campaign.kind == CampaignKind.LETTER:
            if campaign.letter_action is None:
                continue
            # Supporters write to policymakers: the count is of letters, and there is no goal.
            card = {"letter": True, "total": letters[campaign.letter_action.id]}
        elif campaign.petition is not None:
            card = {
                "letter": False,
                "petition": campaign.petition,
                "total": current_tally(campaign.petition.id).total,
            }
        else:
            continue
        cards.append({"campaign": campaign, "translation": translation, **card})
    return render_template("home/home.html", cards=cards, networks=member_networks())

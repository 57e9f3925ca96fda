"""The public home page: the network's live campaigns."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

from campaigns.campaign.services import live_campaigns
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
    cards = []
    for campaign in live_campaigns():
        translation = campaign.translation_for(locale)
        if translation is None or campaign.petition is None:
            continue
        cards.append(
            {
                "campaign": campaign,
                "translation": translation,
                "petition": campaign.petition,
                "total": current_tally(campaign.petition.id).total,
            }
        )
    return render_template("home/home.html", cards=cards, networks=member_networks())

"""The public pages of the member networks: the list, each active network's page (who they are,
the live campaigns with links that credit them, and how many signatures they brought: counts,
never names), and the logos, served by us."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from sqlalchemy import select

from campaigns.campaign.services import live_campaigns
from campaigns.extensions import db
from campaigns.lobbying.action_services import confirmed_letters
from campaigns.networks.models import Network, NetworkLogo
from campaigns.networks.services import active_network, member_networks
from campaigns.petitions.tallies.services import current_tally

bp = Blueprint("network_pages", __name__)

# A logo's URL carries its SHA-256: a new logo is a new URL, so browsers may keep one a year.
LOGO_CACHE = "public, max-age=31536000, immutable"


@bp.app_context_processor
def _network_links() -> dict[str, object]:
    # For any page that names networks (the home page): a link to each one's page.
    return {"network_page_url": network_page_url, "network_logo_url": network_logo_url}


def network_page_url(network: Network) -> str | None:
    if not network.is_active:
        return None
    # On a staff page no language is in the URL: the page's own.
    return url_for(
        "network_pages.network", slug=network.slug, lang=g.get("lang") or str(get_locale())
    )


def network_logo_url(network: Network) -> str | None:
    logo = network.logo
    if logo is None:
        return None
    return url_for("network_pages.logo", network_id=network.id, sha256=logo.sha256)


@bp.route("/<lang>/networks/")
def index() -> ResponseReturnValue:
    return render_template("network_directory/public/index.html", networks=member_networks())


@bp.route("/<lang>/networks/<slug>")
def network(slug: str) -> ResponseReturnValue:
    network = active_network(slug)
    if network is None:
        abort(404)
    locale = str(get_locale())
    campaigns = [c for c in live_campaigns() if c.translation_for(locale) is not None]
    letter_counts = confirmed_letters(
        [c.letter_action.id for c in campaigns if c.letter_action is not None],
        network_id=network.id,
    )
    petitions, letters = [], []
    for campaign in campaigns:
        row = {"campaign": campaign, "translation": campaign.translation_for(locale)}
        if campaign.petition is not None:
            # Confirmed signatures only, from the counters the petition page shows.
            tally = current_tally(campaign.petition.id)
            petitions.append({**row, "brought": tally.by_network.get(network.id, 0)})
        elif campaign.letter_action is not None:
            letters.append({**row, "brought": letter_counts.get(campaign.letter_action.id, 0)})
    return render_template(
        "network_directory/public/network.html",
        network=network,
        petitions=petitions,
        letters=letters,
        total=sum(row["brought"] for row in petitions),
        paragraphs=[p.strip() for p in network.description.split("\n\n") if p.strip()],
    )


@bp.route("/networks/<int:network_id>/logo/<sha256>.png")
def logo(network_id: int, sha256: str) -> ResponseReturnValue:
    """The stored PNG (re-encoded on upload), whatever was sent."""
    found = db.session.scalar(select(NetworkLogo).where(NetworkLogo.network_id == network_id))
    if found is None or found.sha256 != sha256:
        abort(404)
    if request.if_none_match.contains(found.sha256):
        return Response(status=304, headers={"Cache-Control": LOGO_CACHE, "ETag": f'"{sha256}"'})
    return Response(
        found.data,
        mimetype="image/png",
        headers={
            "Cache-Control": LOGO_CACHE,
            "ETag": f'"{found.sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="logo-{network_id}.png"',
            # An image, never a document: nothing in it may run or load anything.
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
            "Cross-Origin-Resource-Policy": "same-origin",
        },
    )

"""The attribution kit: for each live campaign, what a member network shares to bring signatures
it is credited with: the `?source=` link, its QR code (drawn here, so no third party learns what
is shared), and for petitions the snippet that embeds the signing form on the network's site."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import segno
from flask import current_app
from markupsafe import escape

from campaigns.campaign.models import Campaign
from campaigns.campaign.services import live_campaigns
from campaigns.core.urls import public_url
from campaigns.networks.models import Network

EMBED_ENDPOINT = "embed.petition"
RESIZE_SCRIPT = "embed-resize.js"  # static/, served by us; optional on the network's page
FRAME_HEIGHT = 720


@dataclass(frozen=True)
class KitItem:
    campaign: Campaign
    title: str
    locale: str  # the language its links open in
    is_petition: bool
    link: str
    qr_data_uri: str
    snippet: str | None  # None: no embeddable form (a letter action, or embedding not installed)


def source_link(campaign: Campaign, network: Network, locale: str) -> str:
    endpoint = "petitions.petition" if campaign.petition is not None else "lobbying.write"
    return public_url(endpoint, lang=locale, slug=campaign.slug, source=network.slug)


def qr_code(link: str) -> segno.QRCode:
    # Error correction "m": still readable from a slightly damaged or badly printed poster.
    return segno.make(link, error="m")


def qr_svg(link: str, title: str) -> bytes:
    """The QR code as an SVG file to download (for posters, flyers, stickers)."""
    out = io.BytesIO()
    qr_code(link).save(out, kind="svg", scale=10, title=title, dark="#000", light="#fff")
    return out.getvalue()


def embedding_available() -> bool:
    return EMBED_ENDPOINT in current_app.view_functions


def resize_script_url() -> str | None:
    """Our resizing script, if this installation has it."""
    path = os.path.join(current_app.static_folder or "", RESIZE_SCRIPT)
    return public_url("static", filename=RESIZE_SCRIPT) if os.path.exists(path) else None


def embed_snippet(campaign: Campaign, network: Network, locale: str, title: str) -> str | None:
    """The HTML the network pastes into its page: the form in a frame and, optionally, the
    script that sizes the frame to the form (by postMessage, from our origin only). The
    embeddable form's own module writes it when it offers to, so the two never disagree."""
    if campaign.petition is None or not embedding_available():
        return None
    try:
        from campaigns.petitions.embed_views import embed_code
    except ImportError:
        return _own_snippet(campaign, network, locale, title)
    return str(embed_code(network.slug, campaign.slug, locale, title))


def _own_snippet(campaign: Campaign, network: Network, locale: str, title: str) -> str:
    url = public_url(EMBED_ENDPOINT, lang=locale, network_slug=network.slug, slug=campaign.slug)
    lines = [
        f'<iframe src="{escape(url)}" width="100%" height="{FRAME_HEIGHT}" loading="lazy" '
        f'title="{escape(title)}"></iframe>'
    ]
    script = resize_script_url()
    if script:
        lines.append(f'<script src="{escape(script)}" async></script>')
    return "\n".join(lines)


def kit_languages(network: Network) -> list[str]:
    """The languages a kit can be had in: the network's own first, then the platform's others
    (a network in Belgium or Switzerland shares in more than one)."""
    platform = list(current_app.config["LANGUAGES"])
    own = [code for code in network.languages if code in platform]
    return own + [code for code in platform if code not in own]


def kit_language(network: Network, wanted: str | None) -> str:
    """`wanted` if the kit can be had in it, else the network's first language."""
    languages = kit_languages(network)
    return wanted if wanted in languages else languages[0]


def kit_items(network: Network, locale: str | None = None) -> list[KitItem]:
    """One item per live campaign that has a text to show, in `locale` (default: the network's
    own language) where the campaign is ready in it, else in the campaign's own."""
    locale = kit_language(network, locale)
    items = []
    for campaign in live_campaigns():
        if campaign.petition is None and campaign.letter_action is None:
            continue
        translation = campaign.translation_for(locale)
        if translation is None:
            continue
        link = source_link(campaign, network, translation.locale)
        items.append(
            KitItem(
                campaign=campaign,
                title=translation.title,
                locale=translation.locale,
                is_petition=campaign.petition is not None,
                link=link,
                qr_data_uri=qr_code(link).svg_data_uri(scale=4, dark="#000", light="#fff"),
                snippet=embed_snippet(campaign, network, translation.locale, translation.title),
            )
        )
    return items

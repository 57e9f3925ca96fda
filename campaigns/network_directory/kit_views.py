"""The attribution kit's pages: the kit of a network, and each QR code as a file to download."""

from __future__ import annotations

from flask import Response, abort, render_template, request
from flask.typing import ResponseReturnValue

from campaigns.network_directory import kit as kits
from campaigns.network_directory.blueprint import OWN, bp, can_manage, network_or_403
from campaigns.staff.auth import staff_required


@bp.route("/<int:network_id>/kit")
@staff_required(OWN)
def kit(network_id: int) -> ResponseReturnValue:
    network = network_or_403(network_id)
    language = kits.kit_language(network, request.args.get("lang"))
    return render_template(
        "network_directory/kit.html",
        network=network,
        # A deactivated network's links attribute nothing: no kit to hand out.
        items=kits.kit_items(network, language) if network.is_active else [],
        embedding=kits.embedding_available(),
        can_manage=can_manage(),
        language=language,
        languages=kits.kit_languages(network),
    )


@bp.route("/<int:network_id>/kit/<int:campaign_id>/qr.svg")
@staff_required(OWN)
def qr_download(network_id: int, campaign_id: int) -> ResponseReturnValue:
    network = network_or_403(network_id)
    items = kits.kit_items(network, request.args.get("lang"))
    item = next((item for item in items if item.campaign.id == campaign_id), None)
    if item is None or not network.is_active:
        abort(404)
    svg = kits.qr_svg(item.link, item.title)
    filename = f"qr-{item.campaign.slug}-{network.slug}-{item.locale}.svg"
    return Response(
        svg,
        mimetype="image/svg+xml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

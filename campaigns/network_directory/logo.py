"""A network's logo: checked, redrawn as a PNG and kept in the database, so no page ever asks
a third party for an image and nothing hidden in the upload (GPS position, camera, comments, a
script in an SVG) reaches a visitor.

An upload is read by Pillow only if it is PNG, JPEG or WebP; its size and dimensions are checked
before its pixels are decoded; then its pixels are copied into a new image (no metadata comes
along) and encoded as a PNG no larger than a page needs.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from campaigns.audit.services import record as audit
from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.networks.models import Network, NetworkLogo

MAX_BYTES = 512 * 1024
MAX_SIDE = 2000  # pixels, either way, of an upload
STORED_SIDE = 512  # the longer side of the stored logo: pages show it at most 12rem wide
# What Pillow may guess from the file's bytes: no other decoder ever sees an upload.
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
# Pixel modes a PNG keeps as they are; others (palette, CMYK, 16-bit...) become RGB(A).
_KEEP_MODES = ("RGB", "RGBA", "L", "LA")


class LogoError(ValueError):
    """Why an upload is not accepted, in words for the person who sent it."""


@dataclass(frozen=True)
class CleanLogo:
    data: bytes
    width: int
    height: int
    sha256: str


def check_logo(data: bytes) -> CleanLogo:
    """The upload as a clean PNG, or LogoError."""
    if not data:
        raise LogoError(_("The file is empty. Please choose a PNG, JPEG or WebP image."))
    if len(data) > MAX_BYTES:
        raise LogoError(
            _(
                "The file is %(size)d KB; a logo may be at most %(max)d KB. Please make it "
                "smaller (fewer pixels, or saved as a compressed JPEG or WebP).",
                size=-(-len(data) // 1024),
                max=MAX_BYTES // 1024,
            )
        )
    if _looks_like_svg(data):
        raise LogoError(
            _(
                "SVG drawings are not accepted (they can carry scripts). Please export the logo "
                "as a PNG, JPEG or WebP image."
            )
        )
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
            width, height = probe.size
            _check_dimensions(width, height)
            probe.verify()  # the file's own checksums and structure, before any decoding
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            image.load()
            picture = _redrawn(image)
    except LogoError:
        raise
    except UnidentifiedImageError:
        raise LogoError(
            _("This file is not a PNG, JPEG or WebP image. Please choose one of those.")
        ) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise LogoError(
            _("The image could not be read: the file seems damaged or incomplete.")
        ) from None
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    png = out.getvalue()
    return CleanLogo(
        data=png,
        width=picture.width,
        height=picture.height,
        sha256=hashlib.sha256(png).hexdigest(),
    )


def _looks_like_svg(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def _check_dimensions(width: int, height: int) -> None:
    if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE:
        raise LogoError(
            _(
                "The image is %(width)d by %(height)d pixels; a logo may be at most %(max)d "
                "pixels wide and high. Please make it smaller.",
                width=width,
                height=height,
                max=MAX_SIDE,
            )
        )


def _redrawn(image: Image.Image) -> Image.Image:
    """Its pixels in a new image: upright (a photo's orientation applied), in a mode PNG keeps,
    at most STORED_SIDE wide or high, with none of the original's metadata."""
    upright = ImageOps.exif_transpose(image)
    has_alpha = "A" in upright.getbands() or "transparency" in upright.info
    if upright.mode not in _KEEP_MODES:
        upright = upright.convert("RGBA" if has_alpha else "RGB")
    upright.thumbnail((STORED_SIDE, STORED_SIDE), Image.Resampling.LANCZOS)
    return Image.frombytes(upright.mode, upright.size, upright.tobytes())


# --- Storing ------------------------------------------------------------------------------------


def set_logo(network: Network, logo: CleanLogo) -> bool:
    """Store `logo` as the network's; False when it is the same picture as before."""
    current = network.logo
    if current is not None and current.sha256 == logo.sha256:
        return False
    if current is None:
        current = network.logo = NetworkLogo(network_id=network.id)
    current.content_type = "image/png"
    current.data = logo.data
    current.sha256 = logo.sha256
    current.width = logo.width
    current.height = logo.height
    current.updated_at = utcnow()
    db.session.flush()
    audit(
        "network.logo_changed",
        target=network,
        detail={"logo": "uploaded", "sha256": logo.sha256, "size": [logo.width, logo.height]},
    )
    return True


def remove_logo(network: Network) -> bool:
    if network.logo is None:
        return False
    removed = network.logo.sha256
    network.logo = None
    db.session.flush()
    audit("network.logo_changed", target=network, detail={"logo": "removed", "sha256": removed})
    return True

"""A network's logo: checked (type, size, dimensions), redrawn as a PNG without the upload's
metadata, served by us with long caching and the right headers; every refusal explained."""

from __future__ import annotations

import io
import os
import re

import pytest
from PIL import Image

from tests.network_directory.conftest import audit_actions, network, post_form


def image_bytes(format: str, size=(300, 120), color=(91, 36, 128), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=format, **save)
    return out.getvalue()


def photo_with_gps() -> bytes:
    """A JPEG as a phone writes it: camera, GPS position, and 'rotate 90°' in its EXIF."""
    exif = Image.Exif()
    exif[0x0110] = "SecretCam 3000"  # camera model
    exif[0x0112] = 6  # orientation: the picture must be turned 90° clockwise
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.0)
    return image_bytes("JPEG", size=(400, 200), exif=exif.tobytes())


def upload(client, network_id: int, data: bytes, filename: str = "logo.png"):
    url = f"/staff/networks/{network_id}/logo"
    return post_form(
        client,
        url,
        {"logo": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def logo_url(html: str) -> str:
    return re.search(r'src="(/networks/\d+/logo/[0-9a-f]{64}\.png)"', html).group(1)


def test_a_photo_loses_its_metadata_and_is_served_as_a_png(admin, client):
    asud = network("asud")
    response = upload(admin, asud.id, photo_with_gps(), "photo.jpg")
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    stored = network("asud").logo
    assert stored.content_type == "image/png"
    # Turned upright as the EXIF asked, and no larger than a page needs.
    assert (stored.width, stored.height) == (200, 400)
    assert audit_actions(asud.id) == ["network.logo_changed"]

    page = admin.get(response.location).get_data(as_text=True)
    assert "The logo of ASUD" in page
    url = logo_url(page)
    assert stored.sha256 in url

    served = client.get(url)  # anyone: it is shown on public pages
    assert served.status_code == 200
    assert served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "max-age=31536000" in served.headers["Cache-Control"]
    assert "immutable" in served.headers["Cache-Control"]
    assert "Set-Cookie" not in served.headers
    data = served.get_data()
    assert b"SecretCam" not in data
    assert b"eXIf" not in data
    assert b"Exif" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert not image.getexif()
        assert "exif" not in image.info
        assert image.size == (200, 400)

    # Another address (an old logo's) is not found, and a browser's copy stays good.
    assert client.get(url.replace(stored.sha256, "0" * 64)).status_code == 404
    cached = client.get(url, headers={"If-None-Match": f'"{stored.sha256}"'})
    assert cached.status_code == 304


@pytest.mark.parametrize("kind", ["PNG", "WEBP"])
def test_png_and_webp_are_accepted(admin, kind):
    asud = network("asud")
    assert upload(admin, asud.id, image_bytes(kind), f"logo.{kind.lower()}").status_code == 303
    assert network("asud").logo.width == 300


def refusal(response) -> str:
    assert response.status_code == 422, response.status_code
    html = response.get_data(as_text=True)
    return re.search(r'<p class="error" id="logo-error">(.*?)</p>', html, re.S).group(1)


def test_an_svg_renamed_png_is_refused(admin):
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    message = refusal(upload(admin, network("asud").id, svg, "logo.png"))
    assert "SVG drawings are not accepted" in message
    assert network("asud").logo is None


def test_what_is_no_image_is_refused(admin):
    asud = network("asud").id
    assert "not a PNG, JPEG or WebP image" in refusal(upload(admin, asud, b"GIF89a" + b"\0" * 100))
    assert "not a PNG, JPEG or WebP image" in refusal(upload(admin, asud, b"just some text"))
    gif = image_bytes("GIF")
    assert "not a PNG, JPEG or WebP image" in refusal(upload(admin, asud, gif, "logo.gif"))
    truncated = image_bytes("PNG", size=(200, 200))[:60]
    assert "damaged or incomplete" in refusal(upload(admin, asud, truncated))
    assert "Please choose an image file." in refusal(upload(admin, asud, b"", ""))


def test_an_oversized_logo_is_refused_with_its_size(admin):
    noise = Image.frombytes("RGB", (600, 600), os.urandom(600 * 600 * 3))
    out = io.BytesIO()
    noise.save(out, format="PNG")
    assert len(out.getvalue()) > 512 * 1024
    message = refusal(upload(admin, network("asud").id, out.getvalue()))
    assert "a logo may be at most 512 KB" in message


def test_too_many_pixels_are_refused(admin):
    wide = image_bytes("PNG", size=(2100, 10))
    message = refusal(upload(admin, network("asud").id, wide))
    assert "2100 by 10 pixels" in message


def test_a_file_far_too_large_gets_a_clear_page(admin):
    response = upload(admin, network("asud").id, b"\0" * (3 * 1024 * 1024))
    assert response.status_code == 413
    assert "A logo may be at most 512 KB" in response.get_data(as_text=True)


def test_the_logo_is_replaced_and_removed(admin, client):
    asud = network("asud")
    upload(admin, asud.id, image_bytes("PNG"))
    first = network("asud").logo.sha256
    upload(admin, asud.id, image_bytes("PNG", color=(0, 0, 0)))
    second = network("asud").logo.sha256
    assert first != second
    assert client.get(f"/networks/{asud.id}/logo/{first}.png").status_code == 404

    removed = post_form(
        admin,
        f"/staff/networks/{asud.id}/logo/remove",
        {},
        page_url=f"/staff/networks/{asud.id}/logo",
    )
    assert removed.status_code == 303
    assert network("asud").logo is None
    assert client.get(f"/networks/{asud.id}/logo/{second}.png").status_code == 404
    assert audit_actions(asud.id) == ["network.logo_changed"] * 3


def test_a_coordinator_changes_their_own_logo_only(asud_coordinator):
    asud = network("asud").id
    assert upload(asud_coordinator, asud, image_bytes("PNG")).status_code == 303
    jes = network("jes").id
    own_page = f"/staff/networks/{asud}/logo"
    removed = post_form(asud_coordinator, f"/staff/networks/{jes}/logo/remove", {}, own_page)
    assert removed.status_code == 403
    sent = post_form(
        asud_coordinator,
        f"/staff/networks/{jes}/logo",
        {"logo": (io.BytesIO(image_bytes("PNG")), "logo.png")},
        own_page,
        content_type="multipart/form-data",
    )
    assert sent.status_code == 403
    assert network("jes").logo is None
    assert asud_coordinator.get(f"/staff/networks/{jes}/logo").status_code == 403

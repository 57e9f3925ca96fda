"""Files as a hostile client uploads them (multipart/form-data, encoded by hand so that a
filename or a content type can be anything), and the properties of the answer to an upload.

A file is drawn by kind: a real PNG, JPEG or WebP image (of any size and pixel mode), one
damaged, cut short or claiming a huge size, another format, an SVG, random bytes, nothing, or a
file past the logo's limit or past the whole request's. Large files are padded with bytes made
from a drawn seed, not drawn byte by byte, so that a few MB cost little."""

from __future__ import annotations

import io
import random
import re
import struct
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from hypothesis import event
from hypothesis import strategies as st
from PIL import Image

from tests.fuzz.forms import assert_sound, find_form
from tests.fuzz.strategies import hostile_bytes, text_values
from tests.support import csrf_token

BOUNDARY = b"fuzz-boundary-9c5e0b7d4a1f"
KB = 1024

FILENAMES = [
    "logo.png",
    "LOGO.JPG",
    "logo.webp",
    "",
    "logo",
    "logo.svg",
    "../../etc/passwd",
    "C:\\fakepath\\logo.png",
    "名前 ロゴ.png",
    "logo.png\x00.exe",
    'lo"go.png',
    "logo\r\nContent-Type: text/html.png",
    "%0d%0a.png",
    "." * 300 + ".png",
]
CONTENT_TYPES = [
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/svg+xml",
    "application/octet-stream",
    "text/html",
    "",
    "image/png; charset=utf-8",
]


@dataclass
class Upload:
    kind: str
    filename: bytes
    content_type: bytes
    data: bytes = field(repr=False)

    def plain(self) -> bool:
        """Whether its part's headers are as a browser writes them: UTF-8, no control character,
        no quote. Werkzeug drops a whole form with a part header that is no UTF-8 (the CSRF
        token with it, so that is a 400), and a quote or a line break changes the part."""
        headers = self.filename + self.content_type
        try:
            headers.decode()
        except UnicodeDecodeError:
            return False
        return not re.search(rb'[\x00-\x1f\x7f"]', headers)


def _image(fmt: str, mode: str, width: int, height: int, seed: int) -> bytes:
    """An image of noise (so that it compresses as a photo does, not as a flat colour)."""
    bands = len(Image.new(mode, (1, 1)).getbands())
    noise = random.Random(seed).randbytes(width * height * bands)
    out = io.BytesIO()
    Image.frombytes(mode, (width, height), noise).save(out, format=fmt)
    return out.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a size its few bytes of pixels do not hold."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 16)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _padded(data: bytes, size: int, seed: int) -> bytes:
    return data + random.Random(seed).randbytes(max(0, size - len(data)))


FORMATS = {"PNG": ["RGB", "RGBA", "L", "P", "LA"], "JPEG": ["RGB", "L", "CMYK"], "WEBP": ["RGB"]}
images = st.sampled_from(sorted(FORMATS)).flatmap(
    lambda fmt: st.builds(
        _image,
        st.just(fmt),
        st.sampled_from(FORMATS[fmt]),
        st.integers(1, 300),
        st.integers(1, 300),
        st.integers(0, 2**24),
    )
)


KINDS = [
    "image",
    "damaged",
    "cut short",
    "too many pixels",
    "claims a huge size",
    "other format",
    "svg",
    "random bytes",
    "empty",
    "over the logo limit",
    "over the request limit",
]


@st.composite
def file_of(draw: st.DrawFn, kind: str) -> bytes:
    if kind == "image":
        return draw(images)
    if kind == "damaged":
        data = bytearray(draw(images))
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if kind == "cut short":
        data = draw(images)
        return data[: draw(st.integers(0, len(data) - 1))]
    if kind == "too many pixels":
        side = draw(st.integers(2001, 4000))
        return _image("PNG", "L", *draw(st.permutations([side, 1])), 0)
    if kind == "claims a huge size":
        sides = [draw(st.integers(2001, 2**31 - 1)), draw(st.integers(1, 2**31 - 1))]
        return _png_claiming(*draw(st.permutations(sides)))
    if kind == "other format":
        return _image(draw(st.sampled_from(["GIF", "BMP", "TIFF", "ICO"])), "RGB", 8, 8, 0)
    if kind == "svg":
        svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
        lead = draw(st.sampled_from([b"", b"\xef\xbb\xbf", b"  \n", b"<?xml version='1.0'?>"]))
        return lead + svg
    if kind == "random bytes":
        return draw(st.binary(min_size=1, max_size=2 * KB))
    if kind == "empty":
        return b""
    seed = draw(st.integers(0, 2**32))
    if kind == "over the logo limit":  # read, and refused with its size
        return _padded(draw(images), draw(st.integers(512 * KB + 1, 1900 * KB)), seed)
    assert kind == "over the request limit", kind
    return _padded(draw(images), draw(st.integers(2048 * KB + 1, 4096 * KB)), seed)


@st.composite
def uploads(draw: st.DrawFn, kind: str) -> Upload:
    data = draw(file_of(kind))
    # Mostly what a browser sends (UTF-8), so that most uploads get past the form's parsing.
    names = st.sampled_from(FILENAMES).map(str.encode)
    name = draw(st.one_of(names, names, text_values.map(str.encode), hostile_bytes))
    types = st.sampled_from(CONTENT_TYPES).map(str.encode)
    content_type = draw(st.one_of(types, types, types, hostile_bytes))
    return Upload(kind, name, content_type, data)


def multipart(fields: list[tuple[str, bytes]], field: str, upload: Upload) -> bytes:
    """A multipart/form-data body, byte for byte: the filename and content type as drawn."""
    parts = [
        b'Content-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + value
        for name, value in fields
    ]
    parts.append(
        b'Content-Disposition: form-data; name="'
        + field.encode()
        + b'"; filename="'
        + upload.filename
        + b'"\r\nContent-Type: '
        + upload.content_type
        + b"\r\n\r\n"
        + upload.data
    )
    return b"".join(b"--" + BOUNDARY + b"\r\n" + part + b"\r\n" for part in parts) + (
        b"--" + BOUNDARY + b"--\r\n"
    )


def fuzz_upload(client, data: st.DataObject, page: str, field: str, kind: str, max_kb: int) -> None:
    """Upload a drawn file with the form of `page`: no server error, and an answer that says
    what happened. A good image with a plain filename is taken (and then served as a PNG);
    any other is refused next to the field (422), or as too large when past the request's
    limit (413); a malformed part may be a bad request (400), never a server error."""
    response = client.get(page)
    assert_sound(response, f"GET {page}")
    assert response.status_code == 200, f"GET {page}: {response.status_code}"
    html = response.get_data(as_text=True)
    form = find_form(html, page)
    upload = data.draw(uploads(kind), label="upload")
    body = multipart([("csrf_token", csrf_token(html).encode())], field, upload)
    request = f"POST {form.action} ({upload.kind}, {len(upload.data) // KB} KB)"
    answer = client.post(
        form.action,
        data=body,
        content_type=f"multipart/form-data; boundary={BOUNDARY.decode()}",
    )
    assert_sound(answer, request)
    event("answer", str(answer.status_code))
    text = answer.get_data(as_text=True)
    allowed = {303, 413, 422} | (set() if upload.plain() else {400})
    assert answer.status_code in allowed, f"{request}: {answer.status_code}"
    if answer.status_code == 422:
        assert f'id="{field}-error"' in text, f"{request}: refused without saying why"
    elif answer.status_code == 413:
        assert f"{max_kb} KB" in text, f"{request}: too large, without the limit"
    elif answer.status_code == 303:
        assert upload.kind in {"image", "damaged", "cut short"}, f"{request}: taken"
        _assert_served(client, urlsplit(answer.headers["Location"]).path, request)
    if upload.kind == "image" and upload.plain() and upload.filename:
        assert answer.status_code == 303, f"{request}: a good image refused: {answer.status_code}"
    if upload.kind == "over the request limit":
        assert answer.status_code == 413, f"{request}: {answer.status_code}"


def _assert_served(client, page: str, request: str) -> None:
    """The page the upload leads to shows the logo, and the logo is a PNG served by us."""
    shown = client.get(page)
    assert_sound(shown, f"GET {page} after {request}")
    match = re.search(r'<img class="network-logo" src="([^"]+)"', shown.get_data(as_text=True))
    assert match, f"GET {page} after {request}: no logo shown"
    logo = client.get(match.group(1))
    assert logo.status_code == 200, f"GET {match.group(1)}: {logo.status_code}"
    assert logo.mimetype == "image/png", f"GET {match.group(1)}: {logo.mimetype}"
    assert logo.data.startswith(b"\x89PNG\r\n\x1a\n"), f"GET {match.group(1)}: not a PNG"

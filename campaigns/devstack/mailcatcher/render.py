"""Showing a caught message safely: its parts, its text with clickable links, its HTML cleaned.

The HTML part is an email written by anyone (our templates today, a test or a supporter's
comment inside one tomorrow). It is cleaned with nh3 (no script, no event handler, no form, no
image source) and then served on its own URL, inside a sandboxed frame, under a policy that lets
it load nothing at all: two independent layers, each enough on its own to keep scripts from
running and remote images (tracking pixels) from loading.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import nh3
from markupsafe import Markup, escape

# Shown above a message, in this order, when present.
HEADERS = (
    "From",
    "To",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)

# The policy of the frame that shows the HTML part: nothing may load or run, inline styles of
# the email aside; links open in a new tab outside the sandbox (to confirm a signature).
FRAME_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
        "sandbox allow-popups allow-popups-to-escape-sandbox",
    ]
)

_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)]}'\""

# What email layouts use (tables and a few presentational attributes), on top of nh3's defaults.
_TAGS = nh3.ALLOWED_TAGS | {"center", "font"}
_ATTRIBUTES = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"style", "lang", "dir", "title", "align", "width", "height"},
    "table": {"cellpadding", "cellspacing", "border", "role", "bgcolor"},
    "td": {"colspan", "rowspan", "valign", "bgcolor"},
    "th": {"colspan", "rowspan", "valign", "bgcolor", "scope"},
    "font": {"color", "size", "face"},
}
_STYLE_PROPERTIES = {
    "background",
    "background-color",
    "border",
    "border-bottom",
    "border-collapse",
    "border-left",
    "border-radius",
    "border-right",
    "border-top",
    "color",
    "display",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "height",
    "letter-spacing",
    "line-height",
    "margin",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "margin-top",
    "max-width",
    "padding",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "padding-top",
    "text-align",
    "text-decoration",
    "vertical-align",
    "width",
}


def _drop_image_sources(tag: str, attribute: str, value: str) -> str | None:
    # An image from elsewhere tells its sender when and where the mail was read.
    if tag == "img" and attribute == "src":
        return None
    return value


def clean_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=_drop_image_sources,
        filter_style_properties=_STYLE_PROPERTIES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )


def part_content(message: EmailMessage, subtype: str) -> str | None:
    """The message's text/`subtype` body as text, or None if it has none."""
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    try:
        return part.get_content()
    except (LookupError, UnicodeError, KeyError):  # an unknown or lying charset
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


def linkify(text: str) -> Markup:
    """Escaped text in which every http(s) address is a link (a confirmation link, say)."""
    pieces: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        pieces.append(escape(text[position : match.start()]))
        pieces.append(Markup('<a href="{0}" rel="noopener noreferrer">{0}</a>').format(url))
        position = match.start() + len(url)
    pieces.append(escape(text[position:]))
    return Markup("").join(pieces)


def headers_of(message: EmailMessage) -> list[tuple[str, str]]:
    shown = []
    for name in HEADERS:
        value = message.get(name)
        if value is not None:
            shown.append((name, str(value)))
    return shown


def sent_at(date_header: str) -> datetime | None:
    """The Date header as a datetime, or None if it is missing or malformed."""
    try:
        return parsedate_to_datetime(date_header) if date_header else None
    except (TypeError, ValueError):
        return None

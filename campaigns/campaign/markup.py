"""Catch, before saving, the HTML in a campaign's Markdown that the public page would drop.

The public page renders Markdown and sanitises the HTML with nh3 (core.templating.render_markdown),
so no script ever reaches a visitor. But dropping what someone wrote without telling them hides a
mistake (or an attempt): the editor refuses such a text instead, saying what is not allowed.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

import markdown as markdown_lib
import nh3

# Attributes nh3 keeps on every tag (ammonia's default generic attributes).
GENERIC_ATTRIBUTES = frozenset({"lang", "title"})
# Attributes holding an address: nh3 drops those whose scheme it does not allow (javascript:...).
URL_ATTRIBUTES = frozenset({"href", "src", "cite"})


class _StartTags(HTMLParser):
    """Every opening tag with its attributes (values unescaped, as a browser reads them)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def _start_tags(markup: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _StartTags()
    parser.feed(markup)
    parser.close()
    return parser.tags


def _nh3_keeps_url(tag: str, attribute: str, value: str) -> bool:
    # Ask nh3 itself rather than re-implementing its scheme rules.
    cleaned = nh3.clean(f'<{tag} {attribute}="{html.escape(value)}">x</{tag}>')
    return f"{attribute}=" in cleaned


def disallowed_markup(markdown_text: str) -> str | None:
    """The first piece of HTML (a tag, an attribute, an address) that sanitising would remove
    from the rendered text, e.g. "<script>" or "onclick", or None when the text is safe as it is."""
    # The same conversion as render_markdown, before sanitising.
    rendered = markdown_lib.markdown(markdown_text or "", extensions=["sane_lists"])
    for tag, attributes in _start_tags(rendered):
        if tag not in nh3.ALLOWED_TAGS:
            return f"<{tag}>"
        allowed = nh3.ALLOWED_ATTRIBUTES.get(tag, set()) | GENERIC_ATTRIBUTES
        for name, value in attributes:
            if name not in allowed:
                return name
            if name in URL_ATTRIBUTES and not _nh3_keeps_url(tag, name, value or ""):
                return f'{name}="{value}"'
    return None

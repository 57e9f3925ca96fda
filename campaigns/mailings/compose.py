"""Mailing text: Markdown with merge fields, checked when saved and prepared once per language.

A merge field is written `{{ first_name }}`, or `{{ first_name | friend }}` with a fallback used
when the value is missing. Values are inserted after the Markdown is rendered and sanitised, as
escaped text (HTML) or plain text, so nothing a supporter typed as their name can add markup, a
link or a mail header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import markdown as markdown_lib
import nh3
from flask_babel import lazy_gettext as _l
from markupsafe import escape

from campaigns.core.mail import header_safe
from campaigns.core.urls import public_url

if TYPE_CHECKING:
    from campaigns.campaign.models import Campaign
    from campaigns.mailings.models import Mailing

MERGE_FIELD = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|\s*([^{}]*?)\s*)?\}\}")

# The fields staff may use, with what they hold (the compose page lists them).
MERGE_FIELDS = {
    "first_name": _l("The recipient's first name, as they gave it when signing"),
    "campaign_title": _l("The title of the mailing's campaign, in the recipient's language"),
    "action_link": _l("A link to the mailing's campaign, in the recipient's language"),
}
# Fallbacks when a value is missing and the text gives none.
DEFAULT_FALLBACKS = {"first_name": "", "campaign_title": "", "action_link": ""}


class ComposeError(ValueError):
    pass


def problems(text: str) -> list[str]:
    """What is wrong with the merge fields of `text` (translated sentences)."""
    found = []
    for match in MERGE_FIELD.finditer(text):
        if match.group(1) not in MERGE_FIELDS:
            found.append(str(_l("Unknown merge field {{ %(name)s }}.", name=match.group(1))))
    leftover = MERGE_FIELD.sub("", text)
    if "{{" in leftover or "}}" in leftover:
        found.append(str(_l("A merge field is not closed: write it like {{ first_name }}.")))
    return found


# Placeholders that survive Markdown and nh3 untouched (letters and digits only, so they are
# also valid inside a link address).
def _token(index: int) -> str:
    return f"zqmergefield{index}zq"


_TOKEN = re.compile(r"zqmergefield(\d+)zq")


@dataclass(frozen=True)
class Template:
    """A subject or body with its merge fields replaced by numbered placeholders."""

    text: str
    fields: tuple[tuple[str, str | None], ...]  # (name, fallback) per placeholder

    def fill(self, values: dict[str, str], escape_html: bool = False) -> str:
        def value(match: re.Match) -> str:
            name, fallback = self.fields[int(match.group(1))]
            result = values.get(name) or (
                fallback if fallback is not None else DEFAULT_FALLBACKS[name]
            )
            return str(escape(result)) if escape_html else result

        return _TOKEN.sub(value, self.text)


def _tokenise(source: str) -> tuple[str, tuple[tuple[str, str | None], ...]]:
    fields: list[tuple[str, str | None]] = []

    def replace(match: re.Match) -> str:
        fields.append((match.group(1), match.group(2)))
        return _token(len(fields) - 1)

    return MERGE_FIELD.sub(replace, source), tuple(fields)


@dataclass(frozen=True)
class PreparedVersion:
    locale: str
    subject: Template
    text: Template
    html: Template

    def render(self, values: dict[str, str]) -> tuple[str, str, str]:
        """(subject, text, html) for one recipient."""
        subject = header_safe(self.subject.fill(values))
        return subject, self.text.fill(values), self.html.fill(values, escape_html=True)


def prepare(locale: str, subject: str, body_markdown: str) -> PreparedVersion:
    if problems(subject) or problems(body_markdown):
        raise ComposeError("; ".join(problems(subject) + problems(body_markdown)))
    subject_text, subject_fields = _tokenise(header_safe(subject))
    body_text, body_fields = _tokenise(body_markdown)
    # nl2br: a line break the author typed ("In solidarity,<newline>the team") stays one.
    html = markdown_lib.markdown(body_text, extensions=["sane_lists", "nl2br"])
    html = nh3.clean(html, link_rel="noopener noreferrer")
    html = _link_bare_action_links(html, body_fields)
    return PreparedVersion(
        locale=locale,
        subject=Template(subject_text, subject_fields),
        text=Template(plain_text(body_text), body_fields),
        html=Template(html, body_fields),
    )


# An element or tag, or the text between them (nh3's output is well formed).
_HTML_PARTS = re.compile(r"(<a\b[^>]*>.*?</a>)|(<[^>]+>)|([^<]+)", re.DOTALL)
# Long addresses wrap instead of widening the mail beyond a phone's screen.
_LINK_STYLE = "word-break:break-all;"


def _link_bare_action_links(html: str, fields: tuple[tuple[str, str | None], ...]) -> str:
    """`{{ action_link }}` written as text becomes a link in the HTML part; written as the
    address of a Markdown link (`[Sign](...)`), or inside a link already, it stays as it is."""
    linked = {_token(i) for i, (name, _fallback) in enumerate(fields) if name == "action_link"}
    if not linked:
        return html

    def link(token: re.Match) -> str:
        if token.group(0) not in linked:
            return token.group(0)
        address = token.group(0)
        return f'<a href="{address}" rel="noopener noreferrer" style="{_LINK_STYLE}">{address}</a>'

    def part(match: re.Match) -> str:
        text = match.group(3)
        return _TOKEN.sub(link, text) if text is not None else match.group(0)

    return _HTML_PARTS.sub(part, html)


_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_MD_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_MD_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)
_MD_CODE = re.compile(r"`([^`]*)`")


def plain_text(markdown: str) -> str:
    """The text part of a mail written in Markdown: what a reader sees, without the marks that
    only make sense rendered (`**bold**` reads "bold"; a link reads "text (address)")."""
    text = _MD_IMAGE.sub(r"\1", markdown)
    text = _MD_LINK.sub(
        lambda m: m.group(1) if m.group(1) == m.group(2) else f"{m.group(1)} ({m.group(2)})", text
    )
    text = _MD_STRONG.sub(r"\2", text)
    text = _MD_EMPHASIS.sub(r"\2", text)
    text = _MD_HEADING.sub("", text)
    return _MD_CODE.sub(r"\1", text)


def merge_values(
    mailing: Mailing, locale: str, first_name: str, source_code: str | None = None
) -> dict[str, str]:
    """The merge fields' values for one recipient. The action link is the campaign in their
    language, attributed to the network that brought them; it carries no personal token, so a
    forwarded mail reveals nothing and nobody is tracked."""
    return {
        "first_name": first_name,
        **_campaign_values(mailing.action_campaign, locale, source_code),
    }


def _campaign_values(
    campaign: Campaign | None, locale: str, source_code: str | None = None
) -> dict[str, str]:
    if campaign is None:
        return {}
    translation = campaign.translation_for(locale)
    query = {"source": source_code} if source_code else {}
    return {
        "campaign_title": translation.title if translation else "",
        "action_link": public_url(
            _action_endpoint(campaign), lang=locale, slug=campaign.slug, **query
        ),
    }


def _action_endpoint(campaign: Campaign) -> str:
    """The public page where a supporter acts: a petition's, or a letter campaign's writing page
    (CampaignKind.LETTER, a str enum: compared as its value, like the rest of this module, which
    needs the campaign models for type hints only)."""
    return "lobbying.write" if campaign.kind == "letter" else "petitions.petition"


@dataclass(frozen=True)
class MergeExample:
    written: str  # "{{ first_name | friend }}"
    meaning: str
    for_ada: str  # what a supporter who signed as "Ada Lovelace" receives
    for_nameless: str  # what a supporter who gave no first name receives


EXAMPLE_NAME = "Ada"
_EXAMPLES = ("first_name", "first_name | friend", "campaign_title", "action_link")


def merge_examples(campaign: Campaign | None, locale: str) -> list[MergeExample]:
    """What each merge field produces, worked out by the code that fills them in, for the
    compose page: staff see output, not syntax."""
    values = {"first_name": EXAMPLE_NAME, **_campaign_values(campaign, locale)}
    nameless = {**values, "first_name": ""}
    examples = []
    for example in _EXAMPLES:
        written = "{{ " + example + " }}"
        template = Template(*_tokenise(written))
        name = example.split("|")[0].strip()
        examples.append(
            MergeExample(
                written, str(MERGE_FIELDS[name]), template.fill(values), template.fill(nameless)
            )
        )
    return examples

"""Bulk messages, assembled fast: the layout of each language is rendered once per mailing and
each recipient's message is filled in and encoded directly, without building an object tree.

Every message carries what bulk senders must (RFC 2369, RFC 8058, RFC 2919; Gmail's, Yahoo's and
Microsoft's sender rules): List-Unsubscribe with an https and a mailto address,
List-Unsubscribe-Post for one-click, List-Id, a Message-ID on our domain, Date, a text and an HTML
part and a visible unsubscribe link; and the link to the supporter's preferences page
(campaigns.privacy), where they withdraw any signature or consent. The envelope sender is a per-recipient VERP address, so a
bounce names the delivery it belongs to.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from dataclasses import dataclass
from email.utils import formatdate, parseaddr
from urllib.parse import quote

from flask import current_app, render_template
from flask_babel import force_locale
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import escape

from campaigns.core.mime import (
    alternative,
    encode_header,
    encode_sender,
    header_safe,
    message_id_domain,
)
from campaigns.core.urls import public_url
from campaigns.mailings.compose import PreparedVersion

_UNSUBSCRIBE_SALT = "mailing-unsubscribe"
# The supporter's preferences page (campaigns.privacy): a salt of its own, so that its link
# opens nothing else.
_PREFERENCES_SALT = "mailing-preferences"
# Stand-ins for per-recipient links in the layout rendered once per language.
_UNSUBSCRIBE_URL = "zqunsubscribeurlzq"
_PREFERENCES_URL = "zqpreferencesurlzq"
_SUBJECT = "zqsubjectzq"  # the page title of the HTML part: the subject
_LINK_ID = "zqlinkidzq"  # where each recipient's signed token goes


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_UNSUBSCRIBE_SALT)


def unsubscribe_token(delivery_id: int) -> str:
    """Never expires: an unsubscribe link must work for as long as someone keeps the mail."""
    return _serializer().dumps(delivery_id)


def delivery_id_from_token(token: str) -> int | None:
    return _delivery_id(_serializer(), token)


def _preferences_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_PREFERENCES_SALT)


def preferences_token(delivery_id: int) -> str:
    """The token of the preferences link in a mailing (campaigns.privacy reads it). Never
    expires, like the unsubscribe link; no timestamp, so one delivery always has one link."""
    return _preferences_serializer().dumps(delivery_id)


def delivery_id_from_preferences_token(token: str) -> int | None:
    """The delivery a preferences link names. Mails sent before the preferences page existed
    carried the unsubscribe token at the same address: it is read too."""
    found = _delivery_id(_preferences_serializer(), token)
    return found if found is not None else delivery_id_from_token(token)


def _delivery_id(serializer: URLSafeSerializer, token: str) -> int | None:
    try:
        value = serializer.loads(token)
    except BadSignature:
        return None
    # bool is an int too, and no delivery's id.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _verp_signature(delivery_id: int, key: bytes | None = None) -> str:
    key = key or current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, str(delivery_id).encode(), hashlib.sha256).hexdigest()[:10]


def delivery_id_from_verp(address: str) -> int | None:
    """The delivery a VERP address names, or None. The id must be plain ASCII digits, few enough
    for the database's integer: str.isdigit() would take "²" (which int() refuses) or another
    script's digits, and an error here would have a webhook's provider retry for ever."""
    local = parseaddr(address)[1].partition("@")[0]
    _, plus, tag = local.partition("+")
    delivery, dash, signature = tag.partition("-")
    if not (plus and dash and re.fullmatch(r"[0-9]{1,9}", delivery)):
        return None
    if not hmac.compare_digest(signature, _verp_signature(int(delivery))):
        return None
    return int(delivery)


@dataclass(frozen=True)
class Layout:
    """One language of a mailing: its text and the footer, ready to fill in per recipient."""

    version: PreparedVersion
    text_footer: str
    html_before: str
    html_after: str


def prepare_layout(version: PreparedVersion) -> Layout:
    with force_locale(version.locale):
        text_footer = render_template(
            "emails/mailings/footer.txt",
            unsubscribe_url=_UNSUBSCRIBE_URL,
            preferences_url=_PREFERENCES_URL,
        )
        html = render_template(
            "emails/mailings/bulk.html",
            locale=version.locale,
            body="zqbodyzq",
            subject=_SUBJECT,
            unsubscribe_url=_UNSUBSCRIBE_URL,
            preferences_url=_PREFERENCES_URL,
        )
    before, _, after = html.partition("zqbodyzq")
    return Layout(version, text_footer, before, after)


@dataclass(frozen=True)
class Recipient:
    delivery_id: int
    email: str
    values: dict[str, str]


class MessageFactory:
    """Builds the bytes of each recipient's message (headers and body) and its envelope."""

    def __init__(self, mailing_id: int) -> None:
        config = current_app.config
        self.sender = encode_sender(config["MAIL_DEFAULT_SENDER"])
        self.domain = message_id_domain(
            config["MAIL_MESSAGE_ID_DOMAIN"], config["MAIL_DEFAULT_SENDER"]
        )
        self.list_id = config["MAILING_LIST_ID"] or f"news.{self.domain}"
        self.mailto = config["MAILING_UNSUBSCRIBE_MAILTO"] or config["MAILING_BOUNCE_ADDRESS"]
        self.mailing_id = mailing_id
        self._date = ("", 0)
        # Made once per batch, not per message: the signing keys and each language's links.
        self._tokens = _serializer()
        self._preference_tokens = _preferences_serializer()
        self._verp_key = config["SECRET_KEY"].encode()
        self._verp_local, _, self._verp_domain = config["MAILING_BOUNCE_ADDRESS"].partition("@")
        self._links: dict[str, tuple[str, str]] = {}

    def _links_for(self, lang: str) -> tuple[str, str]:
        """The unsubscribe and preferences URLs of `lang`, with a stand-in for the token."""
        if lang not in self._links:
            self._links[lang] = (
                public_url("mailings_public.unsubscribe", lang=lang, token=_LINK_ID),
                public_url("privacy.preferences", lang=lang, token=_LINK_ID),
            )
        return self._links[lang]

    def _verp(self, delivery_id: int) -> str:
        """bounces+<delivery id>-<signature>@domain: a bounce sent there names its delivery,
        and the signature stops anyone from suppressing addresses by forging bounces."""
        signature = _verp_signature(delivery_id, self._verp_key)
        return f"{self._verp_local}+{delivery_id}-{signature}@{self._verp_domain}"

    def _now(self) -> str:
        second = int(time.time())
        if self._date[1] != second:
            self._date = (formatdate(second, usegmt=True), second)
        return self._date[0]

    def build(self, layout: Layout, recipient: Recipient) -> tuple[str, bytes, str]:
        """(envelope sender, message bytes, Message-ID)."""
        token = self._tokens.dumps(recipient.delivery_id)
        lang = layout.version.locale
        unsubscribe_link, preferences_link = self._links_for(lang)
        unsubscribe_url = unsubscribe_link.replace(_LINK_ID, token)
        preferences_url = preferences_link.replace(
            _LINK_ID, self._preference_tokens.dumps(recipient.delivery_id)
        )
        subject, text, html = layout.version.render(recipient.values)
        text = text + "\n\n" + layout.text_footer
        html = layout.html_before.replace(_SUBJECT, str(escape(subject))) + html + layout.html_after
        text = text.replace(_UNSUBSCRIBE_URL, unsubscribe_url).replace(
            _PREFERENCES_URL, preferences_url
        )
        html = html.replace(_UNSUBSCRIBE_URL, unsubscribe_url).replace(
            _PREFERENCES_URL, preferences_url
        )
        message_id = f"<{uuid.uuid4().hex}.m{self.mailing_id}@{self.domain}>"
        content_type, body = alternative(text, html)
        mailto = f"mailto:{self.mailto}?subject=" + quote(f"unsubscribe {token}")
        head = (
            f"From: {self.sender}\r\n"
            f"To: {header_safe(recipient.email)}\r\n"
            f"Subject: {encode_header(subject)}\r\n"
            f"Date: {self._now()}\r\n"
            f"Message-ID: {message_id}\r\n"
            f"List-Id: <{self.list_id}>\r\n"
            f"List-Unsubscribe: <{unsubscribe_url}>,\r\n <{mailto}>\r\n"
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
            "Precedence: bulk\r\n"
            f"Content-Language: {layout.version.locale}\r\n"
            "MIME-Version: 1.0\r\n"
            f"{content_type}"
            "\r\n"
        )
        return self._verp(recipient.delivery_id), (head + body).encode("ascii"), message_id

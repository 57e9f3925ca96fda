"""A letter as an email: From the platform's own address with the supporter's name shown,
Reply-To the supporter, To the target (or, in test mode, the test inbox, naming the target)."""

from __future__ import annotations

from email.utils import formataddr, make_msgid, parseaddr
from html import escape

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from campaigns.core.mail import Email
from campaigns.core.mime import header_safe, message_id_domain
from campaigns.lobbying.letters import LetterText, compose
from campaigns.lobbying.mode import letters_go_live
from campaigns.lobbying.models import Letter, LetterDelivery, Target


def _platform(config: dict) -> tuple[str, str]:
    """(the platform's name, its sending address)."""
    return parseaddr(config["MAIL_DEFAULT_SENDER"])


def sender_for(supporter_name: str) -> str:
    """`"<supporter> via <platform>" <platform address>`: our own address, so that SPF and DKIM
    hold, with the name of the person who wrote."""
    platform_name, address = _platform(current_app.config)
    shown = header_safe(supporter_name)
    if platform_name:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            shown = _("%(person)s via %(platform)s", person=shown, platform=platform_name)
    return formataddr((shown, address))


def ascii_address(address: str) -> str:
    """The address with its domain in IDNA (münchen.de -> xn--mnchen-3ya.de), as headers need."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}" if domain else address


def as_html(text: str) -> str:
    paragraphs = (escape(p).replace("\n", "<br>\n") for p in text.split("\n\n"))
    return "\n".join(f"<p>{p}</p>" for p in paragraphs)


def build_email(
    letter: Letter, target: Target, text: LetterText, *, test_mode: bool, test_inbox: str
) -> Email:
    config = current_app.config
    body = text.body
    headers: tuple[tuple[str, str], ...] = ()
    to = target.email or ""
    if test_mode:
        with force_locale(text.locale):
            notice = _(
                "TEST MODE: this letter was not sent to %(target)s <%(address)s>. It went to "
                "the test inbox instead. Letters reach the policymakers only when the platform "
                "and this action are switched live.",
                target=target.name,
                address=target.email or "?",
            )
        body = f"{notice}\n\n{body}"
        headers = (("X-Original-To", to),)
        to = test_inbox
    domain = message_id_domain(config["MAIL_MESSAGE_ID_DOMAIN"], config["MAIL_DEFAULT_SENDER"])
    return Email(
        sender=sender_for(letter.name or ""),
        to=header_safe(to),
        subject=header_safe(text.subject),
        text=body,
        html=as_html(body),
        locale=text.locale,
        message_id=make_msgid(domain=domain),
        reply_to=formataddr((header_safe(letter.name or ""), ascii_address(letter.email or ""))),
        extra_headers=headers,
    )


def letter_email(delivery: LetterDelivery) -> tuple[Email, bool]:
    """The email of one delivery, and whether it goes to the test inbox."""
    letter, target = delivery.letter, delivery.target
    action = letter.action
    test_mode = not letters_go_live(action)
    text = compose(action, letter, target)
    email = build_email(
        letter,
        target,
        text,
        test_mode=test_mode,
        test_inbox=current_app.config["LOBBYING_TEST_INBOX"],
    )
    return email, test_mode

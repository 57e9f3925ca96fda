"""The preferences link in our emails: which address a token stands for, without showing it.

A token names the record a mail was about (a signature, a letter, a mailing's delivery), signed
by that record's own package for the purpose "preferences" (petitions.services.make_token,
lobbying.services.make_token, mailings.message.preferences_token). The page is for the address
that record holds; the URL carries only the signed id.

Why a record, and not the address itself (a keyed hash of it, or the address encrypted):
- a keyed hash could not be looked up: no table stores it beside each address;
- withdrawing is meant to cut what ties us to an address. A record's link stops knowing the
  address the moment that record is erased, where an encrypted address would open the page for
  ever. The price: the link in a mail about something since withdrawn no longer opens the page.
  The page says so, and the links in the mails about what is left still work; a page opened
  before keeps working, because its forms move on to another record of the same address.

Each kind is signed with a salt of its own ("signature-preferences", "letter-preferences",
"mailing-preferences"), so a preferences token opens no other link, and no confirmation or
withdrawal link opens this page. A token is read by trying each kind in turn (a few HMAC
checks), so no prefix ties the URL format of three packages to this one. It never expires
(core.links: only confirmation links do): the privacy notice promises withdrawal at any time.

A token also carries how much it opens (Scope). A mailing's unsubscribe token sits in the
List-Unsubscribe header of every bulk mail, where mail providers, security gateways and link
scanners read it: it opens the newsletter choice only (on or off, as the unsubscribe page always
could), never the list of what the address signed nor any withdrawal. Mails sent before this page
existed carried that token at this very URL, and the unsubscribe pages link here with it: those
links keep working, with that narrow scope. Only the preferences tokens open everything.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import select

from campaigns.core.links import SignedLinks, TokenError
from campaigns.extensions import db
from campaigns.lobbying import services as lobbying
from campaigns.lobbying.models import Letter
from campaigns.mailings.message import delivery_id_from_preferences_token, delivery_id_from_token
from campaigns.mailings.models import Delivery
from campaigns.petitions import services as petitions
from campaigns.petitions.models import Signature

PURPOSE = "preferences"
# Longer than any token we make (a signed id is under 60 characters): refused unread.
MAX_TOKEN_LENGTH = 200
# The same kinds (so the same salts) as petitions.services and lobbying.services make tokens with.
_SIGNATURES = SignedLinks("signature")
_LETTERS = SignedLinks("letter")
# What the mailings' "forget" handler leaves in place of an erased delivery's address.
_ERASED_DELIVERY = "erased:"


class Scope(enum.Enum):
    """How much of the page a token opens."""

    # A preferences token: every signature, letter and consent of the address, each withdrawable.
    EVERYTHING = "everything"
    # A mailing's unsubscribe token, read by whoever handles the mail on its way: campaign news
    # on or off, and nothing else, so that it reveals nothing of what the address signed.
    NEWSLETTER = "newsletter"


@dataclass(frozen=True)
class Anchor:
    """What a valid token leads to: the address (None once the record it names was erased),
    how much of the page the token opens and, for a link in a mailing, that mailing (an
    unsubscribe from the page counts for it)."""

    email: str | None
    scope: Scope
    mailing_id: int | None = None


def read_token(token: str) -> Anchor | None:
    """The address `token` stands for; None if it is not a preferences token of ours."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    # Read here rather than with petitions' and lobbying's `*_from_token`, which cannot tell a
    # forged token from the token of a record deleted since (an unconfirmed one, after the
    # retention period): the second is ours, and its page says that nothing is left.
    for kind, model in ((_SIGNATURES, Signature), (_LETTERS, Letter)):
        try:
            record_id = kind.record_id(token, PURPOSE)
        except TokenError:
            continue
        record = db.session.get(model, record_id)
        return Anchor(record.email if record is not None else None, Scope.EVERYTHING)
    # The unsubscribe token first: delivery_id_from_preferences_token reads it too (for the
    # mails sent before this page existed), and would grant it the preferences link's scope.
    scope, delivery_id = Scope.NEWSLETTER, delivery_id_from_token(token)
    if delivery_id is None:
        scope, delivery_id = Scope.EVERYTHING, delivery_id_from_preferences_token(token)
    if delivery_id is None:
        return None
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or not _delivery_holds_address(delivery):
        return Anchor(None, scope)
    return Anchor(delivery.email, scope, delivery.mailing_id)


def _delivery_holds_address(delivery: Delivery) -> bool:
    """A delivery's address counts while the signature it came from still holds it: once that
    signature is withdrawn, the mailings' handler erases the address here too, and the link is
    treated as erased already (so the page moves its forms on at once, not after the worker)."""
    if delivery.email.startswith(_ERASED_DELIVERY):
        return False
    if delivery.signature_id is None:
        return True
    source = db.session.scalar(select(Signature.email).where(Signature.id == delivery.signature_id))
    return source == delivery.email


def token_for(email: str) -> str | None:
    """A token for another record that still holds `email` (a signature, else a letter), for
    the page's forms once the record of the link it was opened with is erased; None when the
    address holds neither any more. It opens everything: never hand it to the holder of a
    newsletter-only token."""
    signature_id = db.session.scalar(
        select(Signature.id).where(Signature.email == email).order_by(Signature.id).limit(1)
    )
    if signature_id is not None:
        return petitions.make_token(signature_id, PURPOSE)
    letter_id = db.session.scalar(
        select(Letter.id).where(Letter.email == email).order_by(Letter.id).limit(1)
    )
    if letter_id is not None:
        return lobbying.make_token(letter_id, PURPOSE)
    return None

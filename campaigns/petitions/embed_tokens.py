"""The token that stands in for the CSRF token in the embeddable signing form.

Inside an iframe on a member network's site our pages are third-party, and a browser that blocks
third-party cookies (Safari and Firefox by default, Chrome when asked) neither stores nor sends
our session cookie there. Flask-WTF's CSRF token lives in that session, so it cannot work in the
frame: every POST would come back "expired". The embed's POST is therefore exempt from
CSRFProtect and carries this token instead, which needs no cookie and no server state: a timed
signature (SECRET_KEY, a salt of its own) over the network, the petition and a random nonce.

Why that is acceptable: CSRF abuses the ambient authority a victim's cookies give a forged
request, and the embed grants none; a forged POST can do no more than anyone can do by filling
in the form. And what the form does changes nothing until the owner of the address confirms by
the link in our email (double opt-in), while the per-IP and per-address rate limits of the
petition page apply to it too. What the token still gives: a POST must come from a form we
served in the last hours, for this network and this petition, so a stale or copied form is
refused with what was typed kept, as the petition page refuses an expired one. The nonce makes
every token different; tokens are not single-use (that would need server state), and need not
be, for the reasons above.
"""

from __future__ import annotations

import secrets

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from campaigns.core.links import TokenError, TokenExpired

# Long enough to read a petition and fill in the form at leisure, short enough that a copied
# form stops working soon.
MAX_AGE_SECONDS = 2 * 3600

_SALT = "petitions.embed-form"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def make_embed_token(network_slug: str, petition_slug: str) -> str:
    """A token for one form of `network_slug`'s embed of the petition `petition_slug`."""
    return _serializer().dumps([network_slug, petition_slug, secrets.token_urlsafe(9)])


def check_embed_token(token: str, network_slug: str, petition_slug: str) -> None:
    """Raise TokenExpired for a token of ours that is too old, TokenError for anything else that
    is not a token made for this network's embed of this petition."""
    try:
        payload = _serializer().loads(token, max_age=MAX_AGE_SECONDS)
    except SignatureExpired as exc:
        raise TokenExpired from exc
    except BadSignature as exc:
        raise TokenError from exc
    if not (
        isinstance(payload, list)
        and len(payload) == 3
        and payload[0] == network_slug
        and payload[1] == petition_slug
    ):
        raise TokenError

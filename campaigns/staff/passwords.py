"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from zxcvbn import zxcvbn

MIN_LENGTH = 12
# Long enough for any passphrase; bounded so nobody can make the server hash megabytes.
MAX_LENGTH = 200
# zxcvbn scores 0-4; 3 means "safely unguessable" against an online or throttled attack. It knows
# the most common passwords, names, keyboard walks, dates and l33t substitutions.
MIN_STRENGTH = 3

# argon2id with the library's defaults (RFC 9106's second recommended profile).
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password of anyone's")


def spend_verification_time(password: str) -> None:
    """Verify against a throwaway hash, so an unknown email takes as long as a wrong password and
    the timing of a login attempt does not tell which addresses have an account."""
    verify_password(_dummy_hash(), password)


def password_problem(password: str, *, user_inputs: list[str] = ()) -> str | None:
    """What is wrong with a new password (a translated sentence), or None if it is acceptable."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(count)d characters.", count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("Use at most %(count)d characters.", count=MAX_LENGTH)
    words = [w for value in user_inputs if value for w in value.replace("@", " ").split()]
    result = zxcvbn(password, user_inputs=[*words, "euronpud", "campaigns", "campaign"])
    if result["score"] < MIN_STRENGTH:
        return _(
            "This password is too common or too easy to guess. Try a few unrelated words, "
            "or let a password manager make one."
        )
    return None

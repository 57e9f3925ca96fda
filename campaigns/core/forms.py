"""Filters and validators every form shares: what people type arrives trimmed, on one line where
it must, with line breaks counted as a person sees them, and links only to https addresses."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field
from wtforms.validators import ValidationError

# Control characters but for tab and line feed (a CR LF becomes LF first, see `newlines`).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def strip(value: str | None) -> str | None:
    """Filter: surrounding spaces removed."""
    return value.strip() if isinstance(value, str) else value


def newlines(value: str | None) -> str | None:
    """Filter: browsers send CR LF; length limits count what a person sees, one per line break."""
    if not isinstance(value, str):
        return value
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def single_line(_form: FlaskForm, field: Field) -> None:
    """Validator: no line break (nor NUL), which could start a new mail header."""
    if field.data and any(ch in field.data for ch in "\r\n\x00"):
        raise ValidationError(_l("Please write this on a single line."))


def no_control_characters(_form: FlaskForm, field: Field) -> None:
    if field.data and _CONTROL.search(field.data):
        raise ValidationError(_l("Please remove the invisible control characters."))


def https_link(_form: FlaskForm, field: Field) -> None:
    """Validator: empty, or an https:// address with a host and nothing odd in it."""
    if not field.data:
        return
    message = _l(
        "Please enter a web address that starts with https://, such as https://europa.eu/."
    )
    try:
        parts = urlsplit(field.data)
        host = parts.hostname
    except ValueError:  # e.g. a broken IPv6 address: https://[
        raise ValidationError(message) from None
    odd = any(ch.isspace() or ord(ch) < 32 for ch in field.data)
    if parts.scheme.lower() != "https" or not host or odd:
        raise ValidationError(message)

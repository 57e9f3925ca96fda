"""Keeping addresses out of what is stored or logged for diagnosis."""

from __future__ import annotations

import re

# Anything shaped like an address, in <>, quotes or bare (SMTP diagnostics quote it every way).
_ADDRESS = re.compile(r"[^\s<>\"'(),;:\[\]]+@[^\s<>\"'(),;:\[\]]+")


def redact_addresses(text: str | None) -> str | None:
    """`text` with every email address replaced by "<address>": a server's reply such as
    "550 5.1.1 <ana@example.org>: user unknown" is kept for diagnosis without the person."""
    if text is None:
        return None
    return _ADDRESS.sub("<address>", text)

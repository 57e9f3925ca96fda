"""Asking before what cannot be undone (launch, close, send, cancel).

The action's own POST, without the field `confirmed=yes`, changes nothing: it answers with a
page that says what will happen, in numbers, and a button that sends the same POST again with
that field. It works without JavaScript and cannot be skipped by pressing the first button twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import render_template, request
from flask.typing import ResponseReturnValue

CONFIRMED_FIELD = "confirmed"


def confirmed() -> bool:
    """Whether this POST comes from the confirmation page."""
    return request.form.get(CONFIRMED_FIELD) == "yes"


@dataclass
class Question:
    """What the confirmation page asks, and what answering yes does."""

    title: str  # "Launch this campaign?"
    consequences: list[str]  # what will happen, in numbers
    button: str  # "Yes, launch it"
    back_url: str  # where "No" leads
    danger: bool = False  # an ending (close, cancel): drawn as such
    carry: dict[str, str] = field(default_factory=dict)  # form fields to send again


def ask(question: Question) -> ResponseReturnValue:
    return render_template("staff/confirm.html", question=question, action=request.path)

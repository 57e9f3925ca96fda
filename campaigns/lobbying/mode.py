"""Test mode, on by default: a letter reaches its real target only when the deployment says
LOBBYING_DELIVERY=live and an admin has switched the action live. Otherwise it goes to
LOBBYING_TEST_INBOX, naming the real target in its body and in an X-Original-To header."""

from __future__ import annotations

from flask import current_app

from campaigns.lobbying.models import LetterAction


def deployment_is_live() -> bool:
    return current_app.config["LOBBYING_DELIVERY"] == "live"


def letters_go_live(action: LetterAction) -> bool:
    """Whether this action's letters go to the real targets now (both switches are on)."""
    return deployment_is_live() and action.live

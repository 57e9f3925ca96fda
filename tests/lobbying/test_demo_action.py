"""`flask demo load` (what `make run` does) ships one example letter action, in test mode."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from campaigns.devstack.demo_letters import SLUG
from campaigns.extensions import db
from campaigns.lobbying.mode import letters_go_live
from campaigns.lobbying.models import LetterAction, Target


def test_the_demo_writes_to_the_libe_and_sant_chairs_in_test_mode(app_ctx, client):
    result = app_ctx.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "example letter action" in result.output
    assert db.session.scalar(select(func.count()).select_from(Target)) == 718 + 2

    page = client.get(f"/en/write/{SLUG}?country=PL").get_data(as_text=True)
    assert "This is an example action" in page
    recipients = re.findall(r'<span class="note">([^<]+)</span></li>', page)
    assert len(recipients) == 5
    # Chairs and vice-chairs of LIBE and SANT, chairs first.
    assert "chair" in recipients[0]
    assert all(("LIBE" in r or "SANT" in r) and "chair" in r for r in recipients)

    action = db.session.scalar(select(LetterAction))
    assert not letters_go_live(action)
    french = client.get(f"/fr/write/{SLUG}").get_data(as_text=True)
    assert "Réduction des risques et travail des pairs" in french

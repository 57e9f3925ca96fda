"""An urgent action's form is sent once, and "sent already" means that its commit went through:
a commit that fails leaves the form free to be sent again, and two presses at the same moment
still send it once (its token is stored unique with the urgent action, in its transaction)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from campaigns.alerts import urgent
from campaigns.alerts.models import Topic, UrgentAction
from campaigns.core.db import utcnow
from campaigns.core.events import Event
from campaigns.extensions import db
from tests.alerts.test_urgent_actions import GOOD, URL, form_fields, start


def confirmed_form(client) -> dict[str, str]:
    """The form as the question page carries it, answered yes: what "send" posts."""
    preview = client.post(URL, data={**GOOD, **start(client), "step": "preview"})
    question = client.post(
        URL, data={**form_fields(preview.get_data(as_text=True)), "step": "send"}
    )
    final = {**form_fields(question.get_data(as_text=True)), "step": "send"}
    assert final["confirmed"] == "yes"
    return final


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def published() -> int:
    db.session.rollback()
    return db.session.scalar(
        select(func.count()).select_from(Event).where(Event.type == "urgent_action.published")
    )


@pytest.fixture
def commit_fails_once():
    """The next commit that would record an urgent action fails, as a dropped connection does."""
    failed = []

    def fail(session: Session) -> None:
        holds_one = any(isinstance(o, UrgentAction) for o in session.identity_map.values())
        if holds_one and not failed:
            failed.append(True)
            raise OperationalError("COMMIT", {}, ConnectionError("server closed the connection"))

    event.listen(Session, "before_commit", fail)
    yield failed
    event.remove(Session, "before_commit", fail)


def test_a_send_whose_commit_failed_is_sent_by_the_retry(campaigner, subscribed, commit_fails_once):
    subscribed(Topic.URGENT_ACTION)
    final = confirmed_form(campaigner)
    assert campaigner.post(URL, data=final).status_code == 500  # the error page: nothing went
    assert commit_fails_once == [True]
    assert (count(UrgentAction), published()) == (0, 0)

    retry = campaigner.post(URL, data=final)  # the same form, sent again
    assert retry.status_code == 303
    page = campaigner.get(retry.location).get_data(as_text=True)
    assert "on its way to 2 networks" in page
    assert "sent already" not in page
    assert (count(UrgentAction), published()) == (1, 1)

    again = campaigner.post(URL, data=final)  # and once it went, a third press sends nothing
    assert "sent already" in campaigner.get(again.location).get_data(as_text=True)
    assert (count(UrgentAction), published()) == (1, 1)


def test_two_presses_at_the_same_moment_send_once(campaigner, subscribed, monkeypatch):
    subscribed(Topic.URGENT_ACTION)
    final = confirmed_form(campaigner)
    checked = urgent.sent_already

    def other_press_commits_meanwhile(once: str) -> bool:
        # The other press commits right after this one found the form not sent yet.
        monkeypatch.setattr(urgent, "sent_already", checked)
        db.session.add(UrgentAction(link=GOOD["link"], sent_at=utcnow(), form_token=once))
        db.session.commit()
        return False

    monkeypatch.setattr(urgent, "sent_already", other_press_commits_meanwhile)
    response = campaigner.post(URL, data=final)
    assert response.status_code == 303
    assert "sent already" in campaigner.get(response.location).get_data(as_text=True)
    assert (count(UrgentAction), published()) == (1, 0)  # only the other press's


def test_a_form_without_its_token_is_not_taken_for_another():
    assert not urgent.sent_already("")

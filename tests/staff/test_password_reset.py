"""Password reset by email: the mail is sent by the outbox, the link works once and expires."""

from __future__ import annotations

import re

from campaigns.extensions import db
from campaigns.staff.models import StaffUser
from tests.support import csrf_token, links_in, run_outbox


def ask_for_reset(client, email: str):
    page = client.get("/staff/password/forgot")
    return client.post(
        "/staff/password/forgot",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "email": email},
    )


def reset_link(mailbox, email: str) -> str:
    (message,) = mailbox.to(email)
    link = next(link for link in links_in(message) if "/staff/password/reset/" in link)
    return re.sub(r"^https?://[^/]+", "", link)


def choose_password(client, path: str, password: str):
    page = client.get(path)
    return client.post(
        path,
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "password": password,
            "confirm": password,
        },
    )


def test_a_reset_link_arrives_by_mail_and_works_once(app, client, make_staff, mailbox):
    user = make_staff("campaigner")
    answer = ask_for_reset(client, user.email.upper())
    assert answer.status_code == 200
    assert mailbox.messages == []  # never sent from the web request
    run_outbox(app)

    (message,) = mailbox.to(user.email)
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"]
    path = reset_link(mailbox, user.email)

    response = choose_password(client, path, "orange bicycle mountain lantern")
    assert response.status_code == 302
    assert response.location == "/staff/login"

    db.session.expire_all()
    assert client.get(path).status_code == 404  # used
    assert "does not work any more" in client.get(path).get_data(as_text=True)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(app, client, mailbox):
    answer = ask_for_reset(client, "nobody@staff.example.org")
    assert answer.status_code == 200
    assert "If this address belongs to a staff account" in answer.get_data(as_text=True)
    run_outbox(app)
    assert mailbox.messages == []


def test_a_reset_link_expires(app, client, make_staff, mailbox, monkeypatch):
    user = make_staff("campaigner")
    ask_for_reset(client, user.email)
    run_outbox(app)
    path = reset_link(mailbox, user.email)
    monkeypatch.setitem(app.config, "STAFF_PASSWORD_RESET_MAX_AGE", -1)
    assert client.get(path).status_code == 404


def test_the_new_password_must_pass_the_policy(app, client, make_staff, mailbox):
    user = make_staff("campaigner")
    ask_for_reset(client, user.email)
    run_outbox(app)
    path = reset_link(mailbox, user.email)
    response = choose_password(client, path, "password12345")
    assert response.status_code == 422
    assert "too common" in response.get_data(as_text=True)
    old_hash = user.password_hash
    db.session.expire_all()
    assert db.session.get(StaffUser, user.id).password_hash == old_hash

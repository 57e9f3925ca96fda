"""The staff pages of a network's webhooks, used as staff use them: add an endpoint (a bad
address explained, nothing typed lost), see its secret once, rotate it, switch it off and on,
delete it, send a test event, read the delivery log and resend; who may open which page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from campaigns.audit.models import AuditEntry
from campaigns.extensions import db
from campaigns.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookStatus,
)
from tests.support import csrf_token
from tests.webhooks.conftest import add_endpoint, make_network

PUBLIC_URL = "https://93.184.215.14/hooks/euronpud"


def base(network) -> str:
    return f"/staff/networks/{network.id}/webhooks"


def post(client, url: str, **fields):
    token = csrf_token(client.get("/staff/").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **fields})


def add(client, network, **fields):
    page = client.get(f"{base(network)}/new")
    assert page.status_code == 200
    data = {"url": PUBLIC_URL, "description": "Our CRM", **fields}
    token = csrf_token(page.get_data(as_text=True))
    return client.post(f"{base(network)}/new", data={**data, "csrf_token": token})


def fresh(row):
    """The row as the database has it now (each request ends the session the test read it in)."""
    return db.session.get(type(row), row.id, populate_existing=True)


def audit_actions() -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_private_address_is_explained_and_what_was_typed_is_kept(admin, network):
    typed = "https://169.254.169.254/latest/meta-data"
    response = add(admin, network, url=typed, description="Metadata, by mistake")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "private or internal network, which webhooks may not reach" in html
    assert "(169.254.169.254)" not in html
    assert f'value="{typed}"' in html
    assert 'value="Metadata, by mistake"' in html
    assert 'aria-invalid="true"' in html

    response = add(admin, network, url="http://example.org/hooks")
    assert response.status_code == 422
    assert "https://" in response.get_data(as_text=True)
    assert db.session.scalar(select(WebhookEndpoint.id)) is None


def test_the_secret_is_shown_once_then_never_again(admin, network):
    response = add(admin, network)
    assert response.status_code == 303
    page = admin.get(response.location)
    html = page.get_data(as_text=True)
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    assert endpoint.url == PUBLIC_URL
    assert endpoint.description == "Our CRM"
    assert f'<code class="secret">{endpoint.secret}</code>' in html
    assert "not shown again" in html
    assert page.headers["Cache-Control"] == "no-store"

    again = admin.get(response.location).get_data(as_text=True)
    assert endpoint.secret not in again
    assert "shown only once" in again
    assert audit_actions()[-1] == "webhook_endpoint.created"

    # The same address twice for one network is refused.
    response = add(admin, network)
    assert response.status_code == 422
    assert "already has an endpoint at this address" in response.get_data(as_text=True)


def test_rotating_asks_first_then_shows_the_new_secret_and_the_overlap(admin, network):
    endpoint = add_endpoint(network, PUBLIC_URL)
    old = endpoint.secret
    url = f"{base(network)}/{endpoint.id}/rotate"
    question = post(admin, url)
    assert question.status_code == 200
    assert "Yes, make a new secret" in question.get_data(as_text=True)
    assert fresh(endpoint).secret == old

    response = post(admin, url, confirmed="yes")
    assert response.status_code == 303
    html = admin.get(response.location).get_data(as_text=True)
    endpoint = fresh(endpoint)
    assert endpoint.secret != old
    assert endpoint.previous_secret == old
    assert endpoint.secret in html
    assert old not in html
    assert "the previous secret signs each message too" in html
    assert audit_actions()[-1] == "webhook_endpoint.secret_rotated"


def test_switching_off_and_on_and_deleting(admin, network):
    endpoint = add_endpoint(network, PUBLIC_URL)
    waiting = WebhookDelivery(
        endpoint_id=endpoint.id,
        message_id="msg_waiting",
        event_type="campaign.launched",
        body="{}",
        next_attempt_at=datetime.now(UTC),
    )
    db.session.add(waiting)
    db.session.commit()

    assert post(admin, f"{base(network)}/{endpoint.id}/disable").status_code == 303
    endpoint = fresh(endpoint)
    assert not endpoint.is_active
    assert endpoint.disabled_reason == "staff"
    assert fresh(waiting).status == WebhookStatus.CANCELLED
    shown = admin.get(f"{base(network)}/").get_data(as_text=True)
    assert "Switched off" in shown
    assert "By staff, on" in shown

    assert post(admin, f"{base(network)}/{endpoint.id}/enable").status_code == 303
    endpoint = fresh(endpoint)
    assert endpoint.is_active
    assert endpoint.disabled_reason is None

    url = f"{base(network)}/{endpoint.id}/delete"
    question = post(admin, url)
    assert "Delete the endpoint" in question.get_data(as_text=True)
    assert db.session.get(WebhookEndpoint, endpoint.id) is not None
    assert post(admin, url, confirmed="yes").status_code == 303
    assert db.session.scalar(select(WebhookEndpoint.id)) is None
    assert db.session.scalar(select(WebhookDelivery.id)) is None
    assert audit_actions()[-3:] == [
        "webhook_endpoint.state_changed",
        "webhook_endpoint.state_changed",
        "webhook_endpoint.deleted",
    ]


def test_the_log_shows_each_attempt_newest_first_and_resends(admin, network):
    endpoint = add_endpoint(network, PUBLIC_URL)
    message = WebhookDelivery(
        endpoint_id=endpoint.id,
        message_id="msg_0123456789abcdef",
        event_type="petition.milestone_reached",
        body="{}",
        status=WebhookStatus.FAILED,
        attempts=2,
    )
    db.session.add(message)
    db.session.flush()
    start = datetime.now(UTC) - timedelta(hours=1)
    db.session.add_all(
        [
            WebhookAttempt(
                delivery_id=message.id,
                endpoint_id=endpoint.id,
                number=1,
                attempted_at=start,
                status_code=None,
                latency_ms=15000,
                detail="timed out: no complete answer within 15 s",
            ),
            WebhookAttempt(
                delivery_id=message.id,
                endpoint_id=endpoint.id,
                number=2,
                attempted_at=start + timedelta(minutes=5),
                status_code=502,
                latency_ms=87,
                detail="Bad gateway",
            ),
        ]
    )
    db.session.commit()

    html = admin.get(f"{base(network)}/{endpoint.id}/").get_data(as_text=True)
    assert "msg_0123456789abcdef" in html
    assert "petition.milestone_reached" in html
    assert html.index("Bad gateway") < html.index("timed out: no complete answer")
    assert "502" in html
    assert "87 ms" in html
    assert "15,000 ms" in html
    assert "no answer" in html
    resend = f"{base(network)}/{endpoint.id}/deliveries/{message.id}/resend"
    assert f'action="{resend}"' in html

    assert post(admin, resend).status_code == 303
    message = fresh(message)
    assert message.status == WebhookStatus.PENDING
    assert message.next_attempt_at is not None

    assert post(admin, f"{base(network)}/{endpoint.id}/test").status_code == 303
    test = db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.event_type == "webhook.test")
    ).one()
    assert test.endpoint_id == endpoint.id
    assert test.status == WebhookStatus.PENDING


def test_the_log_is_paginated(admin, network):
    endpoint = add_endpoint(network, PUBLIC_URL)
    message = WebhookDelivery(
        endpoint_id=endpoint.id, message_id="msg_many", event_type="x", body="{}", attempts=60
    )
    db.session.add(message)
    db.session.flush()
    start = datetime.now(UTC) - timedelta(days=1)
    db.session.add_all(
        WebhookAttempt(
            delivery_id=message.id,
            endpoint_id=endpoint.id,
            number=n,
            attempted_at=start + timedelta(minutes=n),
            status_code=500,
            latency_ms=n,
            detail=f"answer number {n}.",
        )
        for n in range(1, 61)
    )
    db.session.commit()
    first = admin.get(f"{base(network)}/{endpoint.id}/").get_data(as_text=True)
    assert "answer number 60." in first
    assert "answer number 11." in first
    assert "answer number 10." not in first
    assert 'rel="next"' in first
    second = admin.get(f"{base(network)}/{endpoint.id}/?page=2").get_data(as_text=True)
    assert "answer number 10." in second
    assert "answer number 11." not in second
    assert admin.get(f"{base(network)}/{endpoint.id}/?page=99").status_code == 200


def test_who_may_open_which_network(app, network, make_staff, staff_login, production_rules):
    other = make_network("mainline-nl", "Mainline", languages=("nl", "en"))
    endpoint = add_endpoint(network, PUBLIC_URL)
    theirs = add_endpoint(other, "https://93.184.215.15/in")
    own = staff_login(make_staff("coordinator", network=network))

    assert own.get(f"{base(network)}/").status_code == 200
    assert own.get(f"{base(network)}/{endpoint.id}/").status_code == 200
    assert add(own, network).status_code == 422  # the same address: theirs to manage
    # Another network's pages do not exist for them, nor an endpoint seen through their own.
    for url in (
        f"{base(other)}/",
        f"{base(other)}/new",
        f"{base(other)}/{theirs.id}/",
        f"{base(network)}/{theirs.id}/",
        "/staff/networks/99999/webhooks/",
    ):
        assert own.get(url).status_code == 404, url
    assert post(own, f"{base(other)}/{theirs.id}/disable").status_code == 404
    assert post(own, f"{base(other)}/{theirs.id}/rotate", confirmed="yes").status_code == 404
    assert fresh(theirs).is_active

    campaigner = app.test_client()
    staff_login(make_staff("campaigner"), on=campaigner)
    assert campaigner.get(f"{base(network)}/").status_code == 403
    assert (
        post(campaigner, f"{base(network)}/{endpoint.id}/delete", confirmed="yes").status_code
        == 403
    )

    admin = app.test_client()
    staff_login(make_staff("admin"), on=admin)
    assert admin.get(f"{base(other)}/{theirs.id}/").status_code == 200
    assert admin.get("/staff/networks/99999/webhooks/").status_code == 404

    anonymous = app.test_client()
    assert anonymous.get(f"{base(network)}/").status_code == 302


def test_the_page_says_what_it_shows(admin, network):
    html = admin.get(f"{base(network)}/").get_data(as_text=True)
    assert "has no webhook endpoint yet" in html
    assert re.search(r'href="/staff/networks/\d+/webhooks/new"', html)


def waiting_message(endpoint, message_id: str, **values) -> WebhookDelivery:
    message = WebhookDelivery(
        endpoint_id=endpoint.id,
        message_id=message_id,
        event_type="campaign.launched",
        body="{}",
        next_attempt_at=datetime.now(UTC),
        **values,
    )
    db.session.add(message)
    db.session.commit()
    return message


def after(client, response) -> str:
    """The page a POST sent the browser to, with its flashed message."""
    assert response.status_code == 303
    return client.get(response.location).get_data(as_text=True)


def test_messages_cancelled_before_their_first_try_are_resent_from_the_page(admin, network):
    endpoint = add_endpoint(network, PUBLIC_URL)
    messages = [waiting_message(endpoint, f"msg_never_tried_{n}") for n in range(2)]
    page = f"{base(network)}/{endpoint.id}/"
    resend_all = f"{base(network)}/{endpoint.id}/resend-cancelled"

    switched_off = after(admin, post(admin, f"{base(network)}/{endpoint.id}/disable"))
    assert "(2 waiting messages cancelled)" in switched_off
    assert "No message has been sent to this endpoint yet." in switched_off  # not in the log
    assert "2 messages to this endpoint are cancelled: switch the endpoint on" in switched_off
    assert resend_all not in switched_off
    refused = after(admin, post(admin, resend_all))
    assert "switch it on to resend its messages" in refused
    assert {fresh(m).status for m in messages} == {WebhookStatus.CANCELLED}

    switched_on = after(admin, post(admin, f"{base(network)}/{endpoint.id}/enable"))
    assert "Switched on: new messages go to" in switched_on
    assert {fresh(m).status for m in messages} == {WebhookStatus.CANCELLED}
    assert f'action="{resend_all}"' in switched_on
    assert "Resend the 2 cancelled messages" in switched_on

    resent = after(admin, post(admin, resend_all))
    assert "2 cancelled messages go again, each with the same webhook-id as before." in resent
    assert resend_all not in resent
    for n, message in enumerate(messages):
        message = fresh(message)
        assert message.status == WebhookStatus.PENDING
        assert message.message_id == f"msg_never_tried_{n}"
        assert message.next_attempt_at <= datetime.now(UTC)
    assert "Nothing to resend" in after(admin, post(admin, resend_all))
    assert admin.get(page).status_code == 200


def test_a_deactivated_networks_endpoint_sends_nothing_from_its_page(admin, network):
    endpoint = add_endpoint(network, PUBLIC_URL)
    tried = waiting_message(endpoint, "msg_tried", status=WebhookStatus.FAILED, attempts=1)
    db.session.add(
        WebhookAttempt(
            delivery_id=tried.id,
            endpoint_id=endpoint.id,
            number=1,
            attempted_at=datetime.now(UTC),
            status_code=500,
            latency_ms=12,
        )
    )
    cancelled = waiting_message(endpoint, "msg_cancelled", status=WebhookStatus.CANCELLED)
    network.is_active = False
    db.session.commit()

    html = admin.get(f"{base(network)}/{endpoint.id}/").get_data(as_text=True)
    assert "AIDES France is deactivated: nothing is sent to its endpoints" in html
    assert "Send a test event" not in html
    assert "/resend" not in html
    for action in ("test", f"deliveries/{tried.id}/resend", "resend-cancelled"):
        shown = after(admin, post(admin, f"{base(network)}/{endpoint.id}/{action}"))
        assert "is deactivated: nothing is sent to its endpoints" in shown, action
    assert fresh(tried).status == WebhookStatus.FAILED
    assert fresh(cancelled).status == WebhookStatus.CANCELLED
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 2

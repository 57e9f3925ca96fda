"""The webhook pages in a real browser, used with the keyboard only: a coordinator adds an
endpoint to their network (first with a private address), copies the secret, reads the log and
is asked before a rotation. axe-core checks each page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.extensions import db
from campaigns.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.conftest import STAFF_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def sign_in(page, email: str) -> None:
    page.goto("/staff/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(re.compile(r"/staff/$"))


def test_a_coordinator_adds_an_endpoint_and_reads_its_log(
    app,
    page,
    network,
    make_staff,
    axe,
    production_rules,
):
    coordinator = make_staff("coordinator", network=network)
    sign_in(page, coordinator.email)

    page.goto(f"/staff/networks/{network.id}/webhooks/")
    page.get_by_role("heading", level=1, name="Webhooks of AIDES France").wait_for()
    axe.check(page, "endpoints, none yet")

    page.get_by_role("link", name="Add an endpoint").click()
    page.get_by_label("Address (URL)").fill("https://10.0.0.5/hooks")
    page.get_by_label("Description (optional)").fill("Our CRM")
    page.get_by_label("Description (optional)").press("Enter")
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert "private or internal network" in summary.inner_text()
    assert "10.0.0.5" not in summary.inner_text()
    assert page.get_by_label("Description (optional)").input_value() == "Our CRM"
    axe.check(page, "new endpoint with an error")

    page.get_by_label("Address (URL)").fill("https://93.184.215.14/hooks")
    page.get_by_label("Address (URL)").press("Enter")
    page.get_by_role("heading", level=1, name=re.compile("Signing secret")).wait_for()
    db.session.rollback()
    endpoint = db.session.query(WebhookEndpoint).one()
    assert page.locator("code.secret").inner_text() == endpoint.secret
    axe.check(page, "the secret, shown once")

    message = WebhookDelivery(
        endpoint_id=endpoint.id,
        message_id="msg_browser",
        event_type="campaign.launched",
        body="{}",
        status="delivered",
        attempts=2,
    )
    db.session.add(message)
    db.session.flush()
    for number, status in ((1, 500), (2, 200)):
        db.session.add(
            WebhookAttempt(
                delivery_id=message.id,
                endpoint_id=endpoint.id,
                number=number,
                attempted_at=datetime.now(UTC) - timedelta(minutes=10 - number),
                status_code=status,
                latency_ms=40 * number,
                detail="ok" if status == 200 else "Internal Server Error",
            )
        )
    db.session.commit()

    page.get_by_role("link", name="Continue to the endpoint").click()
    page.get_by_role("heading", level=2, name="Delivery log").wait_for()
    assert page.get_by_role("cell", name="msg_browser").count() == 2
    axe.check(page, "endpoint with its log")

    rotate = page.get_by_role("button", name="Rotate the secret")
    rotate.focus()
    rotate.press("Enter")
    page.get_by_role("button", name="Yes, make a new secret").wait_for()
    axe.check(page, "rotation question")
    page.get_by_role("button", name="Yes, make a new secret").press("Enter")
    page.get_by_text("the previous secret signs each message too").wait_for()
    axe.check(page, "the new secret during the overlap")

    page.goto(f"/staff/networks/{network.id}/webhooks/")
    page.get_by_role("link", name="https://93.184.215.14/hooks").wait_for()
    axe.check(page, "endpoints")
    axe.assert_clean()

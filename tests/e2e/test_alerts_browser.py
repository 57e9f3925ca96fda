"""Alerts in a real browser: a coordinator chooses their network's alerts by keyboard, then a
campaigner writes an urgent action, first with mistakes, previews it, is asked with the
numbers, and sends it. axe-core checks the subscriptions page and each step of the form."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from campaigns.alerts.models import AlertSubscription, UrgentAction
from campaigns.extensions import db
from tests.alerts.conftest import add_endpoint, network, set_contacts
from tests.e2e.test_staff_browser import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_subscribe_then_send_an_urgent_action(
    app, browser, live_server, page, demo, make_staff, axe
):
    asud = set_contacts("asud", "alice@asud.example.org")
    add_endpoint("jes")
    coordinator = make_staff("coordinator", network=asud)
    sign_in(page, coordinator.email)

    page.goto(f"/staff/networks/{asud.id}/alerts")
    page.get_by_role("heading", level=1, name=re.compile("Alerts of ASUD")).wait_for()
    assert page.get_by_text("No active endpoint: alerts by webhook reach nobody.").is_visible()
    axe.check(page, "subscriptions")
    # By keyboard: the urgent action's email box, then the launch's.
    page.get_by_label("Urgent action written by the staff: Email").focus()
    page.keyboard.press("Space")
    page.get_by_label("A campaign is launched: Email").check()
    page.get_by_role("button", name="Save the alerts").click()
    page.get_by_text("were saved").wait_for()
    assert page.get_by_label("Urgent action written by the staff: Email").is_checked()
    axe.check(page, "subscriptions saved")
    db.session.rollback()
    assert {
        (str(s.topic), str(s.channel)) for s in db.session.scalars(select(AlertSubscription))
    } == {("urgent_action.published", "email"), ("campaign.launched", "email")}

    # A campaigner writes an urgent action, first with mistakes.
    writer = browser.new_context(base_url=live_server.url).new_page()
    campaigner = make_staff("campaigner")
    sign_in(writer, campaigner.email)
    writer.goto("/staff/alerts/")
    axe.check(writer, "alert log, empty")
    writer.get_by_role("link", name="Write an urgent action").click()
    writer.get_by_label("Title (French)").fill("Écrivez à votre eurodéputé·e")
    writer.get_by_label("Link").fill("http://example.org/act")
    writer.get_by_role("button", name="Preview").click()
    summary = writer.locator(".error-summary")
    summary.wait_for()
    assert "Please write the title in English." in summary.inner_text()
    assert "Please write both the title and the text, or neither." in summary.inner_text()
    assert writer.get_by_label("Title (French)").input_value() == "Écrivez à votre eurodéputé·e"
    axe.check(writer, "urgent action form with errors")

    writer.get_by_label("Title (English)").fill("Tell your MEP: vote for naloxone")
    writer.get_by_label("Text (English)").fill("The SANT committee votes on Thursday.")
    writer.get_by_label("Text (French)").fill("La commission SANT vote jeudi.")
    writer.get_by_label("Link").fill("https://example.org/act")
    writer.get_by_role("button", name="Preview").click()
    writer.get_by_role("heading", level=1, name="Preview of the urgent action").wait_for()
    axe.check(writer, "urgent action preview")
    writer.get_by_role("button", name="Send to 1 network").click()
    writer.get_by_role("heading", level=1, name=re.compile("^Send the urgent action")).wait_for()
    assert writer.get_by_text("1 member network receives it.").is_visible()
    axe.check(writer, "urgent action question")
    writer.get_by_role("button", name="Yes, send it to 1 network").click()
    writer.get_by_text("The urgent action is on its way to 1 network.").wait_for()
    axe.check(writer, "alert log after sending")
    writer.context.close()

    db.session.rollback()
    [action] = db.session.scalars(select(UrgentAction)).all()
    assert action.translation_for("fr").title == "Écrivez à votre eurodéputé·e"
    assert network("asud").is_active
    axe.assert_clean()

"""The preferences page in a real browser: a supporter follows the link in their confirmation
mail and, by keyboard only, withdraws a network's consent, hides their name, unsubscribes and
withdraws their signatures; each answer says what happened. axe-core checks each state of the
page, and the page works with JavaScript switched off. A bulk mail's unsubscribe link opens the
newsletter choice only."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.mailings.message import unsubscribe_token
from campaigns.mailings.models import Delivery
from campaigns.mailings.suppression import suppression_of
from campaigns.petitions import services as petitions
from campaigns.petitions.models import Signature, SignatureStatus
from tests.e2e.conftest import TIMEOUT_MS
from tests.mailings.conftest import add_supporter, make_mailing
from tests.privacy.helpers import CHECKING, NALOXONE, give_network_consent, network
from tests.support import links_in, run_outbox

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHECKING_TITLE = "Test, don't guess: drug checking in the European Drug Alert System"


def preferences_path(message) -> str:
    link = next(u for u in links_in(message) if "/preferences/" in u)
    return re.sub(r"^https?://[^/]+", "", link)


def focused_text(page) -> str:
    return page.evaluate("() => (document.activeElement || {}).textContent || ''").strip()


# The browser shows the focus (:focus-visible) and a style draws it: an outline or a ring.
FOCUS_DRAWN = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
    return el.matches(":focus-visible") && (outline || style.boxShadow !== "none");
}"""


def tab_to(page, text: str, presses: int = 60) -> None:
    """Press Tab from the top of the page until the control whose text starts with `text` has
    the focus, visibly."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if focused_text(page).startswith(text):
            assert page.evaluate(FOCUS_DRAWN), f"{text!r} has the focus but no visible focus style"
            return
    raise AssertionError(f"{presses} presses of Tab never reached {text!r}")


def press_by_keyboard(page, button_text: str) -> str:
    """Reach the button by Tab, press Enter, and return what the answer says it did."""
    tab_to(page, button_text)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    return page.get_by_role("status").inner_text()


def supporter_with_mail(app, mailbox) -> tuple[str, Signature]:
    """Ana signed two petitions (one with her name shown, one for the newsletter) and said that a
    member network may contact her; returns the link of her confirmation mail."""
    first = add_supporter(NALOXONE, "ana@example.org", confirmed=False)
    run_outbox(app)  # the confirmation mail, from its handler
    petitions.confirm(first)
    second = add_supporter(CHECKING, "ana@example.org", newsletter=False)
    second.show_name = True
    db.session.commit()
    give_network_consent(first, network("alpha", "Alpha Network"))
    (mail,) = mailbox.to("ana@example.org")
    return preferences_path(mail), first


def test_withdraw_everything_by_keyboard_from_the_mails_link(
    app, page, live_server, demo, mailbox, axe
):
    path, _first = supporter_with_mail(app, mailbox)
    page.goto(path)
    page.get_by_role("heading", level=1, name="Your preferences").wait_for()
    assert page.get_by_role("heading", level=3).all_inner_texts() == [
        CHECKING_TITLE,
        "Naloxone in every pocket",
        "Alpha Network",
    ]
    axe.check(page, "preferences page")

    said = press_by_keyboard(page, "Withdraw my consent")
    assert (
        said
        == "Alpha Network may no longer contact you, and no longer sees your name and email address."
    )
    assert page.get_by_text("No member network may contact you.").is_visible()
    axe.check(page, "after withdrawing a network's consent")

    said = press_by_keyboard(page, "Hide my name")
    assert said.startswith(f"Your name is no longer shown on the page of “{CHECKING_TITLE}”.")
    assert page.get_by_role("button", name=re.compile("Hide my name")).count() == 0

    said = press_by_keyboard(page, "Unsubscribe")
    assert said == "Done: we send you no more campaign news."
    assert page.get_by_text("You are unsubscribed: you receive no campaign news.").is_visible()
    axe.check(page, "after unsubscribing")

    said = press_by_keyboard(page, "Withdraw my signature")  # the first listed: the newest
    assert said.startswith(f"Your signature on “{CHECKING_TITLE}” is withdrawn.")
    said = press_by_keyboard(page, "Withdraw my signature")
    assert said.startswith("Your signature on “Naloxone in every pocket” is withdrawn.")
    assert page.get_by_text("We hold nothing any more for a…@example.org").is_visible()
    axe.check(page, "nothing left")

    db.session.expire_all()
    statuses = set(db.session.scalars(select(Signature.status)))
    assert statuses == {SignatureStatus.REJECTED}
    assert db.session.scalar(select(Signature.id).where(Signature.email.is_not(None))) is None
    axe.assert_clean()


def test_the_page_works_without_javascript_and_in_another_language(
    app, browser, page, live_server, demo, mailbox, axe
):
    path, first = supporter_with_mail(app, mailbox)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        plain = context.new_page()
        plain.goto(path)
        plain.get_by_role("link", name="Français").click()
        plain.wait_for_url(re.compile(r"/fr/preferences/"))
        assert plain.locator("html").get_attribute("lang") == "fr"
        assert (
            "De la naloxone dans chaque poche"
            in plain.get_by_role("heading", level=3).all_inner_texts()
        )
        plain.get_by_role("button", name=re.compile("De la naloxone")).filter(
            has_text=re.compile("signature", re.I)
        ).click()
        plain.get_by_role("status").wait_for()
        french = plain.url
    finally:
        context.close()
    db.session.expire_all()
    assert db.session.get(Signature, first.id).status == SignatureStatus.REJECTED
    # axe needs JavaScript: it checks the same French page in a browser that runs it.
    page.goto(french)
    page.get_by_role("heading", level=1).wait_for()
    axe.check(page, "the page in French")
    axe.assert_clean()


def test_the_unsubscribe_link_opens_the_newsletter_choice_only(
    app, page, live_server, demo, mailbox, axe
):
    """The unsubscribe token of a bulk mail (its List-Unsubscribe header) leads, from the
    unsubscribe page, to campaign news on or off, and to nothing the supporter signed."""
    _path, first = supporter_with_mail(app, mailbox)
    mailing = make_mailing()
    delivery = Delivery(
        mailing_id=mailing.id, email=first.email, locale="en", signature_id=first.id
    )
    db.session.add(delivery)
    db.session.commit()

    page.goto(f"/en/u/{unsubscribe_token(delivery.id)}")
    page.get_by_role("link", name="Your email preferences").click()
    page.get_by_role("heading", level=1, name="Your email preferences").wait_for()
    assert page.get_by_role("heading", level=2).all_inner_texts() == ["Campaign news by email"]
    assert page.get_by_role("heading", level=3).count() == 0
    assert page.get_by_role("button").all_inner_texts() == ["Unsubscribe"]
    assert page.get_by_text("open from the preferences link in our emails").is_visible()
    axe.check(page, "newsletter-only page")

    said = press_by_keyboard(page, "Unsubscribe")
    assert said == "Done: we send you no more campaign news."
    assert page.get_by_role("button").all_inner_texts() == ["Receive campaign news again"]
    axe.check(page, "newsletter-only page, unsubscribed")
    db.session.expire_all()
    assert suppression_of(first.email).mailing_id == mailing.id
    axe.assert_clean()

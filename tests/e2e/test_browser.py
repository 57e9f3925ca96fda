"""The signing journey in a real browser: Chromium on the app over HTTP, a Celery worker, SMTP.

Also checks each page of the journey with axe-core (WCAG 2.2 AA and best practices) and that the
form works in French and German. Needs Chromium (Debian's, or $CHROMIUM_PATH) and axe-core from
`npm ci`; without them these tests skip locally and fail in CI.
"""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.petitions.models import Signature, SignatureStatus
from tests.support import links_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SLUG = "naloxone-in-every-pocket"
TIMEOUT_MS = 15_000


# --- page helpers ---------------------------------------------------------------------------


def count_on(page) -> int:
    """The big signature count on the petition or thank-you page ("1,234" -> 1234)."""
    text = page.locator(".count strong").inner_text()
    return int(re.sub(r"\D", "", text))


def focused(page) -> str:
    """What has the keyboard focus: its id, else its tag name."""
    return page.evaluate(
        "() => { const e = document.activeElement; return e ? (e.id || e.tagName.toLowerCase()) : '' }"
    )


def tab(page, expected: str) -> None:
    """Press Tab once; the focus must land on `expected`, visibly."""
    page.keyboard.press("Tab")
    assert focused(page) == expected, f"Tab went to {focused(page)!r}, not {expected!r}"
    assert page.evaluate("document.activeElement.matches(':focus-visible')"), (
        f"{expected} has the focus but no visible focus style"
    )


def tab_until(page, expected: str, presses: int = 30) -> int:
    """Press Tab until `expected` has the focus (from the top of the page); how many presses."""
    for n in range(1, presses + 1):
        page.keyboard.press("Tab")
        if focused(page) == expected:
            return n
    raise AssertionError(f"{presses} presses of Tab never reached {expected!r}")


def translated(lang: str, text: str) -> str:
    with force_locale(lang):
        return gettext(text)


# --- tests ----------------------------------------------------------------------------------


def test_sign_by_keyboard_and_confirm_through_a_real_worker(
    page, live_server, demo, mailbox, start_worker, axe
):
    start_worker(PUBLIC_BASE_URL=live_server.url)

    page.goto(f"/en/c/{SLUG}")
    page.get_by_role("heading", level=1, name="Naloxone in every pocket").wait_for()
    before = count_on(page)
    axe.check(page, "petition page")

    # Keyboard only. The first Tab reaches the skip link, which takes the focus to the content;
    # from there Tab reaches the first field, then each field in order.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert focused(page) == "main"
    tab_until(page, "name")
    page.keyboard.type("Ada Lovelace")
    tab(page, "email")
    page.keyboard.type("ada.keyboard@example.org")
    tab(page, "country")
    page.keyboard.type("Ireland")  # type-ahead in the closed list, as a keyboard user would
    assert page.locator("#country").input_value() == "IE"
    tab(page, "comment")
    page.keyboard.type("Naloxone saves lives.")
    tab(page, "summary")  # "Read the full notice" of how the data is used (closed details)
    tab(page, "show_name")
    page.keyboard.press("Space")
    assert page.locator("#show_name").is_checked()
    tab(page, "newsletter")  # left unticked
    tab(page, "network_consent")  # UISCE, Ireland's member network: left unticked
    tab(page, "button")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(rf"/en/c/{SLUG}/check-email$"))
    page.get_by_role("heading", level=1, name="Check your email").wait_for()
    axe.check(page, "check-email page")

    # The worker sends the confirmation; its link points at this server.
    messages = mailbox.wait_for(1)
    assert len(messages) == 1, "no confirmation email arrived"
    [message] = messages
    assert "ada.keyboard@example.org" in str(message["To"])
    confirm = next(link for link in links_in(message) if "/confirm/" in link)
    assert confirm.startswith(f"{live_server.url}/en/confirm/"), confirm

    page.goto(confirm)
    page.get_by_role("heading", level=1, name="Confirm your signature").wait_for()
    axe.check(page, "confirmation page")
    tab_until(page, "button")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/en/c/{SLUG}/thanks$"))
    page.get_by_role("heading", level=1, name="Thank you: your signature counts").wait_for()
    assert count_on(page) == before + 1
    assert page.locator("#share-link").input_value() == f"{live_server.url}/en/c/{SLUG}"
    axe.check(page, "thank-you page")

    # What was typed by keyboard is what was stored.
    db.session.rollback()  # a fresh snapshot: the server thread committed
    signature = db.session.scalars(select(Signature)).one()
    assert (signature.name, signature.email, signature.country) == (
        "Ada Lovelace",
        "ada.keyboard@example.org",
        "IE",
    )
    assert (signature.comment, signature.show_name) == ("Naloxone saves lives.", True)
    assert signature.status == SignatureStatus.CONFIRMED

    page.goto(f"/en/c/{SLUG}")
    assert count_on(page) == before + 1
    ireland = page.locator("table.countries tr", has_text="Ireland")
    assert ireland.locator("td").inner_text() == "1"
    axe.check(page, "petition page with a country table")
    assert len(mailbox.messages) == 1

    axe.assert_clean()


@pytest.mark.parametrize(
    ("lang", "title", "country"),
    [
        ("fr", "De la naloxone dans chaque poche", "Irlande"),
        ("de", "Naloxon in jede Tasche", "Irland"),
    ],
)
def test_the_form_in_french_and_german_shows_errors_and_keeps_what_was_typed(
    page, demo, axe, lang, title, country
):
    page.goto(f"/{lang}/c/{SLUG}")
    assert page.locator("html").get_attribute("lang") == lang
    page.get_by_role("heading", level=1, name=title).wait_for()
    sign_button = page.get_by_role("button", name=translated(lang, "Sign"), exact=True)
    assert translated(lang, "Sign") != "Sign", f"no {lang} translation of the Sign button"
    axe.check(page, f"petition page ({lang})")

    # An empty form: every required field says what is missing, in the page's language.
    sign_button.focus()
    page.keyboard.press("Space")
    page.wait_for_url(re.compile(rf"/{lang}/c/{SLUG}$"))
    summary = page.locator(".error-summary")
    summary.get_by_role(
        "heading", name=translated(lang, "Please correct the following:")
    ).wait_for()
    for field, message in [
        ("name", "Please enter your name."),
        ("email", "Please enter your email address."),
        ("country", "Please choose your country."),
    ]:
        expected = translated(lang, message)
        assert expected != message, f"no {lang} translation of {message!r}"
        assert page.locator(f"#{field}-error").inner_text().endswith(expected)
        assert page.locator(f"#{field}").get_attribute("aria-invalid") == "true"
        assert expected in summary.inner_text()
    assert page.locator("#comment-error").count() == 0
    axe.check(page, f"petition page with errors ({lang})")

    # The summary's links take the keyboard to the field in question.
    summary.get_by_role("link").first.focus()
    page.keyboard.press("Enter")
    assert focused(page) == "name"

    # Fill in some fields, one of them wrongly: what was typed comes back with the error.
    page.locator("#name").fill("Zoë Müller-Lefèvre")
    page.locator("#email").fill("zoe-at-example.org")
    page.locator("#country").select_option(label=country)
    page.locator("#comment").fill("Ça compte – das zählt.")
    page.locator("#newsletter").check()
    sign_button.click()
    page.wait_for_url(re.compile(rf"/{lang}/c/{SLUG}$"))
    page.locator("#email-error").wait_for()
    assert (
        page.locator("#email-error")
        .inner_text()
        .endswith(translated(lang, "Please enter a valid email address, like name@example.org."))
    )
    assert page.locator("#name").input_value() == "Zoë Müller-Lefèvre"
    assert page.locator("#email").input_value() == "zoe-at-example.org"
    assert page.locator("#country").input_value() == "IE"
    assert page.locator("#comment").input_value() == "Ça compte – das zählt."
    assert page.locator("#newsletter").is_checked()
    assert not page.locator("#show_name").is_checked()
    assert page.locator("#name-error").count() == 0

    axe.assert_clean()

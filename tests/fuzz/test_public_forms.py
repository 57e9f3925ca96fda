"""Every public form (and the staff sign-in ones), filled with random and hostile input: no
server error, no header injected, and a form shown again for an error still holds everything
typed."""

from __future__ import annotations

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import STAFF_PASSWORD
from tests.fuzz.runner import Case, fuzz_form
from tests.fuzz.states import ready_to_sign_in
from tests.support import csrf_token

SIGNER = {"name": "Ada Example", "email": "ada@example.org"}
EMBED = "/{lang}/embed/{network_slug}/{petition_slug}"

CASES = [
    Case("/en/c/{petition_slug}", seeds=SIGNER),
    Case("/de/c/{petition_slug}?source={network_slug}", seeds=SIGNER),
    # The form in a member network's frame: no cookie, the token in the form.
    Case(EMBED.replace("{lang}", "en"), seeds=SIGNER, framed=True),
    Case(EMBED.replace("{lang}", "fr"), seeds=SIGNER, framed=True),
    Case("/en/write/{letter_slug}", seeds=SIGNER),
    Case("/en/confirm/{confirm}"),
    Case("/en/not-me/{reject}"),
    Case("/en/preferences/{preferences}"),
    Case("/en/u/{unsubscribe}"),
    Case("/en/letters/confirm/{letter_confirm}"),
    Case("/en/letters/not-me/{letter_reject}"),
    Case("/staff/login", seeds={"email": "admin@staff.example.org"}),
    Case("/staff/password/forgot", seeds={"email": "admin@staff.example.org"}),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@given(data=st.data())
def test_a_public_form_holds_against_any_input(client, records, case, data):
    fuzz_form(client, data, case, records)


# Each example of the sign-in steps is a browser of its own (the one before may be signed in),
# with the account's failed attempts forgotten (else it is locked after five) and its code
# unspent, so that what a person types right signs in, and goes to the `next` address drawn.
STAFF_EMAIL = "signer@staff.example.org"
TWO_FACTOR_EMAIL = "colleague@staff.example.org"  # the records fixture's colleague
NEW_PASSWORD = "quartz lantern velvet orbit"


@given(data=st.data())
def test_signing_in_with_a_password_holds_against_any_input(app, records, add_staff, data):
    if "signer" not in records:
        records["signer"] = add_staff(STAFF_EMAIL, "campaigner").id
    ready_to_sign_in(STAFF_EMAIL)
    seeds = {"email": STAFF_EMAIL, "password": STAFF_PASSWORD}
    fuzz_form(app.test_client(), data, Case("/staff/login", seeds=seeds, query=("next",)), records)


@given(data=st.data())
def test_the_code_step_of_signing_in_holds_against_any_input(app, records, data):
    from campaigns.extensions import db
    from campaigns.staff.models import StaffUser

    ready_to_sign_in(TWO_FACTOR_EMAIL)
    browser = app.test_client()
    page = browser.get("/staff/login").get_data(as_text=True)
    password = {"email": TWO_FACTOR_EMAIL, "password": STAFF_PASSWORD}
    answer = browser.post("/staff/login", data={"csrf_token": csrf_token(page), **password})
    assert answer.location.startswith("/staff/login/code"), answer.location
    secret = db.session.get(StaffUser, records["colleague"]).totp_secret
    case = Case("/staff/login/code", seeds={"code": pyotp.TOTP(secret).now()}, query=("next",))
    fuzz_form(browser, data, case, records)


@given(data=st.data())
def test_a_password_reset_holds_against_any_input(app, records, data):
    from campaigns.extensions import db
    from campaigns.staff.models import StaffUser
    from campaigns.staff.services import make_reset_token

    # A new link each time: a reset that went through spends the one before.
    token = make_reset_token(db.session.get(StaffUser, records["colleague"]))
    seeds = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    case = Case(f"/staff/password/reset/{token}", seeds=seeds)
    fuzz_form(app.test_client(), data, case, records)

"""Every staff form, filled by an administrator with random and hostile input: no server error,
no header injected, and a form shown again for an error still holds everything typed.

The buttons that only act (rotate, switch off, send a test, ...) are fuzzed too: their form is a
token and a button, and a hostile button value must change nothing but the answer. Those shown
in one state of their record only are in test_staff_buttons.py; forms reached through a preview
or a question name them with `via`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.runner import Case, fuzz_form

CAMPAIGN = "/staff/campaigns/{petition}"
LETTER = "/staff/campaigns/{letter}"
NETWORK = "/staff/networks/{network}"
MAILING = "/staff/mailings/{mailing}"
ENDPOINT = NETWORK + "/webhooks/{endpoint}"

NEW_CAMPAIGN = {
    "slug": "fuzzed-campaign",
    "goal": "10 000",
    "title": "A title",
    "summary": "A summary.",
    "body_markdown": "Some **text**.",
}
TARGET = {
    "name": "Ada Example",
    "role": "Chair",
    "email": "chair@example.org",
    "time_zone": "Europe/Brussels",
}
NETWORK_FIELDS = {"name": "Fuzz network", "slug": "fuzz-net", "contacts": "ada@example.org"}
LOWER = {"slug": str.lower}
URGENT = {"link": "https://example.org/act", "title_en": "Act now", "text_en": "Write to them."}

CASES = [
    # Account and team.
    Case("/staff/account", seeds={"current": "x"}),
    Case("/staff/account", action="/staff/account/time-zone"),
    Case("/staff/account/two-factor"),
    Case("/staff/team/new", seeds={"email": "new@staff.example.org", "name": "New"}),
    Case("/staff/team/{colleague}"),
    Case("/staff/team/{colleague}", action="/staff/team/{colleague}/two-factor/reset"),
    # Campaigns.
    Case("/staff/campaigns/new", seeds=NEW_CAMPAIGN),
    Case(CAMPAIGN + "/settings"),
    Case(CAMPAIGN + "/translations/en"),
    Case(CAMPAIGN + "/translations/fr"),
    Case(CAMPAIGN + "/export"),
    Case(LETTER + "/settings"),
    Case(LETTER + "/letter/"),
    Case(LETTER + "/letter/report/responses"),
    # Mailings.
    Case("/staff/mailings/new", seeds={"name": "A mailing", "subject_en": "Hi", "body_en": "Yo"}),
    Case(MAILING + "/edit"),
    Case(MAILING, action=MAILING + "/test"),
    Case(MAILING, action=MAILING + "/schedule"),
    # Networks, their alerts and webhooks; urgent actions.
    Case("/staff/networks/new", seeds=NETWORK_FIELDS, same=LOWER),
    Case(NETWORK + "/edit", same=LOWER),
    Case(NETWORK + "/alerts"),
    Case(NETWORK + "/webhooks/new", seeds={"url": "https://hooks.example.org/new"}),
    Case(ENDPOINT + "/", action=ENDPOINT + "/rotate"),
    Case(ENDPOINT + "/", action=ENDPOINT + "/disable"),
    Case(NETWORK + "/supporters", action=NETWORK + "/supporters/export"),
    Case("/staff/alerts/urgent/new", seeds={"link": "https://example.org/", "title_en": "T"}),
    # Its preview (send, or back to the form with everything carried) and its question.
    Case("/staff/alerts/urgent/new", seeds=URGENT, via={"step": "preview"}),
    Case("/staff/alerts/urgent/new", seeds=URGENT, via={"step": "send"}),
    # API keys.
    Case("/staff/api-keys/new", seeds={"name": "A key for a CRM"}),
    # The directory of targets.
    Case("/staff/targets/new", seeds=TARGET),
    Case("/staff/targets/{target}/edit"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@given(data=st.data())
def test_a_staff_form_holds_against_any_input(admin, records, case, data):
    fuzz_form(admin, data, case, records)


@given(data=st.data())
def test_the_two_factor_requirement_holds_against_any_input(admin, records, data):
    from campaigns.extensions import db
    from campaigns.staff.models import SiteSetting

    fuzz_form(admin, data, Case("/staff/settings"), records)
    # Required, it would send the administrator (without a second factor) to set one up.
    db.session.execute(db.delete(SiteSetting))
    db.session.commit()

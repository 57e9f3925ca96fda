"""The buttons shown in one state of their record only (a campaign's launch, pause, resume,
close and delivery; an endpoint's switch on, resend, test and delete), pressed by an
administrator with hostile extra fields: the record is put back in that state before each
example, so every example presses the button. Those that ask first are fuzzed twice: the press
(perhaps with a forged `confirmed`) and the question's own form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.runner import Case, fuzz_form
from tests.fuzz.states import add_endpoint, set_campaign_status

CAMPAIGN = "/staff/campaigns/{petition}"
LETTER = "/staff/campaigns/{letter}"
ENDPOINT = "/staff/networks/{network}/webhooks/{endpoint}"
CONFIRM = {"confirmed": "yes"}
NOTE = {"note": "Handed to the chair of the committee on 31 August 2031 in Brussels."}


def _change(page: str, change: str, **options: object) -> Case:
    return Case(page + "/", action=f"{page}/{change}", **options)


CAMPAIGN_CHANGES = [
    ("petition", "draft", _change(CAMPAIGN, "launch", extra=CONFIRM)),
    ("petition", "draft", _change(CAMPAIGN, "launch", via={})),
    ("petition", "live", _change(CAMPAIGN, "pause", extra=CONFIRM)),
    ("petition", "paused", _change(CAMPAIGN, "resume", extra=CONFIRM)),
    ("petition", "live", _change(CAMPAIGN, "close", extra=CONFIRM)),
    ("petition", "paused", _change(CAMPAIGN, "close", via={})),
    ("petition", "closed", _change(CAMPAIGN, "deliver", seeds=NOTE, extra=CONFIRM)),
    # A letter action's questions count its policymakers and its letters waiting.
    ("letter", "draft", _change(LETTER, "launch", via={})),
    ("letter", "live", _change(LETTER, "close", via={})),
    ("letter", "closed", _change(LETTER, "deliver", seeds=NOTE)),
]


@pytest.mark.parametrize(
    ("campaign", "status", "case"),
    CAMPAIGN_CHANGES,
    ids=[f"{status}: {case}" for _kind, status, case in CAMPAIGN_CHANGES],
)
@given(data=st.data())
def test_a_campaign_status_button_holds_against_any_input(
    admin, records, campaign, status, case, data
):
    set_campaign_status(records[campaign], status)
    fuzz_form(admin, data, case, records)


ENDPOINT_BUTTONS = [
    (True, Case(ENDPOINT + "/", action=ENDPOINT + "/test")),
    (True, Case(ENDPOINT + "/", action=ENDPOINT + "/deliveries/{webhook_delivery}/resend")),
    (True, Case(ENDPOINT + "/", action=ENDPOINT + "/resend-cancelled")),
    (False, Case(ENDPOINT + "/", action=ENDPOINT + "/enable", extra=CONFIRM)),
    (True, Case(ENDPOINT + "/", action=ENDPOINT + "/delete", extra=CONFIRM)),
    (False, Case(ENDPOINT + "/", action=ENDPOINT + "/delete", via={})),
]


@pytest.mark.parametrize(
    ("active", "case"),
    ENDPOINT_BUTTONS,
    ids=[f"{'on' if on else 'off'}: {case}" for on, case in ENDPOINT_BUTTONS],
)
@given(data=st.data())
def test_a_webhook_endpoint_button_holds_against_any_input(admin, records, active, case, data):
    # A fresh endpoint each time: one example may have deleted the last.
    records["endpoint"], records["webhook_delivery"] = add_endpoint(
        records["network"], active=active
    )
    fuzz_form(admin, data, case, records)

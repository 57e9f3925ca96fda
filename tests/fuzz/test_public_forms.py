"""Every public form (and the staff sign-in ones), filled with random and hostile input: no
server error, no header injected, and a form shown again for an error still holds everything
typed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.runner import Case, fuzz_form

SIGNER = {"name": "Ada Example", "email": "ada@example.org"}

CASES = [
    Case("/en/c/{petition_slug}", seeds=SIGNER),
    Case("/de/c/{petition_slug}?source={network_slug}", seeds=SIGNER),
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

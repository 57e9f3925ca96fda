"""Every day and time a staff member can type, given the ends of the calendar one by one (not
left to chance: a day filter "up to 9999-12-31 included" needs a day no date type holds, and a
random draw seldom lands on it): no server error, and a form shown again keeps the day typed."""

from __future__ import annotations

import pytest

from tests.fuzz.forms import assert_sound, find_form
from tests.fuzz.runner import Case, send_as_is
from tests.fuzz.strategies import DAY_EDGES, MOMENT_EDGES
from tests.fuzz.test_staff_forms import CAMPAIGN, LETTER, MAILING, URGENT

# The forms with a date or datetime-local input; the inputs are found on the page.
FORMS = [
    Case(CAMPAIGN + "/export"),
    Case(CAMPAIGN + "/settings"),
    Case(LETTER + "/letter/report/responses"),
    Case("/staff/alerts/urgent/new", seeds=URGENT),
    Case(MAILING, action=MAILING + "/schedule"),
]
EDGES = {"date": DAY_EDGES, "datetime-local": MOMENT_EDGES}


@pytest.mark.parametrize("case", FORMS, ids=str)
def test_a_day_typed_into_a_form_holds_at_the_ends_of_the_calendar(admin, records, case):
    page = case.page.format_map(records)
    action = case.action.format_map(records) if case.action else None
    form = find_form(admin.get(page).get_data(as_text=True), page, action)
    inputs = [f for f in form.fields.values() if f.kind in EDGES]
    assert inputs, f"{page}: no date input"
    for field in inputs:
        for edge in EDGES[field.kind]:
            send_as_is(admin, case, records, {field.name: edge})


@pytest.mark.parametrize("name", ["from", "to"])
def test_the_audit_log_day_filter_holds_at_the_ends_of_the_calendar(admin, records, name):
    for edge in DAY_EDGES:
        answer = admin.get("/staff/audit/", query_string={name: edge})
        assert_sound(answer, f"GET /staff/audit/?{name}={edge}")
        assert answer.status_code in {200, 422}, f"?{name}={edge}: {answer.status_code}"

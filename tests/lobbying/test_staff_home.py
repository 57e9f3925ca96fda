"""The staff home lists live letter actions beside petitions, with their confirmed letters."""

from __future__ import annotations

import re

from tests.lobbying.test_pacing import confirmed_letters


def test_a_live_letter_action_shows_its_letters_on_the_staff_home(
    action, directory, make_staff, staff_login
):
    confirmed_letters(action, [directory["marc"]], 2)
    home = staff_login(make_staff("campaigner")).get("/staff/").get_data(as_text=True)
    row = re.search(
        r"End the war on people who use drugs</a> <span[^>]*>\(letters\)</span>.*?</tr>", home, re.S
    )
    assert row, home
    assert re.findall(r'<td class="num">(\d+)</td>', row.group(0)) == ["2", "2"]

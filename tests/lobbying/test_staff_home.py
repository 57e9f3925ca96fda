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


def test_a_letter_action_is_a_mailings_action_link_but_no_audience(action, make_staff, staff_login):
    page = staff_login(make_staff("campaigner")).get("/staff/mailings/new").get_data(as_text=True)
    action_select = page[page.index('name="action_campaign_id"') :]
    action_select = action_select[: action_select.index("</select>")]
    assert f'value="{action.campaign_id}"' in action_select
    audience = re.findall(r'<input[^>]*name="campaign_ids"[^>]*value="(\d+)"', page)
    assert str(action.campaign_id) not in audience

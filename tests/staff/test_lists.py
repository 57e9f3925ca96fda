"""The workspace's lists can be searched and sorted, by links and a form that work without
JavaScript and can be bookmarked."""

from __future__ import annotations

import re

from campaigns.extensions import db
from tests.mailings.conftest import add_supporter, make_mailing

NALOXONE = "naloxone-in-every-pocket"


def row_titles(html: str) -> list[str]:
    """The campaign titles of the list, top to bottom."""
    return re.findall(r'<th scope="row">\s*<a href="[^"]+">([^<]+)</a>', html)


def test_campaigns_are_found_by_words_of_their_title_or_network(demo, make_staff, staff_login):
    client = staff_login(make_staff("campaigner"))
    everything = row_titles(client.get("/staff/campaigns/").get_data(as_text=True))
    assert len(everything) >= 2

    html = client.get("/staff/campaigns/?q=POCKET+naloxone").get_data(as_text=True)
    assert row_titles(html) == ["Naloxone in every pocket"]
    assert f"1 of {len(everything)} shown for “POCKET naloxone”." in html
    assert 'value="POCKET naloxone"' in html  # the search stays in its box

    html = client.get("/staff/campaigns/?q=no+such+campaign").get_data(as_text=True)
    assert row_titles(html) == []
    assert "No campaign matches." in html


def test_campaigns_sort_by_a_column_and_turn_round_on_a_second_click(demo, make_staff, staff_login):
    add_supporter(NALOXONE, "a@example.org")
    client = staff_login(make_staff("campaigner"))

    html = client.get("/staff/campaigns/?sort=confirmed").get_data(as_text=True)
    assert row_titles(html)[0] == "Naloxone in every pocket"  # most confirmed first
    assert re.search(
        r'aria-sort="descending"><a class="sort" href="[^"]*sort=confirmed&amp;order=asc"', html
    )

    by_title = row_titles(client.get("/staff/campaigns/?sort=title").get_data(as_text=True))
    assert by_title == sorted(by_title, key=str.casefold)
    backwards = client.get("/staff/campaigns/?sort=title&order=desc").get_data(as_text=True)
    assert row_titles(backwards) == by_title[::-1]

    # A column that does not exist leaves the list in its own order, and nothing breaks.
    assert client.get("/staff/campaigns/?sort=__class__&order=up").status_code == 200


def test_mailings_and_staff_accounts_are_found_too(demo, make_staff, staff_login):
    december = make_mailing()
    december.name = "December news"
    january = make_mailing()
    january.name = "January appeal"
    db.session.commit()
    make_staff("campaigner", name="Rosa Parks")
    client = staff_login(make_staff("admin"))

    mailings = client.get("/staff/mailings/?q=january").get_data(as_text=True)
    assert "January appeal" in mailings
    assert "December news" not in mailings

    team = client.get("/staff/team/?q=rosa").get_data(as_text=True)
    assert "Rosa Parks" in team
    assert "1 of 2 shown" in team
    by_role = client.get("/staff/team/?sort=role").get_data(as_text=True)
    rows = by_role[by_role.index("<tbody>") :]
    assert rows.index("Administrator") < rows.index("Campaigner")
    by_role_desc = client.get("/staff/team/?sort=role&order=desc").get_data(as_text=True)
    rows = by_role_desc[by_role_desc.index("<tbody>") :]
    assert rows.index("Campaigner") < rows.index("Administrator")

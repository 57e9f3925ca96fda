"""The time zones a staff member chooses from have today's names, one per place, Europe first."""

from __future__ import annotations

import re


def test_the_list_has_todays_names_and_every_country_of_the_network(make_staff, staff_login):
    client = staff_login(make_staff("campaigner"))
    page = client.get("/staff/account").get_data(as_text=True)
    zones = re.findall(r'<option(?: selected)? value="([^"]+)"', page)

    assert zones[0].startswith("Europe/")
    assert "Europe/Kyiv" in zones
    assert "Europe/Kiev" not in zones  # the old name of the same zone
    assert "Europe/Belfast" not in zones  # a link to Europe/London
    for zone in ("Europe/Oslo", "Europe/Luxembourg", "Europe/Lisbon", "Atlantic/Azores"):
        assert zone in zones
    assert len(zones) == len(set(zones))

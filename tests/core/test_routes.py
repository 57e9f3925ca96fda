"""Ids in addresses: only ASCII digits that fit a database integer name a record."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "path",
    [
        "/staff/campaigns/2147483648/dashboard",  # one past the largest integer column
        "/staff/campaigns/99999999999999999999999999/dashboard",
        "/staff/campaigns/%EF%BC%91/dashboard",  # a fullwidth 1
        "/staff/campaigns/%D9%A1/dashboard",  # an Arabic-Indic 1
        "/networks/9223372036854775808/logo/x.png",  # public, no sign-in needed
    ],
)
def test_an_id_out_of_range_or_not_in_ascii_digits_is_not_found(client, demo, path):
    assert client.get(path).status_code == 404


def test_an_id_in_range_still_reaches_the_page(client, demo):
    # Signed out: the staff page asks to sign in, so the route itself matched.
    response = client.get("/staff/campaigns/1/dashboard")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]

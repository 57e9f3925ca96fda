"""An admin adds staff: a coordinator needs a member network that exists, and whatever is posted
as its id is a field error, never a server error."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.staff.models import Role, StaffUser
from tests.support import csrf_token


def add_member(client, **fields):
    page = client.get("/staff/team/new")
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "name": "", "is_active": "y"}
    data.update(fields)
    return client.post("/staff/team/new", data=data)


def member(email: str) -> StaffUser | None:
    db.session.rollback()
    return db.session.scalar(select(StaffUser).where(StaffUser.email == email))


def test_an_admin_adds_a_coordinator_of_a_network(demo, make_staff, staff_login, mailbox):
    network = db.session.scalars(select(Network).order_by(Network.id)).first()
    client = staff_login(make_staff("admin"))
    response = add_member(
        client, email="coord@example.org", role="coordinator", network_id=str(network.id)
    )
    assert response.status_code == 302
    added = member("coord@example.org")
    assert added.role == Role.COORDINATOR
    assert added.network_id == network.id


@pytest.mark.parametrize("network_id", ["", "999999", "99999999999999999999", "²", "1; drop"])
def test_a_coordinator_without_a_real_network_is_a_field_error(
    demo, make_staff, staff_login, network_id
):
    client = staff_login(make_staff("admin"))
    response = add_member(
        client, email="typed-carefully@example.org", role="coordinator", network_id=network_id
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:1000]
    assert 'id="network_id-error"' in html
    assert (
        "Choose the network this coordinator works for." in html
        or "This network does not exist." in html
    )
    assert 'value="typed-carefully@example.org"' in html
    assert member("typed-carefully@example.org") is None

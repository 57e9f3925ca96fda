"""The audit log: staff actions are recorded with who, what, when and from where; admins can
read and filter it; nobody can change it."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from campaigns.audit.models import AuditEntry
from campaigns.extensions import db
from tests.support import csrf_token


def test_staff_changes_are_recorded_with_who_and_from_where(make_staff, staff_login):
    admin = make_staff("admin")
    client = staff_login(admin)
    member = make_staff("campaigner")
    page = client.get(f"/staff/team/{member.id}")
    client.post(
        f"/staff/team/{member.id}",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "email": member.email,
            "name": "Grace",
            "role": "admin",
            "network_id": "",
            "is_active": "y",
        },
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )

    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "staff.updated")).one()
    assert entry.actor_id == admin.id
    assert entry.actor_email == admin.email
    assert entry.target_type == "staff_users"
    assert entry.target_id == member.id
    assert entry.detail["role"] == {"from": "campaigner", "to": "admin"}
    assert entry.ip_address == "192.0.2.7"


def test_admins_browse_and_filter_the_log(make_staff, staff_login):
    admin = make_staff("admin")
    client = staff_login(admin)
    other = make_staff("campaigner")
    staff_login(other, on=client.application.test_client())

    everything = client.get("/staff/audit/").get_data(as_text=True)
    assert other.email in everything
    assert admin.email in everything
    assert "Signed in" in everything

    only_admin = client.get(f"/staff/audit/?actor={admin.id}&action=staff.login").get_data(
        as_text=True
    )
    assert admin.email in only_admin
    assert f"<td>{other.email}</td>" not in only_admin

    for odd in ("%C2%B2", "99999999999999999999", "-1"):
        assert client.get(f"/staff/audit/?before={odd}&actor={odd}").status_code in (200, 422)
    bad = client.get("/staff/audit/?from=31/12/2026&action=nonsense")
    assert bad.status_code == 422
    assert "Use a date like 2026-03-31, between 2000-01-01 and 9998-12-31." in bad.get_data(
        as_text=True
    )
    assert "Unknown action." in bad.get_data(as_text=True)
    assert 'value="31/12/2026"' in bad.get_data(as_text=True)
    # Days no date type can go past: field errors, not a server error.
    extremes = client.get("/staff/audit/?from=0001-01-01&to=9999-12-31")
    assert extremes.status_code == 422
    assert 'value="9999-12-31"' in extremes.get_data(as_text=True)
    assert client.get("/staff/audit/?from=2000-01-01&to=9998-12-31").status_code == 200


def test_the_log_pages_through_older_entries(make_staff, staff_login):
    from campaigns.audit.services import record

    admin = make_staff("admin")
    for _ in range(60):
        record("settings.changed", actor=admin, detail={"key": "x"})
    db.session.commit()
    client = staff_login(admin)
    first = client.get("/staff/audit/").get_data(as_text=True)
    assert "Older entries" in first
    older_link = first.split("before=")[1].split('"')[0]
    older = client.get(f"/staff/audit/?before={older_link}").get_data(as_text=True)
    # The header row, then the rest of: the account created, 60 settings, the sign-in.
    assert older.count("<tr>") == 1 + 62 - 50
    assert "Older entries" not in older


def test_the_database_refuses_to_change_entries(app, make_staff):
    make_staff("admin")
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text("UPDATE audit_log SET action = 'x'"))
    db.session.rollback()
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text("DELETE FROM audit_log"))
    db.session.rollback()

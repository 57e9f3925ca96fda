"""Staff pages keep the public pages' protections: CSRF on every form with a friendly page when
the token is missing, the same security headers, sessions that end, argon2id password hashes."""

from __future__ import annotations

from sqlalchemy import select

from campaigns.extensions import db
from campaigns.staff import auth
from campaigns.staff.models import StaffUser


def test_a_staff_form_without_its_token_gets_a_friendly_page_and_changes_nothing(
    make_staff, staff_login
):
    campaigner = make_staff("campaigner")
    client = staff_login(campaigner)
    response = client.post("/staff/account/time-zone", data={"timezone": "Asia/Tokyo"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This form has expired" in html
    assert "Traceback" not in html
    db.session.rollback()
    stored = db.session.scalar(select(StaffUser.timezone).where(StaffUser.id == campaigner.id))
    assert stored != "Asia/Tokyo"


def test_staff_pages_carry_the_security_headers(make_staff, staff_login):
    client = staff_login(make_staff("admin"))
    for path in ("/staff/", "/staff/campaigns/", "/staff/team/", "/staff/audit/", "/staff/login"):
        response = client.get(path)
        headers = response.headers
        policy = headers["Content-Security-Policy"]
        assert "object-src 'none'" in policy, path
        assert "frame-ancestors 'none'" in policy, path
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0], path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert "no-store" in headers.get("Cache-Control", ""), path


def test_a_session_ends_after_the_maximum_age_even_when_busy(app, make_staff, staff_login):
    client = staff_login(make_staff("campaigner"))
    with client.session_transaction() as session:
        data = session[auth.SESSION_KEY]
        data["at"] -= app.config["STAFF_SESSION_MAX_HOURS"] * 3600 + 1  # signed in long ago
        session[auth.SESSION_KEY] = data  # but "seen" is now: not idle

    response = client.get("/staff/")
    assert response.status_code == 302
    assert "Your session ended" in client.get(response.location).get_data(as_text=True)


def test_passwords_are_stored_as_argon2id_hashes(make_staff):
    make_staff("admin")
    stored = db.session.scalar(select(StaffUser.password_hash))
    assert stored.startswith("$argon2id$")

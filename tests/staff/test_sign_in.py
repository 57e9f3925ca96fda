"""Staff sign-in as a staff member goes through it: password, lockout, two-factor, sessions."""

from __future__ import annotations

import time

import pyotp
import pytest
from sqlalchemy import select

from campaigns.audit.models import AuditEntry
from campaigns.extensions import db
from campaigns.staff import auth
from tests.conftest import STAFF_PASSWORD
from tests.support import csrf_token


def post_login(client, email: str, password: str):
    page = client.get("/staff/login")
    return client.post(
        "/staff/login",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "email": email,
            "password": password,
        },
    )


def test_staff_pages_send_anonymous_visitors_to_sign_in_and_back(client, make_staff):
    user = make_staff("admin")

    response = client.get("/staff/team/")
    assert response.status_code == 302
    assert response.location == "/staff/login?next=/staff/team/"

    page = client.get(response.location)
    response = client.post(
        "/staff/login?next=/staff/team/",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "email": f"  {user.email.upper()} ",
            "password": STAFF_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response.location == "/staff/team/"
    assert client.get("/staff/team/").status_code == 200


def test_sign_in_never_redirects_off_site(client, make_staff):
    user = make_staff("admin")
    page = client.get("/staff/login")
    response = client.post(
        "/staff/login?next=//evil.example/steal",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "email": user.email,
            "password": STAFF_PASSWORD,
        },
    )
    assert response.location == "/staff/"


def test_a_next_address_with_control_characters_falls_back_to_the_workspace(client):
    for next_url in ("/staff/%0D%0ASet-Cookie:x=1", "/staff/%0Aa", "/staff/%09", "/staff/%7F"):
        response = client.get(f"/staff/language/en?next={next_url}")
        assert response.status_code == 302
        assert response.location == "/staff/"
        assert "x=1" not in str(response.headers)
    assert client.get("/staff/language/en?next=/staff/team/").location == "/staff/team/"


def test_wrong_password_and_unknown_address_get_the_same_answer(client, make_staff):
    user = make_staff("admin")

    wrong = post_login(client, user.email, "not the password at all")
    unknown = post_login(client, "nobody@staff.example.org", "not the password at all")

    assert wrong.status_code == unknown.status_code == 422
    message = "That email address and password do not match an active account."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)
    # What was typed stays (the address), the password never comes back.
    assert f'value="{user.email}"' in wrong.get_data(as_text=True)
    assert "not the password at all" not in wrong.get_data(as_text=True)


def test_repeated_failures_lock_an_address_without_revealing_whether_it_exists(
    app, client, make_staff
):
    user = make_staff("admin")
    limit = app.config["STAFF_LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        post_login(client, user.email, "wrong password number one")
        post_login(client, "ghost@staff.example.org", "wrong password number one")

    # Even the right password is refused while locked.
    locked = post_login(client, user.email, STAFF_PASSWORD)
    ghost = post_login(client, "ghost@staff.example.org", "anything at all here")
    assert locked.status_code == ghost.status_code == 422
    assert "Too many failed attempts" in locked.get_data(as_text=True)
    assert "Too many failed attempts" in ghost.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302

    failed = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "staff.login_failed")
    ).all()
    assert len(failed) == limit
    assert {entry.target_id for entry in failed} == {user.id}
    # Whoever typed the wrong password is not the account holder: nobody is named as the actor.
    assert {entry.actor_id for entry in failed} == {None}


def test_sign_in_is_rate_limited_per_ip(other_app, make_staff):
    # Per hour: a fixed window this second-long test is most unlikely to straddle.
    app = other_app(RATELIMIT_STAFF_LOGIN_PER_IP="3 per hour")
    client = app.test_client()
    with app.app_context():
        for attempt in range(3):
            assert post_login(client, f"a{attempt}@staff.example.org", "x" * 12).status_code == 422
        response = post_login(client, "b@staff.example.org", "x" * 12)
    assert response.status_code == 429


def test_a_deactivated_account_cannot_sign_in_and_its_sessions_end(client, make_staff, staff_login):
    admin = make_staff("admin")
    member = make_staff("campaigner")
    member_client = staff_login(member, on=client.application.test_client())
    admin_client = staff_login(admin)
    page = admin_client.get(f"/staff/team/{member.id}")
    response = admin_client.post(
        f"/staff/team/{member.id}",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "email": member.email,
            "name": "",
            "role": "campaigner",
            "network_id": "",
        },  # is_active unticked
    )
    assert response.status_code == 302

    assert member_client.get("/staff/").status_code == 302
    assert (
        post_login(client.application.test_client(), member.email, STAFF_PASSWORD).status_code
        == 422
    )


def test_sign_out_ends_the_session(make_staff, staff_login):
    client = staff_login(make_staff("campaigner"))
    page = client.get("/staff/")
    response = client.post(
        "/staff/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 302


def test_an_idle_session_expires(app, make_staff, staff_login):
    client = staff_login(make_staff("campaigner"))
    with client.session_transaction() as session:
        data = session[auth.SESSION_KEY]
        data["seen"] -= app.config["STAFF_SESSION_IDLE_MINUTES"] * 60 + 1
        session[auth.SESSION_KEY] = data

    response = client.get("/staff/")
    assert response.status_code == 302
    page = client.get(response.location)
    assert "Your session ended" in page.get_data(as_text=True)


def enable_two_factor(client) -> str:
    page = client.get("/staff/account/two-factor")
    secret = page.get_data(as_text=True).split('class="secret">')[1].split("<")[0]
    response = client.post(
        "/staff/account/two-factor",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "code": pyotp.TOTP(secret).now(),
        },
    )
    assert response.status_code == 302
    return secret


def test_the_secret_being_set_up_never_travels_in_the_session_cookie(make_staff, staff_login):
    client = staff_login(make_staff("campaigner"))
    app = client.application

    def secret_on_page() -> str:
        page = client.get("/staff/account/two-factor").get_data(as_text=True)
        return page.split('class="secret">')[1].split("<")[0]

    secret = secret_on_page()
    assert secret_on_page() == secret  # the same QR code on every view until it is confirmed
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    session = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert secret not in cookie
    assert secret not in str(session)

    other = staff_login(make_staff("campaigner"), on=app.test_client())
    assert other.get("/staff/account/two-factor").get_data(as_text=True).count(secret) == 0


def test_two_factor_sign_in_asks_for_a_code_that_works_once(client, make_staff, staff_login):
    user = make_staff("admin")
    secret = enable_two_factor(staff_login(user))
    fresh = client.application.test_client()

    response = post_login(fresh, user.email, STAFF_PASSWORD)
    assert response.status_code == 302
    assert response.location.startswith("/staff/login/code")
    assert fresh.get("/staff/").status_code == 302  # not signed in yet

    page = fresh.get(response.location)
    token = csrf_token(page.get_data(as_text=True))
    wrong = fresh.post("/staff/login/code", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 422

    # The code used to turn two-factor on is spent: wait for the next one.
    totp = pyotp.TOTP(secret)
    code = totp.at(time.time() + 30)
    ok = fresh.post("/staff/login/code", data={"csrf_token": token, "code": code})
    assert ok.status_code == 302
    assert fresh.get("/staff/").status_code == 200

    again = client.application.test_client()
    post_login(again, user.email, STAFF_PASSWORD)
    page = again.get("/staff/login/code")
    replay = again.post(
        "/staff/login/code",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "code": code},
    )
    assert replay.status_code == 422


def test_requiring_two_factor_sends_everyone_to_set_it_up(client, make_staff, staff_login):
    admin = make_staff("admin")
    admin_client = staff_login(admin)
    page = admin_client.get("/staff/settings")
    refused = admin_client.post(
        "/staff/settings",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "require_two_factor": "y"},
    )
    assert refused.status_code == 422  # not before the admin has it
    assert "Turn on two-factor sign-in for your own account first." in refused.get_data(
        as_text=True
    )

    enable_two_factor(admin_client)
    page = admin_client.get("/staff/settings")
    assert (
        admin_client.post(
            "/staff/settings",
            data={"csrf_token": csrf_token(page.get_data(as_text=True)), "require_two_factor": "y"},
        ).status_code
        == 302
    )

    campaigner_client = staff_login(make_staff("campaigner"), on=client.application.test_client())
    response = campaigner_client.get("/staff/campaigns/")
    assert response.status_code == 302
    assert response.location == "/staff/account/two-factor"
    assert "must use two-factor" in campaigner_client.get(response.location).get_data(as_text=True)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short pass", "at least 12 characters"),
        ("password1234", "too common"),
        ("qwertyuiopasdf", "too common"),
    ],
)
def test_the_password_policy_refuses_short_and_common_passwords(
    make_staff, staff_login, password, message
):
    client = staff_login(make_staff("campaigner"))
    page = client.get("/staff/account")
    response = client.post(
        "/staff/account",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "current": STAFF_PASSWORD,
            "password": password,
            "confirm": password,
        },
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_changing_the_password_ends_other_sessions(client, make_staff, staff_login):
    user = make_staff("campaigner")
    elsewhere = staff_login(user, on=client.application.test_client())
    here = staff_login(user)
    page = here.get("/staff/account")
    response = here.post(
        "/staff/account",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "current": STAFF_PASSWORD,
            "password": "orange bicycle mountain lantern",
            "confirm": "orange bicycle mountain lantern",
        },
    )
    assert response.status_code == 302
    assert here.get("/staff/").status_code == 200
    assert elsewhere.get("/staff/").status_code == 302


def test_signing_out_voids_copies_of_the_session_cookie(client, make_staff, staff_login):
    user = make_staff("campaigner")
    here = staff_login(user)
    copy = client.application.test_client()
    with here.session_transaction() as original, copy.session_transaction() as stolen:
        stolen.update(original)
    assert copy.get("/staff/").status_code == 200
    page = here.get("/staff/")
    here.post("/staff/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert copy.get("/staff/").status_code == 302


def test_polling_does_not_keep_an_idle_session_alive(app, make_staff, staff_login, demo):
    from tests.mailings.conftest import make_mailing

    client = staff_login(make_staff("campaigner"))
    mailing = make_mailing()
    with client.session_transaction() as session:
        data = session[auth.SESSION_KEY]
        data["seen"] -= app.config["STAFF_SESSION_IDLE_MINUTES"] * 60 - 5  # idle, nearly expired
        session[auth.SESSION_KEY] = data
    assert client.get(f"/staff/mailings/{mailing.id}/progress.json").status_code == 200
    with client.session_transaction() as session:
        assert session[auth.SESSION_KEY]["seen"] == data["seen"]  # not refreshed


def test_turning_two_factor_off_needs_the_password(make_staff, staff_login):
    user = make_staff("campaigner")
    client = staff_login(user)
    enable_two_factor(client)  # this session goes on
    token = csrf_token(client.get("/staff/account").get_data(as_text=True))

    refused = client.post(
        "/staff/account/two-factor/disable",
        data={"csrf_token": token, "password": "wrong password here"},
        follow_redirects=True,
    )
    assert "two-factor sign-in stays on" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(user), user.id).totp_enabled

    client.post(
        "/staff/account/two-factor/disable", data={"csrf_token": token, "password": STAFF_PASSWORD}
    )
    db.session.expire_all()
    assert not db.session.get(type(user), user.id).totp_enabled


def test_a_staff_member_chooses_their_time_zone(make_staff, staff_login):
    user = make_staff("campaigner")
    client = staff_login(user)
    page = client.get("/staff/account").get_data(as_text=True)
    assert '<option selected value="Europe/Brussels">' in page
    client.post(
        "/staff/account/time-zone",
        data={"csrf_token": csrf_token(page), "timezone": "Europe/Lisbon"},
    )
    client.post(
        "/staff/account/time-zone", data={"csrf_token": csrf_token(page), "timezone": "Mars/Base"}
    )
    db.session.expire_all()
    assert db.session.get(type(user), user.id).timezone == "Europe/Lisbon"

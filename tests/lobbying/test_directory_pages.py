"""The directory's staff pages, used the way staff use them: find MEPs among the 718 imported,
add a Commissioner by hand (and get every mistake explained, with what was typed kept), edit,
switch the daily digest, clear a bounce, deactivate; each change in the audit log."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from campaigns.audit.models import AuditEntry
from campaigns.extensions import db
from campaigns.lobbying.cli import targets_cli
from campaigns.lobbying.models import Target, TargetKind
from tests.support import csrf_token

COMMISSIONER = {
    "kind": "commissioner",
    "name": "Olga HEALTH",
    "role": "Commissioner for Health and Animal Welfare",
    "institution": "European Commission",
    "country": "",
    "languages": ["en", "fr"],
    "email": "Cab-Health@ec.europa.eu",
    "profile_url": "https://commission.europa.eu/about/organisation/college-commissioners",
    "time_zone": "Europe/Brussels",
}


@pytest.fixture
def meps(app, app_ctx):
    """The shipped MEPs, imported by the real command."""
    result = app.test_cli_runner().invoke(targets_cli, ["import-meps"])
    assert result.exit_code == 0, result.output
    return app_ctx


@pytest.fixture
def campaigner(make_staff, staff_login):
    return staff_login(make_staff("campaigner"))


def names(html: str) -> list[str]:
    """The target names of the list, top to bottom."""
    return re.findall(r'<th scope="row"><a href="/staff/targets/\d+">([^<]+)</a></th>', html)


def add(client, **changes):
    token = csrf_token(client.get("/staff/targets/new").get_data(as_text=True))
    return client.post("/staff/targets/new", data={**COMMISSIONER, **changes, "csrf_token": token})


def target(name: str) -> Target:
    db.session.expire_all()
    return db.session.scalar(select(Target).where(Target.name == name))


def audit_actions(target_id: int) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target_type == "targets", AuditEntry.target_id == target_id)
            .order_by(AuditEntry.id)
        )
    )


# --- Browse and search -------------------------------------------------------------------------


def test_the_list_pages_searches_and_filters_the_imported_meps(meps, campaigner):
    page = campaigner.get("/staff/targets/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "1–100 of 718 targets." in html
    assert len(names(html)) == 100
    assert 'aria-current="page">Targets</a>' in html  # the menu's section
    assert 'href="/staff/targets/?page=8"' in html

    last = campaigner.get("/staff/targets/?page=8").get_data(as_text=True)
    assert "701–718 of 718 targets." in last
    assert len(names(last)) == 18
    # A page past the end shows the last one; nonsense is ignored, never an error.
    assert "701–718" in campaigner.get("/staff/targets/?page=99").get_data(as_text=True)
    odd = campaigner.get("/staff/targets/?page=x&country=XX&sort=__class__&status=gone")
    assert odd.status_code == 200

    found = campaigner.get("/staff/targets/?q=wiseler").get_data(as_text=True)
    assert names(found) == ["Isabel WISELER-LIMA"]
    assert "1–1 of 1 targets." in found
    assert 'value="wiseler"' in found  # the search stays in its box

    luxembourg = names(campaigner.get("/staff/targets/?country=LU").get_data(as_text=True))
    assert len(luxembourg) == 6
    libe_lu = campaigner.get("/staff/targets/?country=LU&committee=LIBE").get_data(as_text=True)
    assert names(libe_lu) == ["Isabel WISELER-LIMA"]
    assert '<option value="LU" selected>' in libe_lu
    assert "lb fr de" in re.sub(r"<[^>]+>", "", libe_lu)  # the languages column

    greens = names(campaigner.get("/staff/targets/?group=Greens/EFA").get_data(as_text=True))
    assert 0 < len(greens) <= 100
    assert "No target matches." in campaigner.get("/staff/targets/?kind=commissioner").get_data(
        as_text=True
    )


def test_columns_sort_and_keep_the_filters(meps, campaigner):
    html = campaigner.get("/staff/targets/?country=MT&sort=name").get_data(as_text=True)
    by_name = names(html)
    assert by_name == sorted(by_name, key=str.casefold)
    # Again on the column turns the order round, and the filter stays.
    assert re.search(r'aria-sort="ascending"><a class="sort" href="[^"]*order=desc', html)
    link = re.search(r'aria-sort="ascending"><a class="sort" href="([^"]+)"', html).group(1)
    assert "country=MT" in link
    backwards = names(campaigner.get(link.replace("&amp;", "&")).get_data(as_text=True))
    assert backwards == by_name[::-1]
    # The filter form keeps the order chosen.
    assert '<input type="hidden" name="sort" value="name">' in html


def test_chairs_and_vice_chairs_are_marked_and_each_target_has_a_page(meps, campaigner):
    html = campaigner.get("/staff/targets/?committee=LIBE").get_data(as_text=True)
    assert "<strong>LIBE</strong> (chair)" in html
    assert "<strong>LIBE</strong> (vice-chair)" in html

    wiseler = target("Isabel WISELER-LIMA")
    page = campaigner.get(f"/staff/targets/{wiseler.id}").get_data(as_text=True)
    assert "isabel.wiseler@europarl.europa.eu" in page
    assert f"https://www.europarl.europa.eu/meps/en/{wiseler.ep_id}" in page
    assert "Europe/Brussels" in page
    assert "Luxembourgish (lb), French (fr), German (de)" in page
    assert "AFET" in page
    assert "substitute" in page
    assert "No letter has been written to this target yet." in page
    assert 'aria-label="Breadcrumb"' in page
    assert campaigner.get("/staff/targets/999999").status_code == 404


# --- Adding and editing ------------------------------------------------------------------------


def test_a_bad_form_explains_every_mistake_and_keeps_what_was_typed(app_ctx, campaigner):
    response = add(
        campaigner,
        name="Olga\r\nHEALTH",
        role="",
        email="not an address",
        profile_url="http://commission.europa.eu/",
        time_zone="Europe/Brusels",
        languages=[],
        institution="European Commission – DG SANTE",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Please correct the following:" in html
    for message in (
        "Please write this on a single line.",
        "Please enter the role",
        "Please enter a valid email address.",
        "Please enter a web address that starts with https://",
        "Please enter a time zone such as Europe/Brussels",
        "Please choose at least one language.",
    ):
        assert html.count(message) == 2, message  # in the summary and next to the field
    assert 'value="not an address"' in html
    assert 'value="Europe/Brusels"' in html
    assert 'value="http://commission.europa.eu/"' in html
    assert 'value="European Commission – DG SANTE"' in html
    assert 'aria-invalid="true"' in html
    assert db.session.scalar(select(Target)) is None

    # MEPs come from the import only; an unknown language is not a choice either.
    refused = add(campaigner, kind="mep", languages=["en", "xx"]).get_data(as_text=True)
    assert "Not a valid choice" in refused
    assert "Please choose from the list." in refused
    too_many = ["bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga"]
    too_many += ["hr", "hu", "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro"]
    assert "at most 20 languages" in add(campaigner, languages=too_many).get_data(as_text=True)
    assert db.session.scalar(select(Target)) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("profile_url", "https://["),
        ("profile_url", "javascript:alert(1)"),
        ("profile_url", "https://exa mple.org/"),
        ("time_zone", "../../etc/passwd"),
        ("time_zone", "Europe"),
        ("time_zone", "localtime"),
        ("name", "x" * 201),
        ("email", "cab@ec.europa.eu\r\nBcc: x@example.org"),
        ("country", "XX"),
        ("country", "ZZ"),
        ("kind", ""),
        ("languages", ["x" * 5000]),
    ],
)
def test_odd_input_is_refused_never_an_error(app_ctx, campaigner, field, value):
    response = add(campaigner, **{field: value})
    assert response.status_code == 422
    assert "Please correct the following:" in response.get_data(as_text=True)
    assert db.session.scalar(select(Target)) is None


def test_a_nul_character_is_refused_as_everywhere_on_the_site(app_ctx, campaigner):
    assert add(campaigner, name="Olga\x00HEALTH").status_code == 400
    assert db.session.scalar(select(Target)) is None


def test_add_a_commissioner_then_edit_them(app_ctx, campaigner):
    form = campaigner.get("/staff/targets/new").get_data(as_text=True)
    assert 'value="Europe/Brussels"' in form  # the default time zone
    assert 'value="no"' in form  # Norwegian, for Norway's ministries

    response = add(campaigner)
    assert response.status_code == 302
    olga = target("Olga HEALTH")
    assert response.location == f"/staff/targets/{olga.id}"
    assert olga.kind == TargetKind.COMMISSIONER
    assert olga.email == "cab-health@ec.europa.eu"
    assert olga.country is None
    assert olga.languages == "en fr"
    assert olga.active
    assert olga.ep_id is None
    page = campaigner.get(response.location).get_data(as_text=True)
    assert "Olga HEALTH was added to the directory." in page
    assert "EU-wide" in page

    edit_url = f"/staff/targets/{olga.id}/edit"
    edit_page = campaigner.get(edit_url).get_data(as_text=True)
    assert 'value="Commissioner for Health and Animal Welfare"' in edit_page
    assert "next import overwrites" not in edit_page  # only said on an MEP's form
    token = csrf_token(edit_page)
    changed = {
        **COMMISSIONER,
        "role": "Commissioner for Health",
        "languages": ["de", "fr"],
        "csrf_token": token,
    }
    response = campaigner.post(edit_url, data=changed)
    assert response.status_code == 302
    assert "Changes to Olga HEALTH saved." in campaigner.get(response.location).get_data(
        as_text=True
    )
    olga = target("Olga HEALTH")
    assert olga.role == "Commissioner for Health"
    assert olga.languages == "fr de"  # French stays first, German is added after it

    assert audit_actions(olga.id) == ["target.created", "target.updated"]
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "target.updated")
    ).one()
    assert entry.detail["role"] == {
        "from": "Commissioner for Health and Animal Welfare",
        "to": "Commissioner for Health",
    }
    assert entry.detail["languages"] == {"from": "en fr", "to": "fr de"}
    assert "email" not in entry.detail

    # Saving without a change records nothing.
    campaigner.post(edit_url, data=changed)
    assert audit_actions(olga.id) == ["target.created", "target.updated"]


def test_an_meps_form_says_the_import_overwrites_it(meps, campaigner):
    wiseler = target("Isabel WISELER-LIMA")
    html = campaigner.get(f"/staff/targets/{wiseler.id}/edit").get_data(as_text=True)
    assert "the next import overwrites these fields" in html
    assert '<option selected value="mep">' in html or 'value="mep" selected' in html
    assert 'value="commissioner"' not in html  # an MEP stays an MEP


# --- Switches ----------------------------------------------------------------------------------


def test_digest_bounce_and_office_switches_say_what_happened_and_are_audited(app_ctx, campaigner):
    add(campaigner)
    olga = target("Olga HEALTH")
    olga.bounced_at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    olga.bounce_reason = "550 5.1.1 mailbox unknown"
    db.session.commit()
    url = f"/staff/targets/{olga.id}"
    page = campaigner.get(url).get_data(as_text=True)
    assert "Address bounced" in page
    assert "550 5.1.1 mailbox unknown" in page
    token = csrf_token(page)

    def press(action: str) -> str:
        response = campaigner.post(f"{url}/{action}", data={"csrf_token": token})
        assert response.status_code == 302, action
        return campaigner.get(response.location).get_data(as_text=True)

    assert "Daily digest on: Olga HEALTH now receives one message a day" in press("digest/on")
    assert target("Olga HEALTH").daily_digest is True
    assert "Nothing to change" in press("digest/on")  # pressed twice: one change, one entry
    off = press("digest/off")
    assert "Daily digest off: Olga HEALTH receives each letter on its own again." in off
    assert "Switch the daily digest on" in off
    assert target("Olga HEALTH").daily_digest is False

    assert "Bounce cleared: letters to Olga HEALTH will be sent again." in press("clear-bounce")
    olga = target("Olga HEALTH")
    assert olga.bounced_at is None
    assert olga.bounce_reason is None

    assert "Olga HEALTH was deactivated" in press("deactivate")
    olga = target("Olga HEALTH")
    assert not olga.active
    assert olga.left_office_on is not None
    listed = campaigner.get("/staff/targets/").get_data(as_text=True)
    assert "Olga HEALTH" not in names(listed)
    gone = campaigner.get("/staff/targets/?status=inactive").get_data(as_text=True)
    assert names(gone) == ["Olga HEALTH"]

    assert "Olga HEALTH is active again" in press("reactivate")
    olga = target("Olga HEALTH")
    assert olga.active
    assert olga.left_office_on is None

    assert audit_actions(olga.id) == ["target.created"] + ["target.state_changed"] * 5
    changes = db.session.scalars(
        select(AuditEntry.detail)
        .where(AuditEntry.action == "target.state_changed")
        .order_by(AuditEntry.id)
    ).all()
    assert changes[0] == {"daily_digest": {"from": False, "to": True}, "letters_moved": 0}
    assert changes[2]["bounced_at"]["to"] is None
    assert changes[2]["bounce_reason"] == "550 5.1.1 mailbox unknown"
    assert changes[3]["active"] == {"from": True, "to": False}


# --- Who may ----------------------------------------------------------------------------------


def test_coordinators_have_no_access_and_no_menu_entry(app_ctx, demo, make_staff, staff_login):
    from campaigns.networks.models import Network

    network = db.session.scalars(select(Network)).first()
    coordinator = staff_login(make_staff("coordinator", network=network))
    assert "/staff/targets/" not in coordinator.get("/staff/").get_data(as_text=True)
    for url in ("/staff/targets/", "/staff/targets/new"):
        response = coordinator.get(url)
        assert response.status_code == 403
        assert "You do not have access to this page" in response.get_data(as_text=True)


def test_the_menu_shows_targets_to_campaigners_and_admins(app_ctx, make_staff, staff_login, app):
    for role in ("campaigner", "admin"):
        client = staff_login(make_staff(role), on=app.test_client())
        home = client.get("/staff/").get_data(as_text=True)
        assert re.search(r'<a href="/staff/targets/"\s*>Targets</a>', home), role


def test_a_targets_page_counts_its_letters_by_delivery_status(app_ctx, campaigner):
    from campaigns.campaign.models import Campaign, CampaignKind
    from campaigns.lobbying.models import Letter, LetterAction, LetterDelivery

    add(campaigner)
    olga = target("Olga HEALTH")
    action = LetterAction(campaign=Campaign(slug="letters-to-olga", kind=CampaignKind.LETTER))
    statuses = ["sent", "sent", "bounced", "scheduled"]
    for i, status in enumerate(statuses):
        letter = Letter(action=action, email=f"s{i}@example.org", country="FR", locale="fr")
        db.session.add(LetterDelivery(letter=letter, target=olga, status=status))
    db.session.commit()

    html = campaigner.get(f"/staff/targets/{olga.id}").get_data(as_text=True)
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td class="num">(\d+)</td></tr>', html)
    assert rows == [("Scheduled", "1"), ("Sent", "2"), ("Bounced", "1"), ("Total", "4")]

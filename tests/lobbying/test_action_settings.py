"""A letter action's settings page: who receives the letters and what supporters may change, saved
and audited; bad input refused next to its field; the preview of who receives a supporter's letter
from each country; and the switch between test mode and live, for admins only."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from campaigns.audit.models import AuditEntry
from campaigns.campaign.models import Campaign
from campaigns.extensions import db
from campaigns.lobbying import action_services
from campaigns.lobbying.models import (
    CommitteeRole,
    EditPolicy,
    Letter,
    LetterAction,
    LetterDelivery,
    LetterDeliveryStatus,
    LetterStatus,
    SelectionRule,
    Target,
    TargetCommittee,
    TargetKind,
)
from tests.campaign.conftest import campaign_by_slug, create, post
from tests.support import csrf_token

SLUG = "write-for-harm-reduction"


# --- Fixtures (kept here: tests/lobbying/conftest.py belongs to the letter journey's tests) ------


def _target(name: str, country: str | None, kind=TargetKind.MEP, group=None, seats=(), **extra):
    target = Target(
        kind=kind,
        name=name,
        country=country,
        political_group=group,
        email=extra.pop("email", f"{name.split()[0].lower()}@ep.example"),
        languages="en",
        **extra,
    )
    target.committees = [TargetCommittee(committee=code, role=role) for code, role in seats]
    db.session.add(target)
    return target


@pytest.fixture
def directory(app_ctx) -> dict[str, Target]:
    """A small directory: MEPs of France and Germany on LIBE, SANT and ENVI, a commissioner and
    an agency (EU-wide), and an MEP who left office."""
    targets = {
        "camille": _target(
            "Camille Dupont", "FR", group="Renew", seats=[("LIBE", CommitteeRole.CHAIR)]
        ),
        "louis": _target("Louis Martin", "FR", group="S&D", seats=[("SANT", CommitteeRole.MEMBER)]),
        "anna": _target(
            "Anna Schmidt", "DE", group="Greens/EFA", seats=[("LIBE", CommitteeRole.MEMBER)]
        ),
        "jonas": _target(
            "Jonas Weber", "DE", group="Renew", seats=[("ENVI", CommitteeRole.MEMBER)]
        ),
        "gone": _target("Gone Member", "FR", group="EPP", active=False),
        "commissioner": _target(
            "Olivia Commissioner", None, kind=TargetKind.COMMISSIONER, role="Health Commissioner"
        ),
        "agency": _target(
            "EUDA Director", None, kind=TargetKind.AGENCY, institution="EU Drugs Agency"
        ),
    }
    db.session.commit()
    return targets


@pytest.fixture
def campaigner(demo, make_staff, staff_login, app):
    return staff_login(make_staff("campaigner", name="Rosa Campaigner"), on=app.test_client())


@pytest.fixture
def admin_user(demo, make_staff):
    return make_staff("admin", name="Ada Admin")


@pytest.fixture
def admin(admin_user, staff_login, app):
    return staff_login(admin_user, on=app.test_client())


@pytest.fixture
def letter_campaign(campaigner, directory) -> Campaign:
    """A letter campaign made through the editor (the default action: own country's MEPs, LIBE
    and SANT first), its English version ready."""
    response = create(
        campaigner,
        kind="letter",
        slug=SLUG,
        goal="",
        letter_subject="Harm reduction saves lives",
        letter_body="Please support harm reduction services.",
        status="ready",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return campaign_by_slug(SLUG)


@pytest.fixture
def live_deployment(app):
    previous = app.config["LOBBYING_DELIVERY"]
    app.config["LOBBYING_DELIVERY"] = "live"
    yield
    app.config["LOBBYING_DELIVERY"] = previous


def url(campaign: Campaign, path: str = "") -> str:
    return f"/staff/campaigns/{campaign.id}/letter/{path}"


def action_now() -> LetterAction:
    return campaign_by_slug(SLUG).letter_action


def audit(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by("id"))
    )


def save(client, campaign: Campaign, **fields):
    """Submit the settings form as a browser would: what the page shows, with `fields` changed
    (a list for several checkboxes)."""
    page = client.get(url(campaign)).get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "rule": "own_country",
        "committees": ["LIBE", "SANT"],
        "political_group": "",
        "max_targets": "5",
        "edit_policy": "note",
        "note_max": "1000",
        "body_max": "5000",
    }
    data.update(fields)
    return client.post(url(campaign), data=data)


def preview_row(html: str, country: str) -> str:
    match = re.search(
        r'<tr( class="nobody")?>\s*<th scope="row">' + re.escape(country) + r"</th>(.*?)</tr>",
        html,
        re.S,
    )
    assert match, f"no preview row for {country}"
    return match.group(0)


# --- The page and saving it ---------------------------------------------------------------------


def test_the_settings_page_shows_the_saved_action_its_choices_and_test_mode(
    campaigner, letter_campaign
):
    response = campaigner.get(url(letter_campaign))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(
        r'<input[^>]*checked[^>]*value="own_country"|value="own_country"[^>]*checked', html
    )
    # Committees of the directory, LIBE, SANT and ENVI first, with their members counted.
    committees = re.findall(r'name="committees"[^>]*value="([A-Z]+)"', html)
    assert committees == ["LIBE", "SANT", "ENVI"]
    assert "LIBE (2 members)" in html
    assert "SANT (1 member)" in html
    # Groups of the active MEPs only.
    assert '<option value="Renew">' in html
    assert "EPP" not in html
    # Named and fallback lists offer whoever can receive letters.
    assert "Olivia Commissioner (Health Commissioner, EU-wide)" in html
    assert "Gone Member" not in html
    # Test mode, with the reason; a campaigner sees the state but no switch.
    assert (
        "Test mode: letters go to letters-test@campaigns.example.org, not to the policymakers."
        in html
    )
    assert "LOBBYING_DELIVERY" in html
    assert "not been switched live" in html
    assert "Only an admin can switch" in html
    assert url(letter_campaign, "live") not in html

    # The campaign's page links here and shows the same banner.
    page = campaigner.get(f"/staff/campaigns/{letter_campaign.id}/").get_data(as_text=True)
    assert url(letter_campaign) in page
    assert "Test mode: letters go to" in page


def test_saving_the_settings_changes_the_action_and_writes_an_audit_entry(
    campaigner, letter_campaign, directory
):
    response = save(
        campaigner,
        letter_campaign,
        rule="named",
        committees=["ENVI"],
        max_targets="3",
        edit_policy="full",
        note_max="200",
        body_max="8000",
        named=[str(directory["anna"].id), str(directory["commissioner"].id)],
        fallback=[str(directory["agency"].id)],
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    assert response.location == url(letter_campaign)

    action = action_now()
    assert action.rule == SelectionRule.NAMED
    assert action.committee_list == ["ENVI"]
    assert (action.max_targets, action.note_max, action.body_max) == (3, 200, 8000)
    assert action.edit_policy == EditPolicy.FULL
    assert action.chosen_ids("named") == [directory["anna"].id, directory["commissioner"].id]
    assert action.chosen_ids("fallback") == [directory["agency"].id]
    [entry] = audit("letter_action.updated")
    assert entry.campaign_id == letter_campaign.id
    assert set(entry.detail["changed"]) == {
        "rule",
        "committees",
        "max_targets",
        "edit_policy",
        "note_max",
        "body_max",
        "named",
        "fallback",
    }
    assert "The letter settings are saved." in campaigner.get(url(letter_campaign)).get_data(
        as_text=True
    )

    # Saving again without a change is recorded too, and says so.
    response = save(
        campaigner,
        letter_campaign,
        rule="named",
        committees=["ENVI"],
        max_targets="3",
        edit_policy="full",
        note_max="200",
        body_max="8000",
        named=[str(directory["anna"].id), str(directory["commissioner"].id)],
        fallback=[str(directory["agency"].id)],
    )
    assert response.status_code == 303
    assert audit("letter_action.updated")[-1].detail["changed"] == []
    # A chosen target taken off the list goes.
    save(campaigner, letter_campaign, rule="group", political_group="Renew", fallback=[])
    action = action_now()
    assert action.chosen == []
    assert action.political_group == "Renew"


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"max_targets": "0"}, "max_targets", "Please enter a number from 1 to 20."),
        ({"max_targets": "21"}, "max_targets", "Please enter a number from 1 to 20."),
        ({"max_targets": "five"}, "max_targets", "Please enter a whole number, like 5."),
        ({"max_targets": ""}, "max_targets", "Please enter a number from 1 to 20."),
        ({"note_max": "49"}, "note_max", "Please enter a number from 50 to 5,000."),
        ({"body_max": "10001"}, "body_max", "Please enter a number from 200 to 10,000."),
        ({"rule": "everyone"}, "rule", "Please choose who receives the letters."),
        ({"edit_policy": "anything"}, "edit_policy", "Please choose what supporters may change."),
        ({"rule": "committees", "committees": []}, "committees", "at least one committee"),
        ({"committees": ["XXXX"]}, "committees", "Please choose only from the list."),
        ({"rule": "group"}, "political_group", "Please choose a group"),
        ({"political_group": "Nobody's group"}, "political_group", "only from the list"),
        ({"rule": "named"}, "named", "at least one policymaker for the named list"),
        ({"named": ["999999"]}, "named", "Please choose only from the list."),
        ({"fallback": ["not-an-id"]}, "fallback", "Please choose only from the list."),
        ({"edit_policy": "full", "body_max": "20"}, "body_max", "from 200 to 10,000"),
    ],
)
def test_bad_input_is_refused_next_to_its_field_and_what_was_typed_stays(
    campaigner, letter_campaign, fields, field_id, message
):
    typed = {"note_max": "777", **fields}
    response = save(campaigner, letter_campaign, **typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:2000]
    assert 'class="error-summary"' in html
    assert f'id="{field_id}-error"' in html
    assert message in html
    assert f'value="{typed["note_max"]}"' in html  # what was typed is kept
    action = action_now()
    assert (action.rule, action.note_max) == (SelectionRule.OWN_COUNTRY, 1000)  # nothing saved
    assert audit("letter_action.updated") == []


def test_a_rewritable_letter_must_allow_at_least_the_body_already_written(
    campaigner, letter_campaign
):
    campaign = campaign_by_slug(SLUG)
    campaign.translations[0].letter_body = "x" * 600
    db.session.commit()
    response = save(campaigner, letter_campaign, edit_policy="full", body_max="500")
    assert response.status_code == 422
    assert "already 600 characters long" in response.get_data(as_text=True)
    assert save(campaigner, letter_campaign, edit_policy="note", body_max="500").status_code == 303


def test_the_settings_page_is_for_letter_campaigns_only(campaigner, demo):
    petition = db.session.scalar(
        select(Campaign).where(Campaign.slug == "naloxone-in-every-pocket")
    )
    assert campaigner.get(url(petition)).status_code == 404
    assert campaigner.get("/staff/campaigns/999999/letter/").status_code == 404


# --- The preview --------------------------------------------------------------------------------


def test_the_preview_shows_who_receives_each_countrys_letters_and_where_nobody_does(
    campaigner, letter_campaign, directory
):
    html = campaigner.get(url(letter_campaign)).get_data(as_text=True)
    france = preview_row(html, "France")
    assert 'class="nobody"' not in france
    assert "Camille Dupont" in france
    assert "Louis Martin" in france
    assert "LIBE chair" in france  # why she comes first
    assert france.index("Camille Dupont") < france.index("Louis Martin")
    assert "Gone Member" not in france
    for country in ("Norway", "Another country", "Italy"):
        row = preview_row(html, country)
        assert 'class="nobody"' in row
        assert "Nobody: a supporter from here cannot write to anyone." in row
    assert "would reach nobody" in html

    # With a fallback list, Norway and "another country" write to it; France keeps its MEPs.
    save(
        campaigner,
        letter_campaign,
        fallback=[str(directory["commissioner"].id), str(directory["agency"].id)],
    )
    html = campaigner.get(url(letter_campaign)).get_data(as_text=True)
    for country in ("Norway", "Another country"):
        row = preview_row(html, country)
        assert 'class="nobody"' not in row
        assert "Fallback list" in row
        assert "Olivia Commissioner" in row
        assert "EUDA Director" in row
    france = preview_row(html, "France")
    assert "Fallback list" not in france
    assert "Olivia Commissioner" not in france

    rows = {row.code: row for row in action_services.preview(action_now())}
    assert [t.name for t in rows["FR"].targets] == ["Camille Dupont", "Louis Martin"]
    assert not rows["FR"].fallback
    assert rows["NO"].fallback
    assert rows["ZZ"].fallback
    assert [t.name for t in rows["NO"].targets] == ["Olivia Commissioner", "EUDA Director"]
    assert action_services.reachable(list(rows.values())) == 6


# --- Test mode and live -------------------------------------------------------------------------


def add_waiting_letters(campaign: Campaign, directory: dict[str, Target]) -> None:
    """Two confirmed letters not sent yet: three messages to targets."""
    action = campaign_by_slug(campaign.slug).letter_action
    for i, targets in enumerate((["camille", "louis"], ["camille"])):
        letter = Letter(
            action_id=action.id,
            status=LetterStatus.CONFIRMED,
            email=f"writer{i}@example.org",
            name="Writer",
            country="FR",
            locale="en",
        )
        db.session.add(letter)
        db.session.flush()
        for name in targets:
            db.session.add(
                LetterDelivery(
                    letter_id=letter.id,
                    target_id=directory[name].id,
                    status=LetterDeliveryStatus.SCHEDULED,
                )
            )
    db.session.commit()


def test_going_live_is_refused_while_the_deployment_is_in_test_mode(admin, letter_campaign):
    html = admin.get(url(letter_campaign)).get_data(as_text=True)
    assert "Send letters to the policymakers" in html  # an admin sees the button
    assert "Not possible on this deployment" in html

    response = post(admin, url(letter_campaign, "live"), confirmed="yes")
    assert response.status_code == 303
    page = admin.get(url(letter_campaign)).get_data(as_text=True)
    assert "The letters cannot go live: this deployment sends every letter in test mode" in page
    action = action_now()
    assert action.live is False
    assert action.live_changed_at is None
    assert audit("letter_action.live_changed") == []


def test_an_admin_switches_the_letters_live_and_back_with_numbers_and_audit(
    admin, admin_user, letter_campaign, directory, live_deployment
):
    add_waiting_letters(letter_campaign, directory)
    question = post(admin, url(letter_campaign, "live"))
    html = question.get_data(as_text=True)
    assert question.status_code == 200
    assert "to the policymakers?" in html
    assert "4 policymakers can receive them" in html  # the MEPs of France and Germany
    assert "2 letters are waiting to be sent (3 messages)" in html
    assert action_now().live is False  # asking changes nothing

    assert post(admin, url(letter_campaign, "live"), confirmed="yes").status_code == 303
    action = action_now()
    assert action.live is True
    assert action.live_changed_at is not None
    assert action.live_changed_by_id == admin_user.id
    [entry] = audit("letter_action.live_changed")
    assert entry.detail["live"] is True
    assert entry.actor_id == admin_user.id
    html = admin.get(url(letter_campaign)).get_data(as_text=True)
    assert "Live: letters go to the policymakers themselves." in html
    assert "Ada Admin" in html  # who switched it

    question = post(admin, url(letter_campaign, "test")).get_data(as_text=True)
    assert "back to test mode?" in question
    assert "2 letters waiting to be sent (3 messages) go there too." in question
    assert post(admin, url(letter_campaign, "test"), confirmed="yes").status_code == 303
    assert action_now().live is False
    entries = audit("letter_action.live_changed")
    assert [e.detail["live"] for e in entries] == [True, False]


def test_a_campaigner_cannot_switch_the_letters(campaigner, letter_campaign, live_deployment):
    html = campaigner.get(url(letter_campaign)).get_data(as_text=True)
    assert "Send letters to the policymakers" not in html
    assert post(campaigner, url(letter_campaign, "live"), confirmed="yes").status_code == 403
    assert post(campaigner, url(letter_campaign, "test"), confirmed="yes").status_code == 403
    assert action_now().live is False
    assert audit("letter_action.live_changed") == []

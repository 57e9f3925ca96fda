"""Letter campaigns in the editor: a kind chosen once at creation, a letter per language, the
launch checks of a letter action, and every staff and public page that assumed a petition."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from campaigns.audit.models import AuditEntry
from campaigns.campaign import lifecycle
from campaigns.campaign.models import CampaignKind, CampaignStatus, TranslationStatus
from campaigns.extensions import db
from campaigns.lobbying.models import (
    ChosenTarget,
    EditPolicy,
    Letter,
    LetterStatus,
    SelectionRule,
    Target,
    TargetKind,
)
from tests.campaign.conftest import SLUG, campaign_by_slug, create, post, save_translation

SUBJECT = "Harm reduction needs your vote"
BODY = "I live in your constituency.\n\nPlease vote for the harm reduction budget."


def create_letter(client, **fields):
    """The new-campaign form, filled in for a letter to policymakers."""
    values = {
        "kind": "letter",
        "goal": "",
        "letter_subject": SUBJECT,
        "letter_body": BODY,
        "status": "ready",
    }
    return create(client, **{**values, **fields})


@pytest.fixture
def letter(campaigner):
    """A letter campaign made through the editor, its English version ready with its letter."""
    assert create_letter(campaigner).status_code == 303
    return campaign_by_slug()


def add_letters(campaign, confirmed: int, pending: int = 0) -> None:
    action = campaign_by_slug(campaign.slug).letter_action  # as the requests left it
    statuses = [LetterStatus.CONFIRMED] * confirmed + [LetterStatus.PENDING] * pending
    for i, status in enumerate(statuses):
        db.session.add(
            Letter(
                action_id=action.id,
                status=status,
                email=f"writer{i}@example.org",
                name=f"Writer {i}",
                country="FR",
                locale="en",
            )
        )
    db.session.commit()


def launch(client, campaign):
    return post(client, f"/staff/campaigns/{campaign.id}/launch", confirmed="yes")


# --- Creating one -------------------------------------------------------------------------------


def test_the_new_campaign_form_offers_the_kind_with_petition_preselected(campaigner):
    html = campaigner.get("/staff/campaigns/new").get_data(as_text=True)
    radios = re.findall(r'<input[^>]*name="kind"[^>]*>', html)
    assert len(radios) == 2
    assert any('value="petition"' in r and "checked" in r for r in radios)
    assert any('value="letter"' in r and "checked" not in r for r in radios)
    assert "Letter to policymakers" in html
    assert "Letter subject" in html


def test_a_campaigner_creates_a_letter_campaign_with_a_default_action(campaigner):
    # Goal, deadline and ECI progress are a petition's: ignored for a letter, even when wrong.
    response = create_letter(campaigner, goal="lots", deadline="someday", eci_progress="y")

    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    campaign = campaign_by_slug()
    assert campaign.kind == CampaignKind.LETTER
    assert campaign.petition is None
    action = campaign.letter_action
    assert action.rule == SelectionRule.OWN_COUNTRY
    assert action.committee_list == ["LIBE", "SANT"]
    assert action.max_targets == 5
    assert action.edit_policy == EditPolicy.NOTE
    assert action.live is False
    [english] = campaign.translations
    assert (english.letter_subject, english.letter_body) == (SUBJECT, BODY)
    assert english.status == TranslationStatus.READY
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "campaign.created")
    ).one()
    assert entry.detail["kind"] == "letter"


def test_a_petition_still_gets_its_petition_and_no_letter(campaigner):
    response = create(campaigner, letter_subject="Ignored", letter_body="Ignored too")
    assert response.status_code == 303
    campaign = campaign_by_slug()
    assert campaign.kind == CampaignKind.PETITION
    assert campaign.petition.goal == 5000
    assert campaign.letter_action is None
    assert campaign.translations[0].letter_subject == ""


@pytest.mark.parametrize("kind", ["", "survey"])
def test_the_kind_is_required_and_must_be_one_of_the_two(campaigner, kind):
    response = create(campaigner, kind=kind, title="Typed with care")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="kind-error"' in html
    assert "Please choose a petition or a letter to policymakers." in html
    assert 'value="Typed with care"' in html
    assert campaign_by_slug() is None


def test_a_letter_marked_ready_needs_its_subject_and_body(campaigner):
    response = create_letter(campaigner, letter_subject="  ", letter_body="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="letter_subject-error"' in html
    assert 'id="letter_body-error"' in html
    assert campaign_by_slug() is None
    # As a draft it may wait.
    assert (
        create_letter(campaigner, letter_subject="", letter_body="", status="draft").status_code
        == 303
    )


def test_the_settings_of_a_letter_have_no_goal_and_the_kind_cannot_change(campaigner, letter):
    url = f"/staff/campaigns/{letter.id}/settings"
    html = campaigner.get(url).get_data(as_text=True)
    assert 'name="goal"' not in html
    assert 'name="deadline"' not in html
    assert 'name="eci_progress"' not in html
    assert 'name="kind"' not in html

    response = post(
        campaigner,
        url,
        slug="letters-for-housing",
        default_locale="en",
        lead_network_id=str(letter.lead_network_id),
        goal="not a number",
        kind="petition",
    )
    assert response.status_code == 303
    campaign = campaign_by_slug("letters-for-housing")
    assert campaign.kind == CampaignKind.LETTER
    assert campaign.petition is None


# --- The letter in each language ----------------------------------------------------------------


def test_the_translation_form_of_a_letter_shows_the_letter_fields(campaigner, letter):
    html = campaigner.get(f"/staff/campaigns/{letter.id}/translations/fr").get_data(as_text=True)
    assert "Letter subject" in html
    assert "Letter body" in html
    assert "Plain text" in html
    assert "“Dear …” is added" in html
    assert "name is added as the signature" in html
    assert SUBJECT in html  # the original, beside


def test_a_petition_translation_has_no_letter_fields(campaigner, draft):
    html = campaigner.get(f"/staff/campaigns/{draft.id}/translations/fr").get_data(as_text=True)
    assert "Letter subject" not in html
    assert 'name="letter_body"' not in html


def test_a_letter_translation_is_ready_only_with_subject_and_body(campaigner, letter):
    response = save_translation(campaigner, letter, "fr", status="ready")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "subject, or keep this version as a draft." in html
    assert "body, or keep this version as a draft." in html

    assert save_translation(campaigner, letter, "fr", status="draft").status_code == 303
    response = save_translation(
        campaigner,
        letter,
        "fr",
        status="ready",
        letter_subject="La réduction des risques",
        letter_body="Madame, Monsieur,\r\nvotez pour la réduction des risques.",
    )
    assert response.status_code == 303
    french = next(t for t in campaign_by_slug().translations if t.locale == "fr")
    assert french.status == TranslationStatus.READY
    assert french.letter_subject == "La réduction des risques"
    assert french.letter_body == "Madame, Monsieur,\nvotez pour la réduction des risques."


@pytest.mark.parametrize(
    ("fields", "field_id"),
    [
        ({"letter_subject": "Two\nlines"}, "letter_subject"),
        ({"letter_subject": "x" * 201}, "letter_subject"),
        ({"letter_body": "x" * 5001}, "letter_body"),
        ({"body_markdown": " "}, "body_markdown"),
    ],
)
def test_bad_letter_text_is_refused_next_to_its_field(campaigner, letter, fields, field_id):
    response = save_translation(campaigner, letter, "fr", status="draft", **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field_id}-error"' in html
    assert "text of the petition" not in html  # a letter campaign's page is not a petition


# --- Launching ----------------------------------------------------------------------------------


def test_a_ready_letter_with_the_default_action_launches(campaigner, letter):
    assert lifecycle.launch_problems(letter) == []
    question = post(campaigner, f"/staff/campaigns/{letter.id}/launch")
    html = question.get_data(as_text=True)
    assert "The letter page becomes public" in html
    assert "Test mode: letters go to" in html

    assert launch(campaigner, letter).status_code == 303
    assert campaign_by_slug().status == CampaignStatus.LIVE


def test_launch_needs_the_letter_in_the_default_language(campaigner):
    create_letter(campaigner, letter_subject="", letter_body="", status="draft")
    campaign = campaign_by_slug()
    problems = lifecycle.launch_problems(campaign_by_slug())
    assert any("needs the letter's subject and body" in p for p in problems)
    assert launch(campaigner, campaign).status_code == 303
    assert campaign_by_slug().status == CampaignStatus.DRAFT
    page = campaigner.get(f"/staff/campaigns/{campaign.id}/").get_data(as_text=True)
    assert "needs the letter&#39;s subject and body" in page


def test_launch_needs_a_rule_that_can_find_someone(campaigner, letter):
    def with_action(**values):
        campaign = campaign_by_slug()
        for name, value in values.items():
            setattr(campaign.letter_action, name, value)
        db.session.commit()
        return lifecycle.launch_problems(campaign_by_slug())

    [problem] = with_action(rule=SelectionRule.NAMED)
    assert "Nobody would receive the letters" in problem
    assert launch(campaigner, letter).status_code == 303
    assert campaign_by_slug().status == CampaignStatus.DRAFT
    page = campaigner.get(f"/staff/campaigns/{letter.id}/").get_data(as_text=True)
    assert "Nobody would receive the letters" in page

    target = Target(kind=TargetKind.COMMISSIONER, name="Ada Commissioner", email="ada@ec.example")
    db.session.add(target)
    db.session.flush()
    db.session.add(
        ChosenTarget(
            action_id=campaign_by_slug().letter_action.id, target_id=target.id, purpose="fallback"
        )
    )
    db.session.commit()
    assert with_action() == []  # the fallback list has someone

    [problem] = with_action(rule=SelectionRule.COMMITTEES, committees="")
    assert "no committee is chosen" in problem

    [problem] = with_action(rule=SelectionRule.GROUP, political_group=None)
    assert "no group is chosen" in problem


# --- The pages that assumed a petition ----------------------------------------------------------


def test_the_editor_pages_of_a_letter_campaign(campaigner, letter):
    add_letters(letter, confirmed=3, pending=2)

    page = campaigner.get(f"/staff/campaigns/{letter.id}/").get_data(as_text=True)
    assert "Letters confirmed" in page
    assert "<dd>3</dd>" in page
    assert "Letter to policymakers" in page
    assert "Test mode: letters go to letters-test@campaigns.example.org" in page
    assert f"/staff/campaigns/{letter.id}/letter/" in page
    assert f"/staff/campaigns/{letter.id}/export" not in page
    assert f"/en/write/{SLUG}" in page  # its public page

    index = campaigner.get("/staff/campaigns/")
    assert index.status_code == 200
    assert "letters" in index.get_data(as_text=True)

    preview = campaigner.get(f"/staff/campaigns/{letter.id}/preview/en")
    assert preview.status_code == 200
    assert SUBJECT in preview.get_data(as_text=True)
    assert campaigner.get(f"/staff/campaigns/{letter.id}/preview/fr").status_code == 200


def test_closing_a_letter_campaign_asks_with_its_letters(campaigner, letter):
    launch(campaigner, letter)
    add_letters(letter, confirmed=2)
    html = post(campaigner, f"/staff/campaigns/{letter.id}/close").get_data(as_text=True)
    assert "2 letters were confirmed." in html


def test_the_home_page_lists_a_live_letter_campaign(campaigner, letter):
    launch(campaigner, letter)
    add_letters(letter, confirmed=2, pending=5)

    html = campaigner.get("/en/").get_data(as_text=True)
    card = html[html.index("Housing first for all") - 300 :]
    card = card[: card.index("</li>")]
    assert f'href="/en/write/{SLUG}"' in card
    assert "Write to them" in card
    assert "2 letters written" in card
    assert "Goal" not in card
    assert "Naloxone" in html  # the demo's petitions are still there


def test_dashboard_and_exports_of_a_letter_campaign_answer_without_error(campaigner, letter):
    add_letters(letter, confirmed=4, pending=1)
    dashboard = campaigner.get(f"/staff/campaigns/{letter.id}/dashboard")
    assert dashboard.status_code == 200
    html = dashboard.get_data(as_text=True)
    assert "no signatures to chart" in html
    assert "<dd>4</dd>" in html

    for url in (f"/staff/campaigns/{letter.id}/export", f"/staff/campaigns/{letter.id}/report"):
        response = campaigner.get(url)
        assert response.status_code == 404
        assert "No signatures to export" in response.get_data(as_text=True)
    posted = post(campaigner, f"/staff/campaigns/{letter.id}/export", status="confirmed")
    assert posted.status_code == 404

    # The staff home lists it among the campaigns whose translations wait.
    home = campaigner.get("/staff/")
    assert home.status_code == 200
    assert f"/staff/campaigns/{letter.id}/translations" in home.get_data(as_text=True)


def test_a_coordinator_sees_only_the_letters_their_network_brought(
    app, letter, make_staff, staff_login
):
    network = campaign_by_slug().lead_network
    add_letters(letter, confirmed=3)
    mine = db.session.scalars(select(Letter).order_by(Letter.id)).first()
    mine.source_network_id = network.id
    db.session.commit()
    coordinator = staff_login(make_staff("coordinator", network=network), on=app.test_client())
    html = coordinator.get(f"/staff/campaigns/{letter.id}/dashboard").get_data(as_text=True)
    assert f"You see only the letters {network.name} brought." in html
    assert "<dd>1</dd>" in html
    assert f"/staff/campaigns/{letter.id}/letter/" not in html  # no settings for them


def test_a_mailing_links_a_letter_campaign_to_its_writing_page(app, letter):
    from campaigns.mailings.compose import merge_examples

    examples = {e.written: e.for_ada for e in merge_examples(letter, "fr")}
    assert examples["{{ action_link }}"].endswith(f"/fr/write/{SLUG}")

"""A version per language with its status, and the preview of the public page."""

from __future__ import annotations

from campaigns.campaign.models import CampaignStatus, TranslationStatus
from tests.campaign.conftest import SLUG, campaign_by_slug, create, post, save_translation


def test_each_language_shows_missing_draft_or_ready(campaigner, draft):
    assert save_translation(campaigner, draft, "fr").status_code == 303

    page = campaigner.get(f"/staff/campaigns/{draft.id}/translations").get_data(as_text=True)
    rows = {
        code: page.split(f'<th scope="row">{name}')[1].split("</tr>")[0]
        for code, name in (("en", "English"), ("fr", "French"), ("de", "German"))
    }
    assert "Ready" in rows["en"]
    assert "Draft" in rows["fr"]
    assert "Missing" in rows["de"]

    listing = campaigner.get("/staff/campaigns/").get_data(as_text=True)
    assert '<li class="lang-ready"><abbr title="English">EN</abbr> Ready</li>' in listing
    assert '<li class="lang-draft"><abbr title="French">FR</abbr> Draft</li>' in listing
    assert '<li class="lang-missing"><abbr title="German">DE</abbr> Missing</li>' in listing


def test_a_translation_is_edited_and_marked_ready(campaigner, draft):
    save_translation(campaigner, draft, "fr")
    form = campaigner.get(f"/staff/campaigns/{draft.id}/translations/fr").get_data(as_text=True)
    assert "Un logement d&#39;abord, pour tous" in form
    assert 'lang="fr"' in form
    assert "Original (English)" in form

    response = save_translation(
        campaigner, draft, "fr", title="Le logement d'abord", status="ready"
    )
    assert response.status_code == 303
    french = next(t for t in campaign_by_slug().translations if t.locale == "fr")
    assert (french.title, french.status) == ("Le logement d'abord", TranslationStatus.READY)


def test_a_translation_is_checked_like_the_original(campaigner, draft):
    response = save_translation(campaigner, draft, "de", body_markdown='<a onclick="x()">Hier</a>')
    assert response.status_code == 422
    assert "not allowed: onclick" in response.get_data(as_text=True)
    assert campaigner.get(f"/staff/campaigns/{draft.id}/translations/xx").status_code == 404


def test_the_default_version_of_a_public_campaign_stays_ready(campaigner, draft):
    post(campaigner, f"/staff/campaigns/{draft.id}/launch", confirmed="yes")
    response = save_translation(
        campaigner, draft, "en", title="Housing first", summary="s", body_markdown="b"
    )
    assert response.status_code == 422
    assert "must stay ready" in response.get_data(as_text=True)
    assert campaign_by_slug().status == CampaignStatus.LIVE


def test_preview_of_a_draft_is_the_public_page_marked_not_public(campaigner):
    create(campaigner)  # a draft with a draft text: the public could not see it at all
    campaign = campaign_by_slug()
    assert campaigner.get(f"/en/c/{SLUG}").status_code == 404

    response = campaigner.get(f"/staff/campaigns/{campaign.id}/preview/en")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Preview — not public" in html
    assert "This version is a draft" in html
    assert "<h1>Housing first for all</h1>" in html
    assert "<strong>fund Housing First</strong>" in html
    assert 'class="petition"' in html  # the public page's own template
    assert "Sign the petition" in html
    assert "disabled>Sign</button>" in html
    assert response.headers["Cache-Control"] == "no-store"


def test_preview_in_another_language_uses_its_words_and_falls_back_like_the_public_page(
    campaigner, draft
):
    save_translation(campaigner, draft, "fr")
    french = campaigner.get(f"/staff/campaigns/{draft.id}/preview/fr").get_data(as_text=True)
    assert "Un logement d&#39;abord, pour tous" in french
    assert '<html lang="fr">' in french
    assert "Preview — not public" in french  # the banner stays in the staff member's language

    german = campaigner.get(f"/staff/campaigns/{draft.id}/preview/de").get_data(as_text=True)
    assert "There is no German version yet" in german
    assert "<h1>Housing first for all</h1>" in german
    assert '<html lang="de">' in german

    # The staff member's own language did not change.
    assert '<html lang="en">' in campaigner.get("/staff/campaigns/").get_data(as_text=True)
    assert campaigner.get(f"/staff/campaigns/{draft.id}/preview/xx").status_code == 404


def test_the_public_page_shows_a_ready_translation_and_otherwise_says_it_falls_back(
    app, demo, client
):
    from sqlalchemy import select, update

    from campaigns.campaign.models import Campaign, CampaignTranslation
    from campaigns.extensions import db

    campaign = db.session.scalar(
        select(Campaign).where(Campaign.slug == "naloxone-in-every-pocket")
    )
    french = next(t for t in campaign.translations if t.locale == "fr")
    english = next(t for t in campaign.translations if t.locale == "en")
    french.status = TranslationStatus.DRAFT
    db.session.commit()

    page = client.get("/fr/c/naloxone-in-every-pocket").get_data(as_text=True)
    assert "Cette campagne n’est pas encore disponible dans votre langue" in page
    assert english.title in page
    assert french.title not in page
    assert '<html lang="fr"' in page  # the page itself, its form and notes stay French

    db.session.execute(
        update(CampaignTranslation)
        .where(CampaignTranslation.id == french.id)
        .values(status=TranslationStatus.READY)
    )
    db.session.commit()
    app.extensions.pop("page_cache", None)  # the page is cached for a few seconds
    page = client.get("/fr/c/naloxone-in-every-pocket").get_data(as_text=True)
    assert "pas encore disponible" not in page
    assert french.title in page

"""A small directory of targets and a live letter action to the LIBE and SANT members."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaigns.campaign.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignTranslation,
    TranslationStatus,
)
from campaigns.extensions import db
from campaigns.lobbying.models import (
    ChosenTarget,
    CommitteeRole,
    EditPolicy,
    LetterAction,
    SelectionRule,
    Target,
    TargetCommittee,
    TargetKind,
)

SLUG = "end-the-war-on-people"
# A Tuesday, 10:00 in Brussels: offices are open.
OFFICE_MORNING = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def mep(ep_id: int, name: str, country: str, group: str, *seats: tuple[str, str], **kw) -> Target:
    target = Target(
        kind=TargetKind.MEP,
        ep_id=ep_id,
        name=name,
        role="Member of the European Parliament",
        institution="European Parliament",
        country=country,
        political_group=group,
        languages=kw.pop("languages", "fr" if country == "FR" else "de"),
        email=f"{name.split()[0].lower()}.{ep_id}@europarl.example.eu",
        time_zone="Europe/Brussels",
        **kw,
    )
    target.committees = [
        TargetCommittee(committee=code, role=CommitteeRole(role)) for code, role in seats
    ]
    return target


@pytest.fixture
def directory(app_ctx) -> dict[str, Target]:
    targets = {
        "claire": mep(1, "Claire DUPONT", "FR", "Greens/EFA", ("LIBE", "member")),
        "marc": mep(2, "Marc LEROY", "FR", "Renew", ("LIBE", "chair")),
        "sophie": mep(3, "Sophie MARTIN", "FR", "S&D", ("SANT", "vice-chair")),
        "paul": mep(4, "Paul BERNARD", "FR", "EPP", ("AGRI", "member")),
        "jonas": mep(5, "Jonas WEBER", "DE", "S&D", ("LIBE", "vice-chair")),
        "gone": mep(6, "Anne GONE", "FR", "EPP", ("LIBE", "member"), active=False),
        "euda": Target(
            kind=TargetKind.AGENCY,
            name="Director of the EU Drugs Agency",
            role="Executive Director",
            institution="European Union Drugs Agency (EUDA)",
            languages="en",
            email="director@euda.example.eu",
            time_zone="Europe/Lisbon",
        ),
    }
    db.session.add_all(targets.values())
    db.session.commit()
    return targets


@pytest.fixture
def action(directory) -> LetterAction:
    """Live, in test mode: the supporter's own MEPs, LIBE and SANT members first, at most 3; the
    EU Drugs Agency's director for everyone else."""
    campaign = Campaign(
        slug=SLUG,
        kind=CampaignKind.LETTER,
        status=CampaignStatus.LIVE,
        default_locale="en",
    )
    campaign.translations = [
        CampaignTranslation(
            locale="en",
            status=TranslationStatus.READY,
            title="End the war on people who use drugs",
            summary="Ask your MEPs to back harm reduction in the next EU Drugs Strategy.",
            target="Members of the European Parliament",
            body_markdown="The EU Drugs Strategy is being written **now**.",
            letter_subject="Harm reduction in the EU Drugs Strategy",
            letter_body="I am writing to ask you to support harm reduction.\n\nThank you.",
        ),
        CampaignTranslation(
            locale="fr",
            status=TranslationStatus.READY,
            title="Arrêtons la guerre contre les usagers de drogues",
            summary="Demandez à vos eurodéputés de soutenir la réduction des risques.",
            target="Députés européens",
            body_markdown="La stratégie de l'UE est en cours d'écriture.",
            letter_subject="La réduction des risques dans la stratégie antidrogue de l'UE",
            letter_body="Je vous écris pour vous demander de soutenir la réduction des risques.",
        ),
    ]
    letter_action = LetterAction(
        campaign=campaign,
        rule=SelectionRule.OWN_COUNTRY,
        committees="LIBE SANT",
        max_targets=3,
        edit_policy=EditPolicy.NOTE,
        note_max=300,
    )
    letter_action.chosen = [ChosenTarget(target=directory["euda"], purpose="fallback")]
    db.session.add(campaign)
    db.session.commit()
    return letter_action


@pytest.fixture
def office_clock(monkeypatch):
    """Delivery's clock, set by the test (starts on a Tuesday morning in Brussels)."""
    from campaigns.lobbying import delivery, digest

    class Clock:
        now = OFFICE_MORNING

        def __call__(self) -> datetime:
            return self.now

    clock = Clock()
    monkeypatch.setattr(delivery, "utcnow", clock)
    monkeypatch.setattr(digest, "utcnow", clock)
    return clock

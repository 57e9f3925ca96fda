"""The demo letter action: the shipped MEPs in the directory, two EU targets added by hand, and
"write to the LIBE and SANT members" about harm reduction in the EU Drugs Strategy.

Clearly an example (its texts say so), and in test mode like every action until an admin switches
it live on a deployment with LOBBYING_DELIVERY=live: its letters go to the test inbox (the built-in
catcher under `make run`), never to a real policymaker.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from campaigns.campaign.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignTranslation,
    TranslationStatus,
)
from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.lobbying.directory import import_meps
from campaigns.lobbying.models import (
    ChosenTarget,
    EditPolicy,
    LetterAction,
    SelectionRule,
    Target,
    TargetKind,
)
from campaigns.networks.models import Network

SLUG = "harm-reduction-in-the-eu-drugs-strategy"
DATA = Path(__file__).resolve().parents[1] / "data"

# Added by hand, as staff would; the addresses are examples (a real deployment enters real ones).
EU_TARGETS = [
    {
        "kind": TargetKind.AGENCY,
        "name": "Executive Director of the EU Drugs Agency",
        "role": "Executive Director",
        "institution": "European Union Drugs Agency (EUDA), Lisbon",
        "languages": "en pt",
        "email": "director@euda.example.eu",
        "profile_url": "https://www.euda.europa.eu/",
        "time_zone": "Europe/Lisbon",
    },
    {
        "kind": TargetKind.COUNCIL,
        "name": "Chair of the Horizontal Working Party on Drugs",
        "role": "Chair",
        "institution": "Council of the European Union",
        "languages": "en fr",
        "email": "hdg-chair@council.example.eu",
        "profile_url": None,
        "time_zone": "Europe/Brussels",
    },
]

EXAMPLE = {
    "en": "This is an example action that comes with the platform: its letters go to a test "
    "inbox, not to the policymakers.",
    "fr": "Ceci est une action d'exemple livrée avec la plateforme : ses lettres vont dans une "
    "boîte de test, pas aux décideurs.",
    "de": "Dies ist eine Beispielaktion, die mit der Plattform geliefert wird: Ihre Briefe gehen "
    "in ein Testpostfach, nicht an die Entscheidungsträger.",
}

TEXTS = {
    "en": {
        "title": "Harm reduction in the EU Drugs Strategy: write to the LIBE and SANT members",
        "summary": "The EU is putting its new Drugs Strategy into practice. Ask the chairs and "
        "vice-chairs of Parliament's civil liberties (LIBE) and public health (SANT) committees "
        "to make harm reduction and peer work part of it.",
        "target": "Chairs and vice-chairs of the LIBE and SANT committees",
        "body": "In December 2025 the Commission presented a new **EU Drugs Strategy**. Whether it "
        "saves lives depends on how it is carried out: naloxone, drug checking, opioid agonist "
        "treatment and peer workers who are paid fairly.",
        "letter_subject": "Harm reduction and peer work in the EU Drugs Strategy",
        "letter_body": "I am writing to you because your committee follows the EU Drugs "
        "Strategy.\n\nPeople who use drugs die of preventable overdoses every day in "
        "Europe. Naloxone, drug checking, opioid agonist treatment and supervised consumption "
        "sites save lives, and peer workers reach people no service reaches.\n\nPlease make sure "
        "that the Strategy commits to a full harm reduction package, to not criminalising people "
        "who use drugs, and to paying peer workers fairly.\n\nThank you for your attention.",
    },
    "fr": {
        "title": "La réduction des risques dans la stratégie antidrogue de l'UE : écrivez aux "
        "membres de LIBE et SANT",
        "summary": "L'UE met en œuvre sa nouvelle stratégie antidrogue. Demandez aux présidents et "
        "vice-présidents des commissions des libertés civiles (LIBE) et de la santé publique "
        "(SANT) du Parlement d'y inscrire la réduction des risques et le travail des pairs.",
        "target": "Présidents et vice-présidents des commissions LIBE et SANT",
        "body": "En décembre 2025, la Commission a présenté une nouvelle **stratégie antidrogue "
        "de l'UE**. Qu'elle sauve des vies dépend de sa mise en œuvre : naloxone, analyse des "
        "drogues, traitements agonistes opioïdes et pairs aidants justement rémunérés.",
        "letter_subject": "Réduction des risques et travail des pairs dans la stratégie "
        "antidrogue de l'UE",
        "letter_body": "Je vous écris parce que votre commission suit la stratégie antidrogue "
        "de l'UE.\n\nDes personnes qui consomment des drogues meurent chaque jour en "
        "Europe de surdoses évitables. La naloxone, l'analyse des drogues, les traitements "
        "agonistes opioïdes et les salles de consommation supervisée sauvent des vies, et les "
        "pairs aidants atteignent des personnes qu'aucun service n'atteint.\n\nJe vous demande "
        "de veiller à ce que la stratégie s'engage pour une réduction des risques complète, pour "
        "la non-pénalisation des personnes qui consomment des drogues et pour une juste "
        "rémunération des pairs aidants.\n\nJe vous remercie de votre attention.",
    },
    "de": {
        "title": "Schadensminderung in der EU-Drogenstrategie: Schreiben Sie den Mitgliedern von "
        "LIBE und SANT",
        "summary": "Die EU setzt ihre neue Drogenstrategie um. Bitten Sie die Vorsitzenden und "
        "stellvertretenden Vorsitzenden der Ausschüsse für bürgerliche Freiheiten (LIBE) und "
        "öffentliche Gesundheit (SANT), Schadensminderung und Peer-Arbeit darin zu verankern.",
        "target": "Vorsitzende und stellvertretende Vorsitzende der Ausschüsse LIBE und SANT",
        "body": "Im Dezember 2025 hat die Kommission eine neue **EU-Drogenstrategie** vorgelegt. "
        "Ob sie Leben rettet, hängt von ihrer Umsetzung ab: Naloxon, Drug-Checking, "
        "Substitutionsbehandlung und fair bezahlte Peer-Arbeit.",
        "letter_subject": "Schadensminderung und Peer-Arbeit in der EU-Drogenstrategie",
        "letter_body": "Ich schreibe Ihnen, weil Ihr Ausschuss die EU-Drogenstrategie "
        "begleitet.\n\nIn Europa sterben jeden Tag Menschen, die Drogen gebrauchen, an "
        "vermeidbaren Überdosierungen. Naloxon, Drug-Checking, Substitutionsbehandlung und "
        "Drogenkonsumräume retten Leben, und Peer-Arbeiterinnen und -Arbeiter erreichen "
        "Menschen, die kein anderer Dienst erreicht.\n\nBitte setzen Sie sich dafür ein, dass die "
        "Strategie ein umfassendes Angebot der Schadensminderung vorsieht, Menschen, die Drogen "
        "gebrauchen, nicht kriminalisiert und Peer-Arbeit fair bezahlt.\n\nVielen Dank für Ihre "
        "Aufmerksamkeit.",
    },
}


def load_demo_letter_action() -> bool:
    """Import the shipped MEPs, add the two EU targets and the example action (the caller
    commits). False if the action exists already."""
    if db.session.scalar(select(Campaign.id).where(Campaign.slug == SLUG)):
        return False
    result = import_meps(DATA / "meps.csv", None, utcnow().date())
    if result.errors:  # the shipped files are checked by the tests; this would be a bug
        raise RuntimeError(f"the shipped MEP files do not import: {result.errors[:3]}")
    fallback = [Target(**spec) for spec in EU_TARGETS]
    db.session.add_all(fallback)
    campaign = Campaign(
        slug=SLUG,
        kind=CampaignKind.LETTER,
        status=CampaignStatus.LIVE,
        default_locale="en",
        lead_network=db.session.scalar(select(Network).where(Network.is_umbrella.is_(True))),
        launched_at=utcnow(),
    )
    for locale, text in TEXTS.items():
        campaign.translations.append(
            CampaignTranslation(
                locale=locale,
                status=TranslationStatus.READY,
                title=text["title"],
                summary=text["summary"],
                target=text["target"],
                body_markdown=f"*{EXAMPLE[locale]}*\n\n{text['body']}",
                letter_subject=text["letter_subject"],
                letter_body=text["letter_body"],
            )
        )
    action = LetterAction(
        campaign=campaign,
        rule=SelectionRule.COMMITTEES,
        committees="LIBE SANT",
        max_targets=5,
        edit_policy=EditPolicy.NOTE,
        note_max=1000,
    )
    action.chosen = [
        ChosenTarget(target=target, purpose="fallback", position=n)
        for n, target in enumerate(fallback)
    ]
    db.session.add(campaign)
    return True

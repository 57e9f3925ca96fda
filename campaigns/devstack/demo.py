"""Demo content for a new installation: the network, member networks and three campaigns.

The campaigns are realistic examples built on public facts (EU drug-death figures from the EU
Drugs Agency, the EU Drugs Strategy, the network's own advocacy); they are not campaigns the
network is actually running.
`flask --app wsgi demo load` loads them into an empty database and does nothing otherwise.
"""

from __future__ import annotations

import os

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from campaigns.campaign.models import (
    Campaign,
    CampaignStatus,
    CampaignTranslation,
    TranslationStatus,
)
from campaigns.core.db import utcnow
from campaigns.devstack.demo_letters import load_demo_letter_action
from campaigns.devstack.demo_networks import NETWORKS, demo_networks
from campaigns.extensions import db
from campaigns.petitions.models import Petition

demo_cli = AppGroup("demo", help="Demo content for a new installation.")

CAMPAIGNS = [
    {
        "slug": "naloxone-in-every-pocket",
        "goal": 10_000,
        "lead": "euronpud",
        "texts": {
            "en": {
                "title": "Naloxone in every pocket",
                "target": "Members of the European Parliament's Public Health committee (SANT) and "
                "Commissioner Olivér Várhelyi",
                "summary": "Naloxone reverses an opioid overdose within minutes. Ask the EU to fund "
                "take-home and peer-to-peer naloxone everywhere and to count it when the new EU "
                "Drugs Strategy is put into practice.",
                "body": (
                    "About **6,400 people died of drug-induced deaths in the EU in 2022**, most of "
                    "them involving opioids. Many of these deaths could have been prevented.\n\n"
                    "Naloxone is a safe, cheap medicine that reverses an opioid overdose. People who "
                    "use drugs are usually the first on the scene, and peer-to-peer distribution puts "
                    "naloxone where overdoses happen. The EU Drugs Agency lists take-home naloxone "
                    "among the measures that prevent overdose deaths.\n\n"
                    "We ask the European Parliament's Public Health committee and the Commissioner "
                    "for Health to:\n\n"
                    "1. fund take-home and peer-to-peer naloxone programmes in every member state;\n"
                    "2. make naloxone coverage an indicator of the new EU Drugs Strategy;\n"
                    "3. involve organisations of people who use drugs in designing these "
                    "programmes.\n\n"
                    "Sign before International Overdose Awareness Day, 31 August."
                ),
            },
            "fr": {
                "title": "De la naloxone dans chaque poche",
                "target": "Membres de la commission de la santé publique (SANT) du Parlement "
                "européen et le commissaire Olivér Várhelyi",
                "summary": "La naloxone inverse une overdose d'opioïdes en quelques minutes. "
                "Demandons à l'UE de financer partout la naloxone à emporter et distribuée entre "
                "pairs, et d'en faire un indicateur de la nouvelle stratégie antidrogue de l'UE.",
                "body": (
                    "Environ **6 400 personnes sont mortes d'une surdose dans l'UE en 2022**, le plus "
                    "souvent avec des opioïdes en cause. Beaucoup de ces décès auraient pu être "
                    "évités.\n\n"
                    "La naloxone est un médicament sûr et peu coûteux qui inverse une overdose "
                    "d'opioïdes. Les personnes qui consomment des drogues sont souvent les premières "
                    "sur place, et la distribution entre pairs met la naloxone là où les overdoses "
                    "arrivent. L'Agence de l'UE sur les drogues compte la naloxone à emporter parmi "
                    "les mesures qui évitent des décès.\n\n"
                    "Nous demandons à la commission de la santé publique du Parlement européen et au "
                    "commissaire à la santé :\n\n"
                    "1. de financer des programmes de naloxone à emporter et entre pairs dans chaque "
                    "État membre ;\n"
                    "2. de faire de la couverture en naloxone un indicateur de la nouvelle stratégie "
                    "antidrogue de l'UE ;\n"
                    "3. d'associer les organisations de personnes qui consomment des drogues à leur "
                    "conception.\n\n"
                    "Signez avant la Journée internationale de sensibilisation aux overdoses, le "
                    "31 août."
                ),
            },
            "de": {
                "title": "Naloxon in jede Tasche",
                "target": "Mitglieder des Gesundheitsausschusses (SANT) des Europäischen Parlaments "
                "und Kommissar Olivér Várhelyi",
                "summary": "Naloxon hebt eine Opioid-Überdosis innerhalb von Minuten auf. Fordern "
                "wir die EU auf, Take-Home- und Peer-to-Peer-Naloxon überall zu finanzieren und es "
                "bei der Umsetzung der neuen EU-Drogenstrategie zu messen.",
                "body": (
                    "Rund **6.400 Menschen starben 2022 in der EU an drogenbedingten Todesfällen**, "
                    "meist unter Beteiligung von Opioiden. Viele dieser Todesfälle wären vermeidbar "
                    "gewesen.\n\n"
                    "Naloxon ist ein sicheres, günstiges Medikament, das eine Opioid-Überdosis "
                    "aufhebt. Drogengebrauchende Menschen sind meist als Erste vor Ort, und die "
                    "Weitergabe unter Peers bringt Naloxon dorthin, wo Überdosierungen passieren. Die "
                    "Drogenagentur der EU zählt Take-Home-Naloxon zu den Maßnahmen, die "
                    "Drogentodesfälle verhindern.\n\n"
                    "Wir fordern den Gesundheitsausschuss des Europäischen Parlaments und den "
                    "Gesundheitskommissar auf:\n\n"
                    "1. Take-Home- und Peer-to-Peer-Naloxonprogramme in jedem Mitgliedstaat zu "
                    "finanzieren;\n"
                    "2. die Versorgung mit Naloxon zu einem Indikator der neuen EU-Drogenstrategie "
                    "zu machen;\n"
                    "3. Organisationen drogengebrauchender Menschen an der Gestaltung zu "
                    "beteiligen.\n\n"
                    "Unterschreibe vor dem International Overdose Awareness Day am 31. August."
                ),
            },
        },
    },
    {
        "slug": "test-dont-guess",
        "goal": 5_000,
        "lead": "euronpud",
        "texts": {
            "en": {
                "title": "Test, don't guess: drug checking in the European Drug Alert System",
                "target": "The EU Drugs Agency (EUDA), with a copy to the Civil Liberties "
                "committee (LIBE)",
                "summary": "Nitazenes are killing people in the Baltics and beyond. Community and "
                "peer drug-checking services see new substances first: their results belong in "
                "the new European Drug Alert System, and the services need funding.",
                "body": (
                    "Since July 2024 the EU Drugs Agency runs a **European Drug Alert System**. "
                    "Drug-checking services, many of them run with or by people who use drugs, are "
                    "often the first to find dangerous substances such as nitazenes, which have "
                    "already caused outbreaks of deaths in Estonia and Latvia.\n\n"
                    "We ask the EUDA to:\n\n"
                    "- accept results from community and peer drug-checking services as a source "
                    "for its alerts;\n"
                    "- send alerts back to those services and to people who use drugs, in their "
                    "languages, fast;\n"
                    "- support funding for drug checking in every member state."
                ),
            },
            "fr": {
                "title": "Analyser plutôt que deviner : l'analyse de drogues dans le système "
                "d'alerte européen",
                "target": "L'Agence de l'Union européenne sur les drogues (EUDA), copie à la "
                "commission LIBE",
                "summary": "Les nitazènes tuent dans les pays baltes et ailleurs. Les services "
                "communautaires d'analyse de drogues voient les nouvelles substances en premier : "
                "leurs résultats doivent alimenter le nouveau système européen d'alerte, et ces "
                "services doivent être financés.",
                "body": (
                    "Depuis juillet 2024, l'Agence de l'UE sur les drogues gère un **système "
                    "européen d'alerte sur les drogues**. Les services d'analyse de drogues, souvent "
                    "animés avec ou par des personnes qui consomment des drogues, sont souvent les "
                    "premiers à détecter des substances dangereuses comme les nitazènes, déjà à "
                    "l'origine de vagues de décès en Estonie et en Lettonie.\n\n"
                    "Nous demandons à l'EUDA :\n\n"
                    "- de retenir les résultats des services d'analyse communautaires et entre pairs "
                    "comme source de ses alertes ;\n"
                    "- de renvoyer rapidement les alertes à ces services et aux personnes qui "
                    "consomment des drogues, dans leurs langues ;\n"
                    "- de soutenir le financement de l'analyse de drogues dans chaque État membre."
                ),
            },
            "de": {
                "title": "Testen statt raten: Drug Checking im Europäischen Drogenwarnsystem",
                "target": "Die Drogenagentur der Europäischen Union (EUDA), in Kopie an den "
                "LIBE-Ausschuss",
                "summary": "Nitazene töten im Baltikum und anderswo. Drug-Checking-Angebote aus der "
                "Community sehen neue Substanzen zuerst: Ihre Ergebnisse gehören in das neue "
                "Europäische Drogenwarnsystem, und die Angebote brauchen Finanzierung.",
                "body": (
                    "Seit Juli 2024 betreibt die Drogenagentur der EU ein **Europäisches "
                    "Drogenwarnsystem**. Drug-Checking-Angebote, oft mit oder von "
                    "drogengebrauchenden Menschen betrieben, entdecken gefährliche Substanzen wie "
                    "Nitazene häufig zuerst. Diese haben in Estland und Lettland bereits zu "
                    "Häufungen von Todesfällen geführt.\n\n"
                    "Wir fordern die EUDA auf:\n\n"
                    "- Ergebnisse aus Community- und Peer-Drug-Checking als Quelle für ihre "
                    "Warnungen anzuerkennen;\n"
                    "- Warnungen schnell und in ihren Sprachen an diese Angebote und an "
                    "drogengebrauchende Menschen zurückzugeben;\n"
                    "- die Finanzierung von Drug Checking in jedem Mitgliedstaat zu unterstützen."
                ),
            },
        },
    },
    {
        "slug": "health-not-handcuffs",
        "goal": 25_000,
        "lead": "euronpud",
        "texts": {
            "en": {
                "title": "Health, not handcuffs: rebalance the new EU Drugs Strategy",
                "target": "Commissioners Magnus Brunner and Olivér Várhelyi",
                "summary": "The EU's new drugs strategy of December 2025 leans on security. Its "
                "public-health strand needs measurable harm-reduction targets and a clear "
                "commitment not to criminalise people who use drugs.",
                "body": (
                    "In December 2025 the Commission presented a new EU Drugs Strategy and an Action "
                    "Plan against drug trafficking. Most of it is about security, ports and "
                    "organised crime.\n\n"
                    "Harm reduction works: opioid agonist treatment, needle and syringe programmes, "
                    "drug consumption rooms, drug checking and naloxone save lives and cost little. "
                    "Punishing people who use drugs drives them away from help.\n\n"
                    "We ask the Commissioners for Internal Affairs and for Health to:\n\n"
                    "1. set measurable harm-reduction targets in the strategy's public-health strand "
                    "(coverage of opioid agonist treatment, needle and syringe programmes, drug "
                    "consumption rooms);\n"
                    "2. commit not to criminalise people who use drugs;\n"
                    "3. pay peer workers fairly and involve our networks in implementation."
                ),
            },
            "fr": {
                "title": "La santé, pas les menottes : rééquilibrer la nouvelle stratégie "
                "antidrogue de l'UE",
                "target": "Les commissaires Magnus Brunner et Olivér Várhelyi",
                "summary": "La nouvelle stratégie antidrogue de l'UE de décembre 2025 mise sur la "
                "sécurité. Son volet santé publique a besoin d'objectifs mesurables de réduction "
                "des risques et d'un engagement clair à ne pas criminaliser les personnes qui "
                "consomment des drogues.",
                "body": (
                    "En décembre 2025, la Commission a présenté une nouvelle stratégie antidrogue de "
                    "l'UE et un plan d'action contre le trafic de drogues. L'essentiel porte sur la "
                    "sécurité, les ports et le crime organisé.\n\n"
                    "La réduction des risques fonctionne : traitements agonistes opioïdes, "
                    "programmes d'échange de seringues, salles de consommation, analyse de drogues et "
                    "naloxone sauvent des vies à faible coût. Punir les personnes qui consomment des "
                    "drogues les éloigne de l'aide.\n\n"
                    "Nous demandons aux commissaires aux affaires intérieures et à la santé :\n\n"
                    "1. de fixer des objectifs mesurables de réduction des risques dans le volet "
                    "santé publique (couverture des traitements agonistes opioïdes, des programmes "
                    "d'échange de seringues, des salles de consommation) ;\n"
                    "2. de s'engager à ne pas criminaliser les personnes qui consomment des "
                    "drogues ;\n"
                    "3. de rémunérer équitablement les pairs aidants et d'associer nos réseaux à la "
                    "mise en œuvre."
                ),
            },
            "de": {
                "title": "Gesundheit statt Handschellen: die neue EU-Drogenstrategie "
                "ausbalancieren",
                "target": "Die Kommissare Magnus Brunner und Olivér Várhelyi",
                "summary": "Die neue EU-Drogenstrategie vom Dezember 2025 setzt auf Sicherheit. Ihr "
                "Gesundheitsteil braucht messbare Ziele für Schadensminderung und ein klares "
                "Bekenntnis, drogengebrauchende Menschen nicht zu kriminalisieren.",
                "body": (
                    "Im Dezember 2025 hat die Kommission eine neue EU-Drogenstrategie und einen "
                    "Aktionsplan gegen Drogenhandel vorgelegt. Der größte Teil handelt von "
                    "Sicherheit, Häfen und organisierter Kriminalität.\n\n"
                    "Schadensminderung wirkt: Substitutionsbehandlung, Spritzentausch, "
                    "Drogenkonsumräume, Drug Checking und Naloxon retten Leben und kosten wenig. "
                    "Strafen treiben drogengebrauchende Menschen von Hilfe weg.\n\n"
                    "Wir fordern die Kommissare für Inneres und für Gesundheit auf:\n\n"
                    "1. messbare Ziele für Schadensminderung im Gesundheitsteil der Strategie "
                    "festzulegen (Versorgung mit Substitution, Spritzentausch, Konsumräumen);\n"
                    "2. sich zu verpflichten, drogengebrauchende Menschen nicht zu "
                    "kriminalisieren;\n"
                    "3. Peer-Arbeit fair zu bezahlen und unsere Netzwerke an der Umsetzung zu "
                    "beteiligen."
                ),
            },
        },
    },
]


def load_demo_content() -> bool:
    """Load the demo networks and campaigns into an empty database (the caller commits). Returns
    False if it wasn't empty."""
    if db.session.scalar(select(func.count()).select_from(Campaign)):
        return False
    networks = demo_networks()
    db.session.add_all(networks.values())
    for spec in CAMPAIGNS:
        campaign = Campaign(
            slug=spec["slug"],
            status=CampaignStatus.LIVE,
            default_locale="en",
            lead_network=networks[spec["lead"]],
            launched_at=utcnow(),
        )
        for locale, text in spec["texts"].items():
            campaign.translations.append(
                CampaignTranslation(
                    locale=locale,
                    status=TranslationStatus.READY,
                    title=text["title"],
                    summary=text["summary"],
                    target=text["target"],
                    body_markdown=text["body"],
                )
            )
        db.session.add(campaign)
        db.session.add(Petition(campaign=campaign, goal=spec["goal"]))
    return True


@demo_cli.command("load")
def load_command() -> None:
    """Load demo content into an empty database (does nothing otherwise)."""
    if load_demo_content():
        db.session.commit()
        click.echo(f"Loaded {len(NETWORKS)} networks and {len(CAMPAIGNS)} demo campaigns.")
        if load_demo_letter_action():
            db.session.commit()
            click.echo(
                "Loaded the MEPs of the 10th term and an example letter action (test mode: its "
                "letters go to the test inbox)."
            )
    else:
        click.echo("The database already has campaigns; demo content not loaded.")


DEMO_ADMIN_EMAIL = "admin@example.org"


@demo_cli.command("admin")
@click.argument("password_file", type=click.Path(dir_okay=False))
def admin_command(password_file: str) -> None:
    """Create a first admin (admin@example.org) if there is no staff account yet, and write its
    generated password to PASSWORD_FILE (readable by you only). For trying the platform out:
    production creates accounts with `flask staff create`."""
    from campaigns.staff.models import Role, StaffUser
    from campaigns.staff.services import create_staff, generate_password

    if db.session.scalar(select(func.count()).select_from(StaffUser)):
        return
    password = generate_password()
    create_staff(DEMO_ADMIN_EMAIL, password, Role.ADMIN, name="Demo admin")
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{DEMO_ADMIN_EMAIL}\n{password}\n")
    db.session.commit()
    click.echo(f"Created the staff account {DEMO_ADMIN_EMAIL}; its password is in {password_file}.")

"""The demo's member networks: real network names, with profiles written for the demo (not the
networks' own words), contacts at example.org, and one site that may embed our forms on this
machine (http://localhost:8001: `python -m http.server 8001` in a folder with a page holding the
snippet of the umbrella network's attribution kit)."""

from __future__ import annotations

from campaigns.networks.models import Network, NetworkContact

DEMO_NOTE = " (Demo profile.)"

NETWORKS: list[dict[str, object]] = [
    {
        "slug": "euronpud",
        "name": "European Network of People who Use Drugs (EuroNPUD)",
        "countries": [],
        "languages": ["en", "fr", "de"],
        "website": "https://www.euronpud.net",
        "umbrella": True,
        "description": "The European network of national networks of people who use drugs: "
        "harm reduction, human rights and the voice of people who use drugs in EU policy.",
        "contacts": [("EuroNPUD secretariat", "secretariat@example.org")],
        "embed_origins": ["http://localhost:8001"],
    },
    {
        "slug": "asud",
        "name": "ASUD – Auto-Support des Usagers de Drogues",
        "countries": ["FR"],
        "languages": ["fr"],
        "description": "Self-support of people who use drugs in France: peer support, harm "
        "reduction and the defence of users' rights.",
        "contacts": [("Camille Martin", "camille.martin@example.org")],
    },
    {
        "slug": "jes",
        "name": "JES-Bundesverband (Junkies, Ehemalige, Substituierte)",
        "countries": ["DE"],
        "languages": ["de"],
        "description": "The German federation of people who use drugs, former users and people "
        "in substitution treatment.",
        "contacts": [("Jonas Becker", "jonas.becker@example.org")],
    },
    {
        "slug": "itanpud",
        "name": "ItaNPUD – Italian Network of People who Use Drugs",
        "countries": ["IT"],
        "languages": ["en", "it"],
        "description": "The Italian network of people who use drugs.",
        "contacts": [("Giulia Rossi", "giulia.rossi@example.org")],
    },
    {
        "slug": "sduu",
        "name": "Svenska Brukarföreningen – Swedish Drug Users Union",
        "countries": ["SE"],
        "languages": ["en", "sv"],
        "description": "The Swedish drug users union.",
        "contacts": [("Erik Lindqvist", "erik.lindqvist@example.org")],
    },
    {
        "slug": "fhn",
        "name": "FHN – Foreningen for human narkotikapolitikk",
        "countries": ["NO"],
        "languages": ["en", "no"],
        "description": "The Norwegian association for a humane drug policy.",
        "contacts": [("Ingrid Hansen", "ingrid.hansen@example.org")],
    },
    {
        "slug": "caso",
        "name": "CASO – Consumidores Associados Sobrevivem Organizados",
        "countries": ["PT"],
        "languages": ["en", "pt"],
        "description": "The Portuguese association of people who use drugs.",
        "contacts": [("Ana Sousa", "ana.sousa@example.org")],
    },
    {
        "slug": "uisce",
        "name": "UISCE",
        "countries": ["IE"],
        "languages": ["en", "ga"],
        "description": "The Irish advocacy service for people who use drugs.",
        "contacts": [("Seán Byrne", "sean.byrne@example.org")],
    },
]


def demo_networks() -> dict[str, Network]:
    """The demo networks by slug, new (the caller adds and commits them)."""
    networks = {}
    for spec in NETWORKS:
        networks[spec["slug"]] = Network(
            slug=spec["slug"],
            name=spec["name"],
            countries=list(spec["countries"]),
            languages=list(spec["languages"]),
            website=spec.get("website"),
            description=spec["description"] + DEMO_NOTE,
            embed_origins=list(spec.get("embed_origins", [])),
            is_umbrella=bool(spec.get("umbrella")),
            contacts=[NetworkContact(name=name, email=email) for name, email in spec["contacts"]],
        )
    return networks

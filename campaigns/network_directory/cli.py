"""`flask networks ...`: the member-network directory from the command line (deployment scripts,
a first setup). The same checks as the staff form; a command with any mistake writes nothing,
lists every mistake, and exits with status 1."""

from __future__ import annotations

from collections.abc import Callable

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from campaigns.core.cli import refuse
from campaigns.extensions import db
from campaigns.network_directory import rules
from campaigns.network_directory import services as directory
from campaigns.networks.models import Network

networks_cli = AppGroup("networks", help="The member networks: who they are, who gets alerts.")
VIA = "command line"


def _option(name: str) -> Callable[[int], str]:
    """Where a mistake is, in a command: the option and which one of its repeats."""
    return lambda number: f"{name} #{number}"


def _network(slug: str) -> Network:
    network = db.session.scalar(select(Network).where(Network.slug == slug.strip().lower()))
    if network is None:
        refuse([_("There is no network with the slug “%(slug)s”.", slug=slug)])
    return network


def _checked(
    values: dict[str, object],
    given: dict[str, object],
    network: Network | None,
) -> dict[str, object]:
    """Check what the command gives (`given`: option values, None for an option left out) and
    return the values to store; stop the command on any mistake."""
    errors: list[str] = []

    def check(option: str, found: list[str]) -> None:
        errors.extend(f"{option}: {message}" for message in found)

    if given.get("slug") is not None:
        values["slug"] = given["slug"].strip().lower()
        check("--slug", rules.check_slug(values["slug"], network.id if network else None))
    if given.get("name") is not None:
        values["name"] = given["name"].strip()
        check("--name", rules.check_name(values["name"]))
    if given.get("countries"):
        values["countries"] = [code.strip().upper() for code in given["countries"]]
    if "countries" in values or network is None:
        required = not (network is not None and network.is_umbrella)
        check("--country", rules.check_countries(values.get("countries", []), required=required))
    if given.get("languages"):
        values["languages"] = [code.strip().lower() for code in given["languages"]]
    if "languages" in values or network is None:
        values.setdefault("languages", ["en"])
        check("--language", rules.check_languages(values["languages"]))
    if given.get("website") is not None:
        values["website"] = given["website"].strip() or None
        check("--website", rules.check_website(values["website"] or ""))
    if given.get("description") is not None:
        values["description"] = given["description"].replace("\r\n", "\n").strip()
        check("--description", rules.check_description(values["description"]))
    if given.get("contacts") is not None:
        values["contacts"], found = rules.parse_contacts(
            list(given["contacts"]), _option("--contact")
        )
        errors.extend(found)
    if given.get("origins") is not None:
        values["embed_origins"], found = rules.parse_origins(
            list(given["origins"]), _option("--embed-origin")
        )
        errors.extend(found)
    if errors:
        refuse(errors)
    return values


_PROFILE_OPTIONS = [
    click.option("--name", help="The network's name, as pages show it."),
    click.option(
        "--country",
        "countries",
        multiple=True,
        help="A country it works in (two letters, e.g. FR); repeat for several.",
    ),
    click.option(
        "--language",
        "languages",
        multiple=True,
        help="A language it works in (e.g. fr); the first is its alerts' (en, fr or de).",
    ),
    click.option("--website", help="Its website, https:// only."),
    click.option("--description", help="Who they are, for the public page (plain text)."),
    click.option(
        "--contact",
        "contacts",
        multiple=True,
        help='An alert contact, "Name <email>"; repeat for several.',
    ),
    click.option(
        "--embed-origin",
        "origins",
        multiple=True,
        help="A site that may embed our forms (https://www.example.org); repeat for several.",
    ),
]


def _profile_options(command: Callable) -> Callable:
    for option in reversed(_PROFILE_OPTIONS):
        command = option(command)
    return command


@networks_cli.command("create")
@click.option("--slug", required=True, help="Its ?source= code: a-z, 0-9 and hyphens.")
@_profile_options
def create(slug: str, **given: object) -> None:
    """Add a member network (active)."""
    given["name"] = given["name"] or ""  # checked, and named as missing
    values = _checked({}, {**given, "slug": slug}, None)
    network = directory.create_network(values, via=VIA)
    db.session.commit()
    click.echo(_("Created %(slug)s: %(name)s.", slug=network.slug, name=network.name))


@networks_cli.command("update")
@click.argument("slug")
@click.option(
    "--new-slug", help="A new ?source= code (links shared with the old one stop crediting it)."
)
@_profile_options
@click.option("--no-contacts", is_flag=True, help="Remove every alert contact.")
@click.option("--no-embed-origins", is_flag=True, help="Let no site embed our forms.")
def update(
    slug: str, new_slug: str | None, no_contacts: bool, no_embed_origins: bool, **given: object
) -> None:
    """Change a network: only the options given; --contact and --embed-origin replace the list."""
    network = _network(slug)
    given["slug"] = new_slug
    given["contacts"] = () if no_contacts else (given["contacts"] or None)
    given["origins"] = () if no_embed_origins else (given["origins"] or None)
    values = _checked({}, given, network)
    if directory.update_network(network, values, via=VIA):
        db.session.commit()
        click.echo(_("Updated %(slug)s.", slug=network.slug))
    else:
        click.echo(_("Nothing was changed."))


@networks_cli.command("deactivate")
@click.argument("slug")
def deactivate(slug: str) -> None:
    """No alerts, no embeds, no public page; its ?source= code credits nothing new."""
    network = _network(slug)
    if directory.set_active(network, False, via=VIA):
        db.session.commit()
        click.echo(_("Deactivated %(slug)s.", slug=network.slug))
    else:
        click.echo(_("%(slug)s was inactive already.", slug=network.slug))


@networks_cli.command("activate")
@click.argument("slug")
def activate(slug: str) -> None:
    """Make a deactivated network active again."""
    network = _network(slug)
    if directory.set_active(network, True, via=VIA):
        db.session.commit()
        click.echo(_("Activated %(slug)s.", slug=network.slug))
    else:
        click.echo(_("%(slug)s was active already.", slug=network.slug))


@networks_cli.command("list")
def list_networks() -> None:
    """A table of the networks: slug, name, countries, languages, state, contacts, origins."""
    networks = db.session.scalars(
        select(Network).options(selectinload(Network.contacts)).order_by(Network.slug)
    ).all()
    click.echo(
        f"{'slug':<20}  {'name':<40}  {'countries':<12}  {'languages':<12}  "
        f"{'state':<8}  contacts  origins"
    )
    for network in networks:
        state = "active" if network.is_active else "inactive"
        click.echo(
            f"{network.slug:<20}  {network.name[:40]:<40}  "
            f"{','.join(network.countries) or '-':<12}  {','.join(network.languages) or '-':<12}  "
            f"{state:<8}  {len(network.contacts):>8}  {len(network.embed_origins):>7}"
        )
    click.echo(_("%(count)d networks.", count=len(networks)))

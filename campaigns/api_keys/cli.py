"""`flask api-keys ...`: make, list and revoke API keys from a shell. The same checks as the
staff form; a command with any mistake writes nothing, lists every mistake, exits with status 1.
Expiry days end at midnight UTC."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from campaigns.api_keys import services
from campaigns.api_keys.models import SCOPES, ApiKey
from campaigns.core.cli import refuse
from campaigns.core.dates import day_error, parse_day
from campaigns.extensions import db
from campaigns.networks.models import Network

api_keys_cli = AppGroup("api-keys", help="Keys for the JSON API: make, list, revoke.")
# The options of `create` that each problem of services.problems is about.
OPTIONS = {"name": "--name", "scopes": "--scope", "network": "--network", "expires": "--expires"}


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


@api_keys_cli.command("create")
@click.option("--name", default="", help="What the key is for (up to 120 characters).")
@click.option("--network", "slug", help="The slug of the network whose server uses it.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help=f"What it may do; repeat for several: {', '.join(SCOPES)}.",
)
@click.option("--expires", help="The last day it works, YYYY-MM-DD (until midnight UTC).")
def create(name: str, slug: str | None, scopes: tuple[str, ...], expires: str | None) -> None:
    """Make a key and print it once: it is stored only as a hash."""
    errors: list[str] = []
    network = None
    if slug is not None:
        network = db.session.scalar(select(Network).where(Network.slug == slug.strip().lower()))
        if network is None:
            errors.append(
                f"--network: {_('There is no network with the slug “%(slug)s”.', slug=slug)}"
            )
    expires_at = None
    if expires is not None:
        day = parse_day(expires)
        if day is None:
            errors.append(f"--expires: {day_error()}")
        else:
            expires_at = services.day_end(day)
    errors.extend(
        f"{OPTIONS[field]}: {message}"
        for field, message in services.problems(name, scopes, network, expires_at)
    )
    if errors:
        refuse(errors)
    api_key, token = services.create_key(
        name, scopes, network, expires_at, via=services.VIA_COMMAND_LINE
    )
    db.session.commit()
    click.echo(token)
    click.echo(
        _(
            "This is the key %(prefix)s. Copy it now: it is not shown again (only its hash is "
            "kept). If it is lost, revoke it and make a new one.",
            prefix=api_key.prefix,
        ),
        err=True,
    )


@api_keys_cli.command("list")
def list_keys() -> None:
    """A table of the keys: prefix, name, network, scopes, expiry, last use, status (UTC)."""
    keys = services.all_keys()
    click.echo(
        f"{'prefix':<12}  {'name':<30}  {'network':<16}  {'scopes':<40}  "
        f"{'expires (UTC)':<16}  {'last used (UTC)':<16}  status"
    )
    for api_key in keys:
        network = api_key.network.slug if api_key.network is not None else "-"
        click.echo(
            f"{api_key.prefix:<12}  {api_key.name[:30]:<30}  {network:<16}  "
            f"{','.join(api_key.scope_list):<40}  {_when(api_key.expires_at):<16}  "
            f"{_when(api_key.last_used_at):<16}  {api_key.status().value}"
        )
    click.echo(ngettext("%(num)d key.", "%(num)d keys.", len(keys)))


@api_keys_cli.command("revoke")
@click.argument("prefix")
def revoke(prefix: str) -> None:
    """Revoke the key with this prefix (cmp_...): every later request with it fails."""
    api_key: ApiKey | None = services.key_by_prefix(prefix)
    if api_key is None:
        refuse([_("There is no key with the prefix “%(prefix)s”.", prefix=prefix)])
    if services.revoke(api_key, None, via=services.VIA_COMMAND_LINE):
        db.session.commit()
        click.echo(_("Revoked %(prefix)s.", prefix=api_key.prefix))
    else:
        click.echo(_("%(prefix)s was revoked already.", prefix=api_key.prefix))

"""`flask --app wsgi staff ...`: staff accounts from the command line (deployment scripts)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.staff import services
from campaigns.staff.models import Role, StaffUser

staff_cli = AppGroup("staff", help="Staff accounts.")


@staff_cli.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    required=True,
    help="admin, campaigner or coordinator.",
)
@click.option("--name", default="", help="The person's name, as staff pages show it.")
@click.option("--network", "network_slug", help="A coordinator's member network (its slug).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of generating one.",
)
def create(
    email: str, role: str, name: str, network_slug: str | None, password_stdin: bool
) -> None:
    """Create a staff account. Without --password-stdin a password is generated and printed once."""
    network_id = None
    if network_slug:
        network = db.session.scalar(select(Network).where(Network.slug == network_slug))
        if network is None:
            raise click.UsageError(f"no network with the slug {network_slug!r}")
        network_id = network.id
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        generated = False
    else:
        password, generated = services.generate_password(), True
    try:
        user = services.create_staff(email, password, Role(role), name=name, network_id=network_id)
    except services.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Created {user.role} {user.email}.")
    if generated:
        click.echo(f"Password (shown only now): {password}")


@staff_cli.command("list")
def list_staff() -> None:
    """List staff accounts: email, role, network, active, two-factor."""
    for user in db.session.scalars(select(StaffUser).order_by(StaffUser.email)):
        click.echo(
            "\t".join(
                [
                    user.email,
                    str(user.role),
                    user.network.slug if user.network else "-",
                    "active" if user.is_active else "inactive",
                    "2fa" if user.totp_enabled else "no-2fa",
                ]
            )
        )

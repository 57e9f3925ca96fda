"""`flask targets ...`: the directory of targets from the command line."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from campaigns.extensions import db
from campaigns.lobbying import directory
from campaigns.lobbying.models import Target, TargetCommittee

targets_cli = AppGroup("targets", help="The directory of policymakers letters are written to.")

MAX_ERRORS = 50


def _today() -> date:
    """Today where the Parliament sits (the directory's default time zone)."""
    return datetime.now(ZoneInfo(current_app.config["LOBBYING_DEFAULT_TIME_ZONE"])).date()


def _who(target: Target) -> str:
    return f"{target.ep_id} {target.name} ({target.country}, {target.political_group or '-'})"


@targets_cli.command("import-meps")
@click.argument(
    "path",
    required=False,
    type=click.Path(dir_okay=False, path_type=Path),
    default=directory.MEPS_FILE,
)
@click.option(
    "--roles",
    "roles_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"The committee roles (default: {directory.ROLES_FILE_NAME} beside PATH, if present).",
)
@click.option("--dry-run", is_flag=True, help="Show what would change, write nothing.")
def import_meps(path: Path, roles_path: Path | None, dry_run: bool) -> None:
    """Bring the MEPs in line with PATH (default: the shipped campaigns/data/meps.csv).

    Matched by ep_id. All or nothing: any error in either file leaves the directory untouched.
    An MEP missing from the file has left office and is kept, inactive."""
    result = directory.import_meps(path, roles_path, _today())
    if result.errors:
        db.session.rollback()
        for error in result.errors[:MAX_ERRORS]:
            click.echo(error, err=True)
        if len(result.errors) > MAX_ERRORS:
            click.echo(_("and %(count)d more", count=len(result.errors) - MAX_ERRORS), err=True)
        click.echo(_("Nothing was imported: correct the file and run the import again."), err=True)
        raise SystemExit(1)

    if result.roles_file is None:
        click.echo(_("No roles file: committee seats from the committees column, as members."))
    for target in result.added:
        click.echo(_("Added: %(who)s", who=_who(target)))
    for target, changes in result.changed:
        click.echo(_("Changed: %(who)s", who=_who(target)))
        for what, old, new in changes:
            click.echo(f"    {what}: {old or '-'} -> {new or '-'}")
    for target in result.left:
        click.echo(_("Left office (kept, inactive): %(who)s", who=_who(target)))
    for target in result.returned:
        click.echo(_("Returned (active again): %(who)s", who=_who(target)))
    click.echo(
        _(
            "%(rows)d MEPs in the file: %(added)d added, %(changed)d changed, "
            "%(left)d left office, %(returned)d returned, %(unchanged)d unchanged.",
            rows=result.rows,
            added=len(result.added),
            changed=len(result.changed),
            left=len(result.left),
            returned=len(result.returned),
            unchanged=result.unchanged,
        )
    )
    if dry_run:
        db.session.rollback()
        click.echo(_("Dry run: nothing was written."))
    else:
        db.session.commit()


@targets_cli.command("list")
@click.option("--country", help="Only this country (two letters, e.g. FR).")
@click.option("--committee", help="Only members of this committee (e.g. LIBE).")
@click.option("--inactive", is_flag=True, help="Those who left office or were deactivated.")
def list_targets(country: str | None, committee: str | None, inactive: bool) -> None:
    """A short table of the directory: id, name, country, group, committees."""
    query = (
        select(Target)
        .where(Target.active.is_(not inactive))
        .options(selectinload(Target.committees))
        .order_by(Target.country, Target.name)
    )
    if country:
        query = query.where(Target.country == country.upper())
    if committee:
        query = query.where(
            Target.id.in_(
                select(TargetCommittee.target_id).where(
                    TargetCommittee.committee == committee.upper()
                )
            )
        )
    count = 0
    for target in db.session.scalars(query):
        seats = " ".join(
            seat.committee if seat.role == "member" else f"{seat.committee}({seat.role})"
            for seat in directory.sorted_seats(target)
        )
        click.echo(
            f"{target.id:>5}  {target.name[:34]:<34}  {target.country or 'EU':<2}  "
            f"{(target.political_group or target.kind)[:12]:<12}  {seats}"
        )
        count += 1
    click.echo(_("%(count)d targets.", count=count))

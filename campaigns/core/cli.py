"""What the `flask --app wsgi ...` commands share."""

from __future__ import annotations

from typing import NoReturn

import click
from flask_babel import gettext as _

from campaigns.extensions import db


def refuse(errors: list[str]) -> NoReturn:
    """A command with any mistake writes nothing: undo, say each mistake, exit with status 1."""
    db.session.rollback()
    for error in errors:
        click.echo(_("Error: %(error)s", error=error), err=True)
    click.echo(_("Nothing was written: correct the command and run it again."), err=True)
    raise SystemExit(1)

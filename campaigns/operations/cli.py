"""`flask --app wsgi doctor`: the status page's checks for an operator, one line each."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from campaigns.operations.checks import status_checks
from campaigns.operations.results import State


@click.command("doctor")
@with_appcontext
def doctor_cli() -> None:
    """Check the database, Redis, workers, beat, outbox, queues, mailings and letters. Exits with
    status 1 when a check fails (a warning alone does not)."""
    results = status_checks()
    for result in results:
        click.echo(f"{result.state_code:<4}  {result.label}: {result.detail}")
    if any(result.state == State.FAILING for result in results):
        sys.exit(1)

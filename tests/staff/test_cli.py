"""`flask --app wsgi staff create`: accounts for deployment scripts."""

from __future__ import annotations

import re

from campaigns.staff.cli import staff_cli
from campaigns.staff.services import LoginOutcome, check_password, find_by_email


def test_create_an_admin_with_a_generated_password_printed_once(app, app_ctx):
    result = app.test_cli_runner().invoke(
        staff_cli, ["create", "Ops@Example.org", "--role", "admin"]
    )

    assert result.exit_code == 0, result.output
    password = re.search(r"Password \(shown only now\): (\S+)", result.output).group(1)
    user = find_by_email("ops@example.org")
    assert user.role == "admin"
    assert check_password("ops@example.org", password).outcome == LoginOutcome.OK


def test_create_with_a_password_from_stdin(app, app_ctx):
    result = app.test_cli_runner().invoke(
        staff_cli,
        ["create", "c@example.org", "--role", "campaigner", "--password-stdin"],
        input="violet tractor summer piano\n",
    )
    assert result.exit_code == 0, result.output
    assert "shown only now" not in result.output
    assert check_password("c@example.org", "violet tractor summer piano").outcome == LoginOutcome.OK


def test_weak_passwords_duplicates_and_networkless_coordinators_are_refused(app, demo):
    runner = app.test_cli_runner()
    weak = runner.invoke(
        staff_cli,
        ["create", "w@example.org", "--role", "admin", "--password-stdin"],
        input="password123\n",
    )
    assert weak.exit_code != 0
    assert "at least 12 characters" in weak.output

    assert runner.invoke(staff_cli, ["create", "d@example.org", "--role", "admin"]).exit_code == 0
    again = runner.invoke(staff_cli, ["create", "D@example.org", "--role", "admin"])
    assert again.exit_code != 0
    assert "already exists" in again.output

    lonely = runner.invoke(staff_cli, ["create", "k@example.org", "--role", "coordinator"])
    assert lonely.exit_code != 0
    assert "must belong to a network" in lonely.output

    unknown = runner.invoke(
        staff_cli, ["create", "k@example.org", "--role", "coordinator", "--network", "nope"]
    )
    assert unknown.exit_code != 0

    ok = runner.invoke(
        staff_cli, ["create", "k@example.org", "--role", "coordinator", "--network", "asud"]
    )
    assert ok.exit_code == 0, ok.output
    assert find_by_email("k@example.org").network.slug == "asud"
    listing = runner.invoke(staff_cli, ["list"]).output
    assert "k@example.org\tcoordinator\tasud\tactive\tno-2fa" in listing

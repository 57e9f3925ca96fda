"""`flask targets ...`: the directory of targets from the command line."""

from __future__ import annotations

from flask.cli import AppGroup

targets_cli = AppGroup("targets", help="The directory of policymakers letters are written to.")

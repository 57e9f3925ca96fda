"""The migration history: one head, and it builds the models' schema on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from campaigns.extensions import db
from tests.support import REPO_ROOT, postgres_database

MIGRATIONS = REPO_ROOT / "migrations"


def test_the_history_has_a_single_head():
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


# SQLite always; PostgreSQL too when the run names a server (CI's second tier does).
ENGINES = ["sqlite", "postgresql"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


@pytest.fixture(params=ENGINES)
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"campaigns_migration_{uuid.uuid4().hex[:8]}"
    with postgres_database(os.environ["TEST_DATABASE_URL"], name) as url:
        yield url


def test_upgrade_builds_exactly_the_models_schema_and_downgrade_undoes_it(
    empty_database, other_app
):
    app = other_app(SQLALCHEMY_DATABASE_URI=empty_database)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert differences == []

        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()  # and up again, as a redeploy after a rollback would
        db.engine.dispose()


def test_upgrading_a_database_in_use_keeps_its_networks_and_what_points_at_them(
    empty_database, other_app
):
    """0007 rebuilds the networks table (its one country becomes a list of countries) while
    campaigns, staff and signatures point at it: nothing may be lost or left dangling."""
    app = other_app(SQLALCHEMY_DATABASE_URI=empty_database)
    with app.app_context():
        upgrade(revision="0006_lobbying")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO networks (id, slug, name, country_code, website, is_umbrella,"
                    " created_at) VALUES (1, 'asud', 'ASUD', 'FR', NULL, false, :now),"
                    " (2, 'euronpud', 'EuroNPUD', NULL, NULL, true, :now)"
                ),
                {"now": datetime(2026, 1, 1, tzinfo=UTC)},
            )
            conn.execute(
                text(
                    "INSERT INTO campaigns (id, slug, status, default_locale, lead_network_id,"
                    " kind, created_at) VALUES (1, 'c', 'draft', 'en', 1, 'petition', :now)"
                ),
                {"now": datetime(2026, 1, 1, tzinfo=UTC)},
            )
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT slug, countries, is_active FROM networks ORDER BY id")
            ).all()
            lead = conn.execute(text("SELECT lead_network_id FROM campaigns")).scalar()
        assert [(slug, _json(countries), bool(active)) for slug, countries, active in rows] == [
            ("asud", ["FR"], True),
            ("euronpud", [], True),
        ]
        assert lead == 1
        db.engine.dispose()


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def test_0010_dates_each_target_by_its_last_staff_change_or_its_creation(empty_database, other_app):
    created, edited = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    app = other_app(SQLALCHEMY_DATABASE_URI=empty_database)
    with app.app_context():
        upgrade(revision="0009_campaign_modified_at")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO targets (id, kind, name, role, institution, languages, time_zone,"
                    " active, daily_digest, created_at) VALUES"
                    " (1, 'mep', 'Edited', '', '', 'en', 'Europe/Brussels', true, false, :created),"
                    " (2, 'mep', 'Untouched', '', '', 'en', 'Europe/Brussels', true, false,"
                    " :created)"
                ),
                {"created": created},
            )
            conn.execute(
                text(
                    "INSERT INTO audit_log (occurred_at, action, target_type, target_id, detail)"
                    " VALUES (:edited, 'target.updated', 'targets', 1, '{}'),"
                    " (:later, 'target.viewed', 'targets', 2, '{}')"
                ),
                {"edited": edited, "later": datetime(2026, 4, 1, tzinfo=UTC)},
            )
        upgrade(revision="0010_target_modified_at")
        with db.engine.connect() as conn:
            dates = conn.execute(text("SELECT name, modified_at FROM targets ORDER BY id")).all()
        assert [(name, _moment(value)) for name, value in dates] == [
            ("Edited", edited),
            ("Untouched", created),
        ]
        db.engine.dispose()


def _moment(value: object) -> datetime:
    """A timestamp as read back by either database (SQLite gives text)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

"""0008 adds the api_keys table and takes it away again, on SQLite and (when the run names a
server) PostgreSQL; a row written without scopes nor time gets the server's defaults."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from campaigns.extensions import db


def test_0008_upgrades_and_downgrades(empty_database, other_app):
    app = other_app(SQLALCHEMY_DATABASE_URI=empty_database)
    with app.app_context():
        upgrade(revision="0008_api_keys")
        columns = {c["name"] for c in inspect(db.engine).get_columns("api_keys")}
        assert {"prefix", "secret_hash", "scopes", "network_id", "revoked_at"} <= columns
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO api_keys (name, prefix, secret_hash)"
                    " VALUES ('old', 'cmp_aaaaaaaa', :digest)"
                ),
                {"digest": "0" * 64},
            )
            scopes, created_at = conn.execute(text("SELECT scopes, created_at FROM api_keys")).one()
        assert scopes == ""
        assert created_at is not None

        downgrade(revision="0007_member_networks")
        assert "api_keys" not in inspect(db.engine).get_table_names()
        upgrade(revision="0008_api_keys")
        assert "api_keys" in inspect(db.engine).get_table_names()
        db.engine.dispose()

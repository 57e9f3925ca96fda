"""The floor of a durable write: what the sign POST is measured against besides the ceiling.

A bare Flask app, run by gunicorn with the same settings as the real one, whose only view stores
the posted email in a one-table PostgreSQL database and commits: no form validation, no CSRF, no
session, no rate limits, no consent records, no outbox event, no broker, no ORM. However a sign
POST is built, it cannot cost less than this, so `sign / floor` says how much of the gap to the
ceiling the application itself is responsible for, and `floor / ceiling` how much any design that
commits a signature before answering must leave on the table on this machine.
"""

from __future__ import annotations

import os

import psycopg
from flask import Flask, request

app = Flask(__name__)
_conn: psycopg.Connection | None = None

SCHEMA = "CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, email text UNIQUE)"


def _connection() -> psycopg.Connection:
    # One connection per gunicorn worker process, opened on its first request.
    global _conn
    if _conn is None or _conn.closed:
        _conn = psycopg.connect(os.environ["DATABASE_URL"])
    return _conn


@app.post("/")
def store() -> tuple[str, int]:
    conn = _connection()
    with conn.transaction():
        conn.execute("INSERT INTO bench_floor (email) VALUES (%s)", (request.form["email"],))
    return "", 303

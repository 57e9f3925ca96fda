"""Export benchmark: stream the signature CSV of 100,000 confirmed signatures through the real route.

    .venv/bin/python -m bench.export [--rows 100000] [--small-rows 10000] [--runs 3]

Setup (not measured): a fresh PostgreSQL database (`BENCH_PG_URL`, default
postgresql://postgres@127.0.0.1:5432/test; dropped afterwards), built by the migrations, with the
demo content, an admin account, and signatures bulk-loaded with COPY: `--rows` for one campaign and
`--small-rows` for another, each with a newsletter consent record. Redis (`BENCH_REDIS_URL`,
default redis://127.0.0.1:6379/0) is used under a private key prefix, deleted afterwards.

Each measured run is a fresh Python process that only signs in and exports (so setup memory does
not count): it builds the app, signs in through the login form with Flask's test client, POSTs the
export form with every column ticked, and reads the streamed response chunk by chunk, discarding
it. It reports rows/s (rows read / time from POST to the last byte) and its peak RSS
(getrusage ru_maxrss). The small campaign's runs show whether memory grows with the row count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

import argparse
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

PASSWORD = "export bench violet tractor summer"  # noqa: S105 - a throwaway account
ADMIN_EMAIL = "bench-admin@example.org"
TARGET_ROWS_PER_SECOND = 20_000
TARGET_PEAK_MB = 150
COLUMNS = [
    "name",
    "email",
    "country",
    "language",
    "network",
    "status",
    "signed_at",
    "confirmed_at",
    "comment",
    "newsletter",
    "show_name",
]


def app_settings(database_url: str, redis_url: str, prefix: str) -> dict:
    # The production profile, as deployed; only what plain HTTP on loopback needs is relaxed.
    return {
        "PROFILE": "production",
        "SECRET_KEY": secrets.token_hex(16),
        "SESSION_COOKIE_SECURE": False,
        "PREFERRED_URL_SCHEME": "http",  # Flask's test client takes its scheme from this
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "RATELIMIT_STAFF_LOGIN_PER_IP": "1000 per minute",
    }


# -- Setup (parent process) -------------------------------------------------------------------


def _load_signatures(app: Flask, campaign_slug: str, rows: int, seed: int) -> int:
    """COPY `rows` confirmed signatures into the campaign's petition; returns the campaign id."""
    from sqlalchemy import select

    from campaigns.campaign.models import Campaign
    from campaigns.core.i18n import SIGNER_COUNTRIES
    from campaigns.extensions import db
    from campaigns.networks.models import Network
    from campaigns.petitions.consent import consent_text_id

    rng = random.Random(seed)
    with app.app_context():
        campaign = db.session.scalars(select(Campaign).where(Campaign.slug == campaign_slug)).one()
        petition_id = campaign.petition.id
        campaign_id = campaign.id
        network_ids = [*db.session.scalars(select(Network.id)), None, None]
        newsletter_text = consent_text_id("newsletter", "en")
        db.session.commit()
        start = datetime(2026, 1, 1, tzinfo=UTC)
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            columns = (
                "petition_id, status, email, name, country, comment, show_name, locale, "
                "source_network_id, created_at, confirmed_at"
            )
            with cursor.copy(f"COPY signatures ({columns}) FROM STDIN") as copy:
                for i in range(rows):
                    signed = start + timedelta(seconds=i * 37)
                    # A few names a spreadsheet would take for formulas: the escaping is measured too.
                    name = f"=Signer {i}" if i % 500 == 0 else f"Signer Number {i}"
                    comment = f"Comment number {i}, with a comma" if i % 10 == 0 else None
                    copy.write_row(
                        (
                            petition_id,
                            "confirmed",
                            f"{campaign_slug[:10]}-{i}@example.org",
                            name,
                            rng.choice(SIGNER_COUNTRIES),
                            comment,
                            i % 3 == 0,
                            rng.choice(("en", "fr", "de")),
                            rng.choice(network_ids),
                            signed,
                            signed + timedelta(minutes=5),
                        )
                    )
            cursor.execute(
                "INSERT INTO consent_records "
                "(signature_id, consent_text_id, granted, recorded_at, confirmed_at) "
                "SELECT id, %s, id %% 2 = 0, created_at, confirmed_at FROM signatures "
                "WHERE petition_id = %s",
                (newsletter_text, petition_id),
            )
            cursor.execute("ANALYZE signatures")
            cursor.execute("ANALYZE consent_records")
            raw.commit()
        finally:
            raw.close()
    return campaign_id


def setup(database_url: str, redis_url: str, prefix: str, rows: int, small_rows: int) -> dict:
    from flask_migrate import upgrade

    from campaigns import create_app
    from campaigns.devstack.demo import load_demo_content
    from campaigns.extensions import db
    from campaigns.staff.models import Role
    from campaigns.staff.services import create_staff

    app = create_app(app_settings(database_url, redis_url, prefix))
    with app.app_context():
        upgrade()
        load_demo_content()
        db.session.commit()
        create_staff(ADMIN_EMAIL, PASSWORD, Role.ADMIN)
        db.session.commit()
    started = time.perf_counter()
    big = _load_signatures(app, "naloxone-in-every-pocket", rows, seed=1)
    small = _load_signatures(app, "health-not-handcuffs", small_rows, seed=2)
    print(f"loaded {rows + small_rows:,} signatures in {time.perf_counter() - started:.1f} s")
    with app.app_context():
        db.engine.dispose()
    return {"big": big, "small": small}


# -- One measured export (child process) ------------------------------------------------------


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, in MB, from /proc."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> bool:
    """Start the peak RSS (VmHWM) afresh from the current RSS (Linux 4.0+, own process)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def child(database_url: str, redis_url: str, prefix: str, campaign_id: int) -> dict:
    from campaigns import create_app

    app = create_app(app_settings(database_url, redis_url, prefix))
    client = app.test_client()
    token = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
    login = client.get("/staff/login").get_data(as_text=True)
    signed_in = client.post(
        "/staff/login",
        data={"csrf_token": token.search(login)[1], "email": ADMIN_EMAIL, "password": PASSWORD},
    )
    assert signed_in.status_code == 302, signed_in.status_code
    url = f"/staff/campaigns/{campaign_id}/export"
    form = client.get(url).get_data(as_text=True)
    # Signing in (argon2id takes 64 MiB for a moment) and importing are not the export: the peak
    # is measured from here. Without clear_refs the peak includes them (the report says so).
    setup_peak = _status_mb("VmHWM")
    reset = _reset_peak()
    rss_before = _status_mb("VmRSS")

    started = time.perf_counter()
    cpu_started = time.process_time()
    response = client.post(
        url,
        data={"csrf_token": token.search(form)[1], "columns": COLUMNS},
        buffered=False,
    )
    assert response.status_code == 200, response.status_code
    assert response.is_streamed
    first_byte = None
    size = lines = 0
    for chunk in response.response:
        if first_byte is None:
            first_byte = time.perf_counter() - started
        data = chunk.encode() if isinstance(chunk, str) else chunk
        size += len(data)
        lines += data.count(b"\r\n")
    response.close()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return {
        "rows": lines - 1,  # the header line; no field of the data holds a CRLF
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "first_byte": first_byte,
        "bytes": size,
        "rss_before_mb": rss_before,
        "peak_mb": _status_mb("VmHWM"),
        "setup_peak_mb": setup_peak,
        "peak_reset": reset,
    }


def run_child(database_url: str, redis_url: str, prefix: str, campaign_id: int) -> dict:
    argv = [sys.executable, "-m", "bench.export", "--child", str(campaign_id)]
    env = {
        **os.environ,
        "BENCH_CHILD_DB": database_url,
        "BENCH_CHILD_REDIS": redis_url,
        "BENCH_CHILD_PREFIX": prefix,
    }
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"export run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- Report -----------------------------------------------------------------------------------


def summarise(label: str, expected: int, results: list[dict]) -> dict:
    for result in results:
        if result["rows"] != expected:
            raise RuntimeError(f"{label}: exported {result['rows']} rows, expected {expected}")
    rates = [r["rows"] / r["seconds"] for r in results]
    return {
        "label": label,
        "rows": expected,
        "rate": statistics.median(rates),
        "rate_min": min(rates),
        "cpu_rate": statistics.median(r["rows"] / r["cpu_seconds"] for r in results),
        "seconds": statistics.median(r["seconds"] for r in results),
        "first_byte_ms": statistics.median(r["first_byte"] for r in results) * 1000,
        "mb": statistics.median(r["bytes"] for r in results) / 1e6,
        "before": max(r["rss_before_mb"] for r in results),
        "peak": max(r["peak_mb"] for r in results),
        "setup_peak": max(r["setup_peak_mb"] for r in results),
        "peak_reset": all(r["peak_reset"] for r in results),
    }


def report(big: dict, small: dict, runs: int) -> bool:
    print()
    print(f"CSV export through POST /staff/campaigns/<id>/export, every column, {runs} runs each")
    print("(each run a fresh process: app + test client signed in as admin; median, worst)")
    header = (
        f"{'rows':>8} {'rows/s (median)':>16} {'rows/s (worst)':>15} {'rows/CPU-s':>11} {'time':>7} "
        f"{'1st byte':>9} {'file':>8} {'RSS before':>11} {'peak RSS':>9} {'sign-in peak':>13}"
    )
    print(header)
    for s in (small, big):
        print(
            f"{s['rows']:>8,} {s['rate']:>16,.0f} {s['rate_min']:>15,.0f} {s['cpu_rate']:>11,.0f} "
            f"{s['seconds']:>6.2f}s "
            f"{s['first_byte_ms']:>7.0f}ms {s['mb']:>6.1f}MB {s['before']:>9.0f}MB "
            f"{s['peak']:>7.0f}MB {s['setup_peak']:>11.0f}MB"
        )
    if big["peak_reset"]:
        print(
            "peak RSS: the whole process's resident memory at its highest during the export "
            "(VmHWM, reset just before the POST); sign-in peak: the same before the reset "
            "(argon2id's 64 MiB while checking the password)"
        )
    else:
        print("peak RSS could not be reset (no /proc/self/clear_refs): it includes sign-in")
    print(
        "rows/CPU-s: rows per second of this process's own CPU time (the web side alone; "
        "less sensitive to other load on the machine than wall-clock rows/s)"
    )
    growth = big["peak"] - small["peak"]
    print(
        f"peak RSS growth from {small['rows']:,} to {big['rows']:,} rows: {growth:+.1f} MB "
        "(flat memory: close to 0)"
    )
    rate_ok = big["rate_min"] > TARGET_ROWS_PER_SECOND
    peak_ok = big["peak"] < TARGET_PEAK_MB
    print()
    print(
        f"target rows/s > {TARGET_ROWS_PER_SECOND:,} at {big['rows']:,} rows (worst run): "
        f"{big['rate_min']:,.0f}  {'PASS' if rate_ok else 'FAIL'}"
    )
    print(
        f"target peak RSS < {TARGET_PEAK_MB} MB at {big['rows']:,} rows: "
        f"{big['peak']:.0f} MB  {'PASS' if peak_ok else 'FAIL'}"
    )
    return rate_ok and peak_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Signature export benchmark")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small-rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child is not None:
        result = child(
            os.environ["BENCH_CHILD_DB"],
            os.environ["BENCH_CHILD_REDIS"],
            os.environ["BENCH_CHILD_PREFIX"],
            args.child,
        )
        print(json.dumps(result))
        return 0

    from tests.support import delete_prefixed, postgres_database

    pg_url = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    run_id = secrets.token_hex(4)
    prefix = f"bench-export-{run_id}:"
    try:
        with postgres_database(pg_url, f"bench_export_{run_id}") as database_url:
            ids = setup(database_url, redis_url, prefix, args.rows, args.small_rows)
            small = [
                run_child(database_url, redis_url, prefix, ids["small"]) for _ in range(args.runs)
            ]
            big = [run_child(database_url, redis_url, prefix, ids["big"]) for _ in range(args.runs)]
            passed = report(
                summarise("big", args.rows, big),
                summarise("small", args.small_rows, small),
                args.runs,
            )
    finally:
        delete_prefixed(redis_url, prefix)
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())

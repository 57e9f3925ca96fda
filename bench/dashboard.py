"""Dashboard benchmark: render a campaign's dashboard with 200,000 confirmed signatures.

    .venv/bin/python -m bench.dashboard [--signatures 200000] [--renders 300]

Setup (not measured): a fresh PostgreSQL database (`BENCH_PG_URL`, default
postgresql://postgres@127.0.0.1:5432/test; dropped afterwards), built by the migrations, with the
demo content, an admin and a coordinator (of the ASUD network). One campaign gets `--signatures`
confirmed signatures bulk-loaded with COPY, spread over 60 days (busier after the launch), across
the 27 member states and Norway and the demo networks (a share with no network), plus pending and
withdrawn ones; the ECI section is switched on, so the page draws all five charts. The Redis
tallies and HourlyConfirmations are then filled by the platform's own rebuild code. Redis
(`BENCH_REDIS_URL`, default redis://127.0.0.1:6379/0) is used under a private key prefix, deleted
afterwards.

Measured: `--renders` GETs of /staff/campaigns/<id>/dashboard through Flask's test client in this
process (app in the production profile, signed in through the login form), first as the admin
(campaign-wide figures: tallies and hourly aggregates) and then as the coordinator (figures
counted in the database for their network's signatures only). Each time is from request to the
full response body. As a baseline from the same run, the staff home page (a template and the
session check, no figures) is timed the same way; the ratio says what the figures cost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient
    from sqlalchemy.engine import Engine

import argparse
import os
import random
import re
import secrets
import statistics
import time
from datetime import UTC, datetime, timedelta

PASSWORD = "dashboard bench violet tractor summer"  # noqa: S105 - throwaway accounts
ADMIN_EMAIL = "bench-admin@example.org"
COORDINATOR_EMAIL = "bench-coordinator@example.org"
CAMPAIGN = "naloxone-in-every-pocket"
COORDINATOR_NETWORK = "asud"
TARGET_P95_MS = 300
DAYS = 60


def app_settings(database_url: str, redis_url: str, prefix: str) -> dict:
    # The production profile, as deployed; only what plain HTTP on loopback needs is relaxed.
    return {
        "PROFILE": "production",
        "SECRET_KEY": secrets.token_hex(16),
        "SESSION_COOKIE_SECURE": False,
        "PREFERRED_URL_SCHEME": "http",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "RATELIMIT_STAFF_LOGIN_PER_IP": "1000 per minute",
    }


# -- Setup --------------------------------------------------------------------------------------


def _country_weights() -> tuple[list[str], list[int]]:
    """Signer countries weighted by their ECI minimum (seats, roughly population); Norway too."""
    from campaigns.core.i18n import SIGNER_COUNTRIES
    from campaigns.dashboard.services import eci_minimums

    minimums = eci_minimums()
    return list(SIGNER_COUNTRIES), [minimums.get(cc, 7_000) for cc in SIGNER_COUNTRIES]


def load_signatures(app: Flask, confirmed: int, now: datetime) -> tuple[int, int]:
    """COPY the signatures into the campaign's petition; returns (campaign id, rows loaded)."""
    from sqlalchemy import select

    from campaigns.campaign.models import Campaign
    from campaigns.extensions import db
    from campaigns.networks.models import Network

    rng = random.Random(7)
    countries, weights = _country_weights()
    pending, rejected = confirmed // 40, confirmed // 200
    launch = now - timedelta(days=DAYS)
    with app.app_context():
        campaign = db.session.scalars(select(Campaign).where(Campaign.slug == CAMPAIGN)).one()
        campaign.launched_at = launch
        campaign.petition.eci_progress = True
        petition_id, campaign_id = campaign.petition.id, campaign.id
        # Most signatures come through a member network's link; some come directly.
        networks = [*db.session.scalars(select(Network.id).order_by(Network.id)), None, None]
        db.session.commit()
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            columns = (
                "petition_id, status, email, name, country, show_name, locale, "
                "source_network_id, created_at, confirmed_at, rejected_at"
            )
            with cursor.copy(f"COPY signatures ({columns}) FROM STDIN") as copy:
                for i in range(confirmed + pending + rejected):
                    # Busier just after the launch, then tailing off.
                    signed = launch + timedelta(seconds=DAYS * 86400 * rng.random() ** 1.7)
                    signed = min(signed, now - timedelta(minutes=30))
                    status = "confirmed"
                    if i >= confirmed:
                        status = "pending" if i < confirmed + pending else "rejected"
                    withdrawn = status == "rejected"
                    copy.write_row(
                        (
                            petition_id,
                            status,
                            None if withdrawn else f"bench-{i}@example.org",
                            None if withdrawn else f"Signer {i}",
                            rng.choices(countries, weights)[0],
                            False,
                            rng.choice(("en", "fr", "de")),
                            rng.choice(networks),
                            signed,
                            signed + timedelta(minutes=rng.randint(1, 20))
                            if status != "pending"
                            else None,
                            signed + timedelta(hours=1) if withdrawn else None,
                        )
                    )
            cursor.execute("ANALYZE signatures")
            raw.commit()
        finally:
            raw.close()
    return campaign_id, confirmed + pending + rejected


def fill_aggregates(app: Flask, now: datetime) -> dict[str, float]:
    """The Redis tallies and HourlyConfirmations, through the platform's rebuild code."""
    from sqlalchemy import select

    from campaigns.campaign.models import Campaign
    from campaigns.extensions import db
    from campaigns.petitions.tallies import hourly
    from campaigns.petitions.tallies import services as tallies

    timings = {}
    with app.app_context():
        petition_id = db.session.scalars(select(Campaign).where(Campaign.slug == CAMPAIGN)).one()
        petition_id = petition_id.petition.id
        started = time.perf_counter()
        tally = tallies.rebuild(petition_id)
        timings["tally rebuild"] = time.perf_counter() - started
        started = time.perf_counter()
        # Every hour up to now: no event handler runs during the benchmark, so the backfill may
        # take the recent hours too (in production the reconciler leaves those to the handlers).
        rows = hourly.rebuild_hourly(petition_id, before=now + timedelta(hours=1))
        db.session.commit()
        timings["hourly rebuild"] = time.perf_counter() - started
        started = time.perf_counter()
        hourly.rebuild_hourly(petition_id)  # what the reconciler does every few minutes
        db.session.commit()
        timings["hourly reconcile (no changes)"] = time.perf_counter() - started
        timings["hourly rows"] = rows
        timings["confirmed (tally)"] = tally.total
    return timings


def create_accounts(app: Flask) -> None:
    from sqlalchemy import select

    from campaigns.extensions import db
    from campaigns.networks.models import Network
    from campaigns.staff.models import Role
    from campaigns.staff.services import create_staff

    with app.app_context():
        network_id = db.session.scalar(
            select(Network.id).where(Network.slug == COORDINATOR_NETWORK)
        )
        create_staff(ADMIN_EMAIL, PASSWORD, Role.ADMIN)
        create_staff(COORDINATOR_EMAIL, PASSWORD, Role.COORDINATOR, network_id=network_id)
        db.session.commit()


# -- Measurement --------------------------------------------------------------------------------


def signed_in_client(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    token = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
    login = client.get("/staff/login").get_data(as_text=True)
    response = client.post(
        "/staff/login",
        data={"csrf_token": token.search(login)[1], "email": email, "password": PASSWORD},
    )
    assert response.status_code == 302, response.status_code
    return client


class StatementCounter:
    """Counts the SQL statements the app sends (to show what a render asks of the database)."""

    def __init__(self, engine: Engine) -> None:
        from sqlalchemy import event

        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: object) -> None:
        self.count += 1


def time_renders(
    client: FlaskClient,
    url: str,
    renders: int,
    counter: StatementCounter,
    check: Callable[[str], None],
) -> dict:
    for _ in range(5):  # warm-up: templates compiled, connections opened, translations loaded
        assert client.get(url).status_code == 200
    times = []
    before = counter.count
    size = 0
    for _ in range(renders):
        started = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        size = len(body)
    check(body.decode())
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[max(0, round(0.95 * len(times)) - 1)],
        "max": times[-1],
        "statements": (counter.count - before) / renders,
        "kb": size / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Campaign dashboard benchmark")
    parser.add_argument("--signatures", type=int, default=200_000)
    parser.add_argument("--renders", type=int, default=300)
    args = parser.parse_args(argv)
    if args.renders < 1:
        parser.error("--renders must be at least 1")

    from flask_migrate import upgrade

    from campaigns import create_app
    from campaigns.devstack.demo import load_demo_content
    from campaigns.extensions import db
    from tests.support import delete_prefixed, postgres_database

    pg_url = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    run_id = secrets.token_hex(4)
    prefix = f"bench-dashboard-{run_id}:"
    now = datetime.now(UTC)
    try:
        with postgres_database(pg_url, f"bench_dashboard_{run_id}") as database_url:
            app = create_app(app_settings(database_url, redis_url, prefix))
            with app.app_context():
                upgrade()
                load_demo_content()
                db.session.commit()
            create_accounts(app)
            started = time.perf_counter()
            campaign_id, loaded = load_signatures(app, args.signatures, now)
            print(f"loaded {loaded:,} signatures in {time.perf_counter() - started:.1f} s")
            setup = fill_aggregates(app, now)
            print(
                f"aggregates: Redis tally rebuilt in {setup['tally rebuild'] * 1000:.0f} ms "
                f"({setup['confirmed (tally)']:,} confirmed); HourlyConfirmations rebuilt in "
                f"{setup['hourly rebuild'] * 1000:.0f} ms ({setup['hourly rows']:,} hours); "
                f"the reconciler's pass with nothing to change "
                f"{setup['hourly reconcile (no changes)'] * 1000:.0f} ms"
            )
            if setup["confirmed (tally)"] != args.signatures:
                raise RuntimeError("the tally does not match the signatures loaded")

            with app.app_context():
                counter = StatementCounter(db.engine)
            url = f"/staff/campaigns/{campaign_id}/dashboard"
            total = f"<dd>{args.signatures:,}</dd>"

            def admin_page(html: str) -> None:
                assert total in html
                assert 'id="eci"' in html
                assert html.count("<svg") == 5

            def coordinator_page(html: str) -> None:
                assert total not in html
                assert "JES-Bundesverband" not in html

            admin = signed_in_client(app, ADMIN_EMAIL)
            coordinator = signed_in_client(app, COORDINATOR_EMAIL)
            results = {
                "baseline: staff home, admin": time_renders(
                    admin, "/staff/", args.renders, counter, lambda _html: None
                ),
                "dashboard, admin (whole campaign)": time_renders(
                    admin, url, args.renders, counter, admin_page
                ),
                "dashboard, coordinator (one network)": time_renders(
                    coordinator, url, args.renders, counter, coordinator_page
                ),
            }
    finally:
        delete_prefixed(redis_url, prefix)
    return report(results, args)


def report(results: dict[str, dict], args: argparse.Namespace) -> int:
    print()
    print(
        f"GET /staff/campaigns/<id>/dashboard, {args.signatures:,} confirmed signatures over "
        f"{DAYS} days in 28 countries, {args.renders} renders each"
    )
    print(
        "(Flask test client in one process, PostgreSQL + Redis on this machine, production "
        "profile; time from request to the whole body)"
    )
    print(f"{'page':<40} {'p50':>8} {'p95':>8} {'max':>8} {'SQL/render':>11} {'size':>8}")
    for label, r in results.items():
        print(
            f"{label:<40} {r['p50']:>6.1f}ms {r['p95']:>6.1f}ms {r['max']:>6.1f}ms "
            f"{r['statements']:>11.0f} {r['kb']:>6.0f}KB"
        )
    baseline = results["baseline: staff home, admin"]["p50"]
    passed = True
    print()
    for label, r in results.items():
        if not label.startswith("dashboard"):
            continue
        ok = r["p95"] < TARGET_P95_MS
        passed = passed and ok
        print(
            f"target p95 < {TARGET_P95_MS} ms, {label}: {r['p95']:.1f} ms "
            f"({r['p50'] / baseline:.1f}x the baseline page at p50)  {'PASS' if ok else 'FAIL'}"
        )
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())

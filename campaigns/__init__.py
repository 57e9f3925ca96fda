"""The campaign platform: petitions and lobbying actions aimed at EU policymakers."""

from __future__ import annotations

import importlib
import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from campaigns.core.logs import configure_logging
from campaigns.core.ratelimit import check_settings as check_rate_limits
from campaigns.core.tasks import celery_init_app
from campaigns.extensions import babel, csrf, db, mail, migrate

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application. `config` overrides settings (tests pass a dict with `PROFILE`)."""
    # Imported here, not with the package: the settings are read from the environment when the
    # first app is built, so a launcher may import parts of the package before it sets them.
    from campaigns import config as config_module

    config = dict(config or {})
    profile = config.pop("PROFILE", None) or os.environ.get("CAMPAIGNS_PROFILE", "production")

    app = Flask(
        __name__,
        template_folder=os.path.join(REPO_ROOT, "templates"),
        instance_path=str(config_module.INSTANCE_DIR),
        instance_relative_config=False,
    )
    app.config.from_object(config_module.PROFILES[profile])
    app.config.update(config)
    if app.config["SESSION_COOKIE_SECURE"]:
        # ASVS 3.3.1: a __Host- cookie is HTTPS-only, host-only and path=/, so no subdomain can
        # plant or read it.
        app.config["SESSION_COOKIE_NAME"] = "__Host-session"
    if not app.config["SECRET_KEY"]:
        raise RuntimeError("SECRET_KEY is not set: see README.md, Configuration")
    check_rate_limits(
        app.config,
        (
            "RATELIMIT_SIGN_PER_IP",
            "RATELIMIT_SIGN_PER_EMAIL",
            "RATELIMIT_STAFF_LOGIN_PER_IP",
            "API_RATE_LIMIT",
            "API_PUBLIC_RATE_LIMIT",
        ),
    )

    proxies = app.config["PROXY_FIX_X_FOR"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    configure_logging(app.config["LOG_FORMAT"])  # text or JSON lines, redacted (core/logs.py)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        os.makedirs(
            os.path.dirname(app.config["SQLALCHEMY_DATABASE_URI"][10:]) or ".", exist_ok=True
        )

    _init_extensions(app)
    _register_blueprints(app)
    _register_event_handlers()
    _register_cli(app)
    # Outermost, so that a request that waited too long is refused before any of the app runs
    # (campaigns/serving/shedding.py): keep it the last wrapper.
    from campaigns.serving.shedding import LoadShedder

    app.wsgi_app = LoadShedder.wrap(app)
    return app


def _init_extensions(app: Flask) -> None:
    from campaigns.core import db as core_db
    from campaigns.core.errors import init_error_handlers
    from campaigns.core.i18n import select_locale
    from campaigns.core.logs import init_request_logging
    from campaigns.core.metrics import init_metrics
    from campaigns.core.security import init_security_headers
    from campaigns.core.templating import init_templating

    db.init_app(app)
    core_db.init_sqlite_pragmas(app)
    with app.app_context():
        core_db.ping_after_idle(db.engine)

    @app.teardown_request
    def _end_session(_exc: BaseException | None) -> None:
        # One unit of work per request, even where an app context outlives the request (tests).
        db.session.remove()

    migrate.init_app(app, db, directory=os.path.join(REPO_ROOT, "migrations"), render_as_batch=True)
    mail.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    celery_init_app(app)
    init_security_headers(app)
    init_error_handlers(app)
    init_templating(app)
    init_request_logging(app)
    init_metrics(app)


def _register_blueprints(app: Flask) -> None:
    from campaigns.core.urls import DatabaseIdConverter

    app.url_map.converters["int"] = DatabaseIdConverter
    from campaigns.alerts.contact_views import bp as alert_contacts_bp
    from campaigns.alerts.views import bp as alerts_bp
    from campaigns.api_keys.views import bp as api_keys_bp
    from campaigns.dashboard.views import bp as dashboard_bp
    from campaigns.devstack.mailcatcher.views import bp as mail_catcher_bp
    from campaigns.editor.status_views import bp as editor_status_bp
    from campaigns.editor.text_views import bp as editor_texts_bp
    from campaigns.editor.views import bp as editor_bp
    from campaigns.exports.shared_views import bp as shared_supporters_bp
    from campaigns.exports.views import bp as exports_bp
    from campaigns.home.views import bp as home_bp
    from campaigns.lobbying.action_views import bp as letter_action_bp
    from campaigns.lobbying.directory_views import bp as targets_bp
    from campaigns.lobbying.public_views import bp as lobbying_bp
    from campaigns.lobbying.report_views import bp as letter_report_bp
    from campaigns.lobbying.scorecard_views import bp as scorecard_bp
    from campaigns.mailings.bounce_views import bp as mailings_bounces_bp
    from campaigns.mailings.public_views import bp as mailings_public_bp
    from campaigns.mailings.sending_views import bp as mailing_sending_bp
    from campaigns.mailings.staff_views import bp as staff_mailings_bp
    from campaigns.network_directory.public_views import bp as network_pages_bp
    from campaigns.network_directory.views import bp as network_directory_bp
    from campaigns.operations.views import bp as operations_bp
    from campaigns.petitions.embed_views import bp as embed_bp
    from campaigns.petitions.views import bp as petitions_bp
    from campaigns.privacy.views import bp as privacy_bp
    from campaigns.staff.account_views import bp as staff_account_bp
    from campaigns.staff.audit_views import bp as audit_bp
    from campaigns.staff.team_views import bp as staff_team_bp
    from campaigns.staff.views import bp as staff_bp
    from campaigns.webhooks.views import bp as webhooks_bp
    from campaigns.workspace.views import bp as workspace_bp

    public = (
        home_bp,
        petitions_bp,
        embed_bp,
        lobbying_bp,
        scorecard_bp,
        mailings_public_bp,
        mailings_bounces_bp,
        network_pages_bp,
        privacy_bp,
        alert_contacts_bp,
    )
    staff = (
        staff_bp,
        workspace_bp,
        staff_account_bp,
        staff_team_bp,
        editor_bp,
        editor_texts_bp,
        editor_status_bp,
        dashboard_bp,
        exports_bp,
        shared_supporters_bp,
        targets_bp,
        letter_action_bp,
        letter_report_bp,
        staff_mailings_bp,
        mailing_sending_bp,
        mail_catcher_bp,
        audit_bp,
        network_directory_bp,
        api_keys_bp,
        alerts_bp,
        webhooks_bp,
        operations_bp,  # /healthz and /readyz too: outside the language prefixes
    )
    for blueprint in (*public, *staff):
        app.register_blueprint(blueprint)
    from campaigns.api.setup import init_api

    init_api(app)  # the JSON API and its OpenAPI document, under /api/v1


# Each registers its functions with @handles when imported (once per process).
HANDLER_MODULES = (
    "campaigns.alerts.handlers",
    "campaigns.alerts.withdrawals",
    "campaigns.lobbying.handlers",
    "campaigns.mailings.handlers",
    "campaigns.petitions.handlers",
    "campaigns.petitions.tallies.handlers",
    "campaigns.staff.handlers",
)


def _register_event_handlers() -> None:
    for module in HANDLER_MODULES:
        importlib.import_module(module)


def _register_cli(app: Flask) -> None:
    from campaigns.api_keys.cli import api_keys_cli
    from campaigns.devstack.demo import demo_cli
    from campaigns.lobbying.cli import targets_cli
    from campaigns.network_directory.cli import networks_cli
    from campaigns.operations.cli import doctor_cli
    from campaigns.staff.cli import staff_cli

    app.cli.add_command(demo_cli)
    app.cli.add_command(staff_cli)
    app.cli.add_command(targets_cli)
    app.cli.add_command(networks_cli)
    app.cli.add_command(api_keys_cli)
    app.cli.add_command(doctor_cli)

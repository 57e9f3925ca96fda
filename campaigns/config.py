"""Settings from the environment (and an optional `.env` file).

Every setting has a default that works on the embedded stack started by `make run`; production sets
`DATABASE_URL`, `REDIS_URL`, `SECRET_KEY`, `PUBLIC_BASE_URL` and Flask-Mail's `MAIL_*` names.
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import load_dotenv

# Read `.env` before any setting below is evaluated, so every process (gunicorn, Celery, the
# flask CLI) sees the same configuration. Variables already in the environment win.
load_dotenv(Path(__file__).resolve().parent.parent / ".env")

INSTANCE_DIR = Path(
    os.environ.get("INSTANCE_PATH", Path(__file__).resolve().parent.parent / "instance")
)


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _sqlalchemy_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants an explicit driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    """Production-safe defaults; the embedded stack only changes where things live."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/")

    SQLALCHEMY_DATABASE_URI = _sqlalchemy_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'campaigns.sqlite3'}")
    )
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    # A prefix on every key we write (counters, rate limits, broker), so several deployments or
    # test runs can share one Redis without touching each other's keys.
    REDIS_KEY_PREFIX = os.environ.get("REDIS_KEY_PREFIX", "campaigns:")

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = _int("MAIL_PORT", 1025)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    # Flask-Mail would silently drop mail under TESTING; our tests use a real SMTP sink instead.
    MAIL_SUPPRESS_SEND = _bool("MAIL_SUPPRESS_SEND", False)
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "EuroNPUD campaigns <campaigns@campaigns.example.org>"
    )
    # Domain used in Message-IDs; defaults to the sender's domain.
    MAIL_MESSAGE_ID_DOMAIN = os.environ.get("MAIL_MESSAGE_ID_DOMAIN", "")
    # A worker that claimed a mail and died: after this many seconds another may send it.
    MAIL_CLAIM_LEASE = _int("MAIL_CLAIM_LEASE", 120)
    # Where the built-in mail catcher of the embedded stack stores what it receives.
    MAIL_CATCHER_DIR = os.environ.get("MAIL_CATCHER_DIR", str(INSTANCE_DIR / "mail"))

    LANGUAGES = ("en", "fr", "de")
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).resolve().parent / "translations")

    # Double opt-in: how long a confirmation link stays valid, and how often it may be re-sent.
    CONFIRMATION_MAX_AGE = _int("CONFIRMATION_MAX_AGE", 7 * 24 * 3600)
    CONFIRMATION_RESEND_INTERVAL = _int("CONFIRMATION_RESEND_INTERVAL", 10 * 60)
    # Unconfirmed signatures are deleted after this many days (the privacy notice says 30).
    UNCONFIRMED_RETENTION_DAYS = _int("UNCONFIRMED_RETENTION_DAYS", 30)

    # Rate limits (the `limits` package's notation), shared by all web workers through Redis.
    RATELIMIT_SIGN_PER_IP = os.environ.get("RATELIMIT_SIGN_PER_IP", "20 per minute; 200 per hour")
    RATELIMIT_SIGN_PER_EMAIL = os.environ.get("RATELIMIT_SIGN_PER_EMAIL", "5 per hour")
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    # The JSON API: per key, and per address for public reads without a key (one window each,
    # announced in the answers' RateLimit headers).
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600 per minute")
    API_PUBLIC_RATE_LIMIT = os.environ.get("API_PUBLIC_RATE_LIMIT", "120 per minute")

    # Log lines as "text" or "json" (one object a line), for web and workers alike.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
    # Bearer token of GET /metrics (Prometheus); empty: the endpoint does not exist (404).
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

    # How many reverse proxies stand in front; their X-Forwarded-* headers are trusted.
    PROXY_FIX_X_FOR = _int("PROXY_FIX_X_FOR", 0)
    # Load shedding (campaigns/serving): a request that waited longer than this before the app
    # could start on it gets a 503 at once (0: never); the 503 asks to retry after this many
    # seconds. X-Request-Start is trusted only when a proxy in front sets it (never the client).
    SHED_AFTER_MS = _int("SHED_AFTER_MS", 500)
    SHED_RETRY_AFTER = _int("SHED_RETRY_AFTER", 5)
    SHED_TRUST_X_REQUEST_START = _bool("SHED_TRUST_X_REQUEST_START", False)
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PREFERRED_URL_SCHEME = "https"
    WTF_CSRF_TIME_LIMIT = 6 * 3600
    # Every validator we use carries its own translated message; WTForms' own catalogue would
    # only be loaded from disk again on each request.
    WTF_I18N_ENABLED = False
    MAX_CONTENT_LENGTH = 256 * 1024

    # Outbox relay: events not processed this many seconds after commit are published again.
    OUTBOX_RELAY_GRACE = _int("OUTBOX_RELAY_GRACE", 60)
    OUTBOX_RELAY_INTERVAL = _int("OUTBOX_RELAY_INTERVAL", 15)
    # Processed outbox events are deleted after this many days (they are kept a while to help
    # explain what happened).
    OUTBOX_KEEP_DAYS = _int("OUTBOX_KEEP_DAYS", 7)
    TALLY_RECONCILE_INTERVAL = _int("TALLY_RECONCILE_INTERVAL", 300)
    # How long a web worker may serve a petition page from memory (the count is always current;
    # this bounds how late a change of the campaign's text or status shows).
    PAGE_CACHE_SECONDS = _int("PAGE_CACHE_SECONDS", 10)
    MILESTONES = (100, 1_000, 10_000, 100_000, 1_000_000)

    # Staff sign-in: sessions end after this long without a request, and after this long anyway.
    STAFF_SESSION_IDLE_MINUTES = _int("STAFF_SESSION_IDLE_MINUTES", 30)
    STAFF_SESSION_MAX_HOURS = _int("STAFF_SESSION_MAX_HOURS", 12)
    # After this many failed attempts for one address, sign-in for it pauses this many minutes.
    STAFF_LOGIN_MAX_FAILURES = _int("STAFF_LOGIN_MAX_FAILURES", 5)
    STAFF_LOGIN_LOCKOUT_MINUTES = _int("STAFF_LOGIN_LOCKOUT_MINUTES", 15)
    RATELIMIT_STAFF_LOGIN_PER_IP = os.environ.get(
        "RATELIMIT_STAFF_LOGIN_PER_IP", "10 per minute; 100 per hour"
    )
    STAFF_PASSWORD_RESET_MAX_AGE = _int("STAFF_PASSWORD_RESET_MAX_AGE", 3600)

    # Mailings. The rate holds for all mailings and workers together.
    MAILING_RATE_PER_SECOND = float(os.environ.get("MAILING_RATE_PER_SECOND", "20"))
    MAILING_RATE_PER_HOUR = _int("MAILING_RATE_PER_HOUR", 50_000)
    MAILING_BATCH_SIZE = _int("MAILING_BATCH_SIZE", 200)
    # Batches of one mailing in flight at once (about one per worker process that sends bulk).
    MAILING_PARALLEL_BATCHES = _int("MAILING_PARALLEL_BATCHES", 2)
    MAILING_AUDIENCE_CHUNK = _int("MAILING_AUDIENCE_CHUNK", 2000)
    MAILING_MAX_ATTEMPTS = _int("MAILING_MAX_ATTEMPTS", 8)
    # A recipient's server answering 4xx (greylisting, full mailbox) is tried again after this
    # many seconds, doubling each time up to an hour.
    MAILING_RETRY_DELAY = _int("MAILING_RETRY_DELAY", 60)
    # A claim older than this belongs to a worker that died: its deliveries are queued again.
    MAILING_CLAIM_LEASE = _int("MAILING_CLAIM_LEASE", 300)
    MAILING_TICK_INTERVAL = _int("MAILING_TICK_INTERVAL", 10)
    # Envelope sender of bulk mail; each message gets bounces+<id>-<signature>@ this domain.
    MAILING_BOUNCE_ADDRESS = os.environ.get(
        "MAILING_BOUNCE_ADDRESS", "bounces@campaigns.example.org"
    )
    MAILING_UNSUBSCRIBE_MAILTO = os.environ.get("MAILING_UNSUBSCRIBE_MAILTO", "")
    MAILING_LIST_ID = os.environ.get("MAILING_LIST_ID", "")
    # Soft bounces (a full mailbox, a server down) suppress an address once this many of its
    # deliveries bounced softly within this many days; a hard bounce or a complaint at once.
    MAILING_SOFT_BOUNCE_LIMIT = _int("MAILING_SOFT_BOUNCE_LIMIT", 3)
    MAILING_SOFT_BOUNCE_DAYS = _int("MAILING_SOFT_BOUNCE_DAYS", 30)
    # The mailbox bounces arrive in, read by beat (empty: none). imaps://user:password@host/INBOX,
    # imap://..., pop3s://user:password@host or pop3://... (percent-encode special characters).
    BOUNCE_MAILBOX_URL = os.environ.get("BOUNCE_MAILBOX_URL", "")
    BOUNCE_MAILBOX_INTERVAL = _int("BOUNCE_MAILBOX_INTERVAL", 60)
    BOUNCE_MAILBOX_TIMEOUT = _int("BOUNCE_MAILBOX_TIMEOUT", 30)  # seconds per network operation
    BOUNCE_MAILBOX_BATCH = _int("BOUNCE_MAILBOX_BATCH", 500)  # messages read per run at most
    # Shared secret of POST /hooks/bounces (Authorization: Bearer <token>); empty: webhook off.
    BOUNCE_WEBHOOK_TOKEN = os.environ.get("BOUNCE_WEBHOOK_TOKEN", "")

    # Lobbying. Letters reach the real policymakers only when this is "live" AND an admin has
    # switched the action live; otherwise every letter goes to LOBBYING_TEST_INBOX.
    LOBBYING_DELIVERY = os.environ.get("LOBBYING_DELIVERY", "test")
    LOBBYING_TEST_INBOX = os.environ.get(
        "LOBBYING_TEST_INBOX", "letters-test@campaigns.example.org"
    )
    # At most this many letters an hour to one target, only in its office hours (its time zone).
    LOBBYING_PER_TARGET_PER_HOUR = _int("LOBBYING_PER_TARGET_PER_HOUR", 30)
    LOBBYING_OFFICE_HOURS = os.environ.get("LOBBYING_OFFICE_HOURS", "Mon-Fri 08:00-19:00")
    LOBBYING_DEFAULT_TIME_ZONE = os.environ.get("LOBBYING_DEFAULT_TIME_ZONE", "Europe/Brussels")
    # Each letter's time moves later by up to this share of the spacing, so letters do not
    # arrive on the minute like a machine's.
    LOBBYING_JITTER = float(os.environ.get("LOBBYING_JITTER", "0.25"))
    LOBBYING_TICK_INTERVAL = _int("LOBBYING_TICK_INTERVAL", 15)
    LOBBYING_BATCH_SIZE = _int("LOBBYING_BATCH_SIZE", 200)
    # A claim older than this belongs to a worker that died: the letter is scheduled again.
    LOBBYING_CLAIM_LEASE = _int("LOBBYING_CLAIM_LEASE", 300)

    # Webhooks to member networks (Standard Webhooks). In production only https URLs that
    # resolve to public addresses; development may allow http and loopback for local receivers.
    WEBHOOK_ALLOW_HTTP = _bool("WEBHOOK_ALLOW_HTTP", False)
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES = _bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)
    WEBHOOK_CONNECT_TIMEOUT = float(os.environ.get("WEBHOOK_CONNECT_TIMEOUT", "5"))
    WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "15"))  # the whole request
    WEBHOOK_MAX_RESPONSE_BYTES = _int("WEBHOOK_MAX_RESPONSE_BYTES", 4096)  # read, the rest not
    # Requests one worker has in flight at once: a slow receiver holds one, not the others.
    WEBHOOK_CONCURRENCY = _int("WEBHOOK_CONCURRENCY", 256)
    # After a secret's rotation the old one signs too for this many seconds.
    WEBHOOK_SECRET_OVERLAP = _int("WEBHOOK_SECRET_OVERLAP", 24 * 3600)
    # Messages that failed for good in a row before an endpoint is switched off (and its
    # network told by email).
    WEBHOOK_DISABLE_AFTER_FAILURES = _int("WEBHOOK_DISABLE_AFTER_FAILURES", 5)
    WEBHOOK_TICK_INTERVAL = _int("WEBHOOK_TICK_INTERVAL", 5)
    # The delivery log keeps a finished message (and its attempts) this many days.
    WEBHOOK_LOG_KEEP_DAYS = _int("WEBHOOK_LOG_KEEP_DAYS", 30)


class DevelopmentConfig(Config):
    """The embedded stack of `make run`: plain HTTP on loopback, a generated secret."""

    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    PREFERRED_URL_SCHEME = "http"
    WEBHOOK_ALLOW_HTTP = _bool("WEBHOOK_ALLOW_HTTP", True)
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES = _bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", True)


class TestConfig(Config):
    TESTING = True
    SESSION_COOKIE_SECURE = False
    PREFERRED_URL_SCHEME = "http"
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105 - the tests' own
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://localhost").rstrip("/")


PROFILES = {"production": Config, "development": DevelopmentConfig, "test": TestConfig}

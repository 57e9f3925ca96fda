"""Extensions, created unbound and initialised in `create_app`."""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask
from flask_babel import Babel
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Objects keep their loaded values after a commit: a unit of work (a request, a task) often
# commits more than once (an outbox event processed after its mail was sent), and reloading
# every object after each commit cost a worker a fifth of its time per mail.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
mail = Mail()
csrf = CSRFProtect()
babel = Babel()


def celery_settings(config) -> dict:
    """Celery settings derived from the app config (the Flask docs pattern keeps them in one place)."""
    prefix = config["REDIS_KEY_PREFIX"]
    settings = {
        "broker_url": config["REDIS_URL"],
        "task_ignore_result": True,
        # At-least-once delivery: a task is acknowledged after it ran, and a worker killed mid-task
        # hands it back to the broker. Every task is therefore idempotent.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # Events choose their queue when published (campaigns.core.events.EVENT_QUEUES).
        "task_default_queue": "default",
        "task_routes": {
            "mailings.send_batch": {"queue": "bulk"},
            "mailings.send_test": {"queue": "transactional"},
        },
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": 3600,
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
            "global_keyprefix": prefix,
        },
        "beat_schedule": {
            "outbox-relay": {
                "task": "outbox.relay",
                "schedule": float(config["OUTBOX_RELAY_INTERVAL"]),
            },
            "outbox-prune": {"task": "outbox.prune", "schedule": 3600.0},
            "purge-unconfirmed-signatures": {
                "task": "petitions.purge_unconfirmed",
                "schedule": 3600.0,
            },
            "mailings-tick": {
                "task": "mailings.tick",
                "schedule": float(config["MAILING_TICK_INTERVAL"]),
            },
            "mailings-read-bounce-mailbox": {
                "task": "mailings.read_bounce_mailbox",
                "schedule": float(config["BOUNCE_MAILBOX_INTERVAL"]),
            },
            "tallies-reconcile": {
                "task": "tallies.reconcile",
                "schedule": float(config["TALLY_RECONCILE_INTERVAL"]),
            },
        },
    }
    settings.update(config.get("CELERY_OVERRIDES", {}))
    return settings


def celery_init_app(app: Flask) -> Celery:
    """Bind a Celery app to `app`, running every task inside its application context."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    # The task modules register themselves with @shared_task when imported.
    import workers.bounces  # noqa: F401
    import workers.events  # noqa: F401
    import workers.mailings  # noqa: F401
    import workers.petitions  # noqa: F401
    import workers.tallies  # noqa: F401

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_settings(app.config))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app

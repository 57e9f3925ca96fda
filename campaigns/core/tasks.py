"""Celery, as the web app sees it: the queues, the settings, the Celery app bound to Flask, and
starting a task by its name.

The web app never imports a task: `workers/` imports `campaigns/`, never the other way round.
Work that must survive a crash starts as an outbox event (`campaigns.core.events`); the rest is
published by name with `send_task`, after the commit of what it depends on. The worker process
imports the task modules (celery_worker.py).

Separate queues keep bulk work from delaying what a person is waiting for: `transactional`
carries confirmation and password-reset mail and staff's test mailings, `bulk` the batches of
mailings, `webhooks` the webhooks to member networks, `default` everything else (beat's periodic tasks, counters). Every worker command of
the README and of `make run` serves some of these, and together all of them (a test checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celery import Celery, Task
from flask import Flask, current_app

TRANSACTIONAL = "transactional"
BULK = "bulk"
DEFAULT = "default"
WEBHOOKS = "webhooks"
QUEUES = (TRANSACTIONAL, DEFAULT, BULK, WEBHOOKS)

# Task name -> queue, for the tasks that do not run on DEFAULT. Events choose their queue when
# they are published (campaigns.core.event_types.EVENT_QUEUES).
TASK_ROUTES: dict[str, str] = {
    "mailings.send_batch": BULK,
    "mailings.send_test": TRANSACTIONAL,
    # A webhook send waits on other people's servers (up to WEBHOOK_TIMEOUT): on a queue of its
    # own, a fan-out to slow receivers never holds the processes that send confirmation mail,
    # and those never hold the webhooks.
    "webhooks.send_due": WEBHOOKS,
    "webhooks.tick": WEBHOOKS,
}


def send_task(name: str, *args: object, countdown: float | None = None) -> None:
    """Publish the task `name` with `args` on its queue. Call it after the commit of the data
    the task reads: a worker may run it at once."""
    current_app.extensions["celery"].send_task(name, args=args, countdown=countdown)


def celery_settings(config: Mapping[str, Any]) -> dict[str, Any]:
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
        # Events choose their queue when published (campaigns.core.event_types.EVENT_QUEUES).
        "task_default_queue": DEFAULT,
        "task_routes": {name: {"queue": queue} for name, queue in TASK_ROUTES.items()},
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
            "purge-unconfirmed-letters": {
                "task": "lobbying.purge_unconfirmed",
                "schedule": 3600.0,
            },
            "lobbying-tick": {
                "task": "lobbying.tick",
                "schedule": float(config["LOBBYING_TICK_INTERVAL"]),
            },
            "alerts-send-pending": {"task": "alerts.send_pending", "schedule": 60.0},
            "alerts-weekly-digest": {"task": "alerts.weekly_digest", "schedule": 3600.0},
            # Each network's notice goes once a day; the hourly runs retry what SMTP refused.
            "alerts-withdrawal-notices": {
                "task": "alerts.withdrawal_notices",
                "schedule": 3600.0,
            },
            "webhooks-prune-log": {"task": "webhooks.prune_log", "schedule": 3600.0},
            "webhooks-tick": {
                "task": "webhooks.tick",
                "schedule": float(config["WEBHOOK_TICK_INTERVAL"]),
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
    """Bind a Celery app to `app`, running every task inside its application context (the
    pattern of the Flask docs)."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_settings(app.config))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app

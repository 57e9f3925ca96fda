"""Celery tasks: thin, explicitly named wrappers over domain services.

Every task takes ids (never ORM objects), tolerates extra keyword arguments (so a rolling deploy
can add one), is acknowledged late and may run twice: the services they call are idempotent.
"""

# Imported by the worker process (celery_worker.py); each registers its tasks by name.
TASK_MODULES = [
    "workers.alerts",
    "workers.bounces",
    "workers.events",
    "workers.lobbying",
    "workers.mailings",
    "workers.petitions",
    "workers.tallies",
    "workers.webhooks",
    "workers.withdrawals",
]

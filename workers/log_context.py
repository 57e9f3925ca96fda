"""Logging in Celery processes (workers and beat): the app's format (campaigns.core.logs) rather
than Celery's, and the request id of the work a task does.

The web process puts the id of the request that published a task in the message's headers
(`campaigns.core.logs`); here a task makes it current while it runs, so every line it logs
carries it, and the tasks it publishes carry it on.
"""

from __future__ import annotations

import logging
import time

from celery import Task
from celery.signals import setup_logging, task_postrun, task_prerun

from campaigns.core.logs import TASK_HEADER, configure_logging, sane_request_id, set_request_id

log = logging.getLogger("campaigns.tasks")
# Task id -> time.perf_counter() when it began, in this (pool) process.
_started: dict[str, float] = {}


def install() -> None:
    """Connect the signals (celery_worker.py calls this, in workers and beat)."""
    setup_logging.connect(_use_our_logging, weak=False)
    task_prerun.connect(_enter_task, weak=False)
    task_postrun.connect(_leave_task, weak=False)


def _use_our_logging(loglevel: int | str | None = None, **_kwargs: object) -> None:
    # With a receiver for this signal, Celery leaves logging alone: the handler create_app
    # installed (LOG_FORMAT, redaction, request ids) stays, at the level of --loglevel.
    configure_logging(level=loglevel or "INFO")


def _enter_task(task_id: str = "", task: Task | None = None, **_kwargs: object) -> None:
    request_id = getattr(task.request, TASK_HEADER, None) if task is not None else None
    set_request_id(sane_request_id(request_id))
    _started[task_id] = time.perf_counter()


def _leave_task(
    task_id: str = "", task: Task | None = None, state: str | None = None, **_kwargs: object
) -> None:
    # One line per task, as per request, logged while the request id is still current (Celery's
    # own "succeeded" line comes from the pool's parent process, which knows no request id).
    started = _started.pop(task_id, None)
    if started is not None and task is not None:
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        log.info(
            "task %s %s %s %.1f ms",
            task.name,
            task_id,
            state,
            duration_ms,
            extra={
                "fields": {
                    "task": task.name,
                    "task_id": task_id,
                    "state": state,
                    "duration_ms": duration_ms,
                }
            },
        )
    set_request_id(None)

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from flask import current_app

from campaigns.extensions import db
from campaigns.petitions.services import purge_unconfirmed


@shared_task(name="petitions.purge_unconfirmed", acks_late=True, reject_on_worker_lost=True)
def purge_unconfirmed_signatures(**_kwargs: object) -> int:
    """Delete signatures left unconfirmed past the retention period (beat runs this hourly)."""
    days = current_app.config["UNCONFIRMED_RETENTION_DAYS"]
    deleted = purge_unconfirmed(timedelta(days=days))
    db.session.commit()
    return deleted

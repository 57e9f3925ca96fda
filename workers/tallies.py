from __future__ import annotations

from celery import shared_task

from campaigns.extensions import db
from campaigns.petitions.tallies.services import reconcile_all


@shared_task(name="tallies.reconcile", acks_late=True, reject_on_worker_lost=True)
def reconcile_tallies(**_kwargs: object) -> int:
    """Rebuild the Redis counters from the database and record missed milestones."""
    reconciled = reconcile_all()
    db.session.commit()
    return reconciled

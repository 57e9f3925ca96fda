"""A network's alert subscriptions: who may change them, what they are, and saving a new set
(with its audit entry, in the caller's transaction)."""

from __future__ import annotations

from sqlalchemy import delete, select

from campaigns.alerts.models import AlertSubscription, Channel, Topic
from campaigns.audit.services import record as audit
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.staff.models import Capability, StaffUser

Choice = tuple[Topic, Channel]


def may_change(user: StaffUser, network_id: int) -> bool:
    """Admins change any network's alerts; a coordinator only their own network's."""
    if user.can(Capability.MANAGE_NETWORKS):
        return True
    return user.can(Capability.EDIT_OWN_NETWORK) and user.network_id == network_id


def chosen(network_id: int) -> set[Choice]:
    rows = db.session.execute(
        select(AlertSubscription.topic, AlertSubscription.channel).where(
            AlertSubscription.network_id == network_id
        )
    )
    return {(Topic(topic), Channel(channel)) for topic, channel in rows}


def save(network: Network, wanted: set[Choice]) -> tuple[list[Choice], list[Choice]]:
    """Make the network's subscriptions exactly `wanted`; returns (added, removed), both
    empty when nothing changed (then nothing is written, not even an audit entry)."""
    before = chosen(network.id)
    added = sorted(wanted - before)
    removed = sorted(before - wanted)
    for topic, channel in removed:
        db.session.execute(
            delete(AlertSubscription).where(
                AlertSubscription.network_id == network.id,
                AlertSubscription.topic == topic,
                AlertSubscription.channel == channel,
            )
        )
    for topic, channel in added:
        db.session.add(AlertSubscription(network_id=network.id, topic=topic, channel=channel))
    if added or removed:
        db.session.flush()
        audit(
            "alerts.subscriptions_changed",
            target=network,
            detail={
                "network": network.slug,
                "added": [f"{topic}/{channel}" for topic, channel in added],
                "removed": [f"{topic}/{channel}" for topic, channel in removed],
            },
        )
    return added, removed

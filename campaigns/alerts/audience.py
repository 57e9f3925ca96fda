"""Who receives an alert: the active networks subscribed to its topic, each on the channels it
chose; and how many that reaches, for the pages that ask staff before they launch or send."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from campaigns.alerts import optouts
from campaigns.alerts.models import AlertSubscription, Channel, Topic
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.webhooks.models import WebhookEndpoint


@dataclass
class Subscriber:
    network: Network
    channels: set[Channel]

    @property
    def by_email(self) -> bool:
        return Channel.EMAIL in self.channels

    @property
    def by_webhook(self) -> bool:
        return Channel.WEBHOOK in self.channels


def subscribers(topic: Topic, network_ids: list[int] | None = None) -> list[Subscriber]:
    """The active networks subscribed to `topic` on any channel (only `network_ids`, if
    given), by id, with their contacts loaded. A deactivated network gets no alerts."""
    query = (
        select(AlertSubscription.network_id, AlertSubscription.channel)
        .join(Network, Network.id == AlertSubscription.network_id)
        .where(AlertSubscription.topic == topic, Network.is_active.is_(True))
    )
    if network_ids is not None:
        query = query.where(AlertSubscription.network_id.in_(network_ids))
    channels: dict[int, set[Channel]] = defaultdict(set)
    for network_id, channel in db.session.execute(query):
        channels[network_id].add(Channel(channel))
    if not channels:
        return []
    networks = db.session.scalars(
        select(Network)
        .where(Network.id.in_(channels))
        .options(selectinload(Network.contacts))
        .order_by(Network.id)
    )
    return [Subscriber(network, channels[network.id]) for network in networks]


def active_endpoint_counts(network_ids: list[int]) -> dict[int, int]:
    """Active webhook endpoints per network (networks without one are left out)."""
    if not network_ids:
        return {}
    rows = db.session.execute(
        select(WebhookEndpoint.network_id, func.count())
        .where(WebhookEndpoint.network_id.in_(network_ids), WebhookEndpoint.is_active.is_(True))
        .group_by(WebhookEndpoint.network_id)
    )
    return dict(rows.all())


@dataclass
class Reach:
    """Whom an alert of one topic would reach now. A network counts only where one of its
    chosen channels leads somewhere: email with a contact who did not unsubscribe, webhook with
    an active endpoint."""

    networks: set[int] = field(default_factory=set)
    by_email: set[int] = field(default_factory=set)
    addresses: int = 0
    by_webhook: set[int] = field(default_factory=set)
    endpoints: int = 0
    # Subscribed, but neither channel has anyone to receive it.
    unreachable: list[str] = field(default_factory=list)


def reach(topic: Topic) -> Reach:
    found = subscribers(topic)
    ids = [s.network.id for s in found]
    endpoints = active_endpoint_counts(ids)
    result = Reach()
    for subscriber in found:
        network_id = subscriber.network.id
        contacts = len(optouts.recipients(subscriber.network))
        if subscriber.by_email and contacts:
            result.by_email.add(network_id)
            result.addresses += contacts
        if subscriber.by_webhook and endpoints.get(network_id):
            result.by_webhook.add(network_id)
            result.endpoints += endpoints[network_id]
        if network_id in result.by_email | result.by_webhook:
            result.networks.add(network_id)
        else:
            result.unreachable.append(subscriber.network.name)
    return result

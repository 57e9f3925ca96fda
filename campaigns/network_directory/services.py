"""Changing the directory: a network created, edited, deactivated or reactivated, each change
with its audit entry in the same transaction. Services flush; the page or command commits."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from campaigns.audit.services import NOBODY
from campaigns.audit.services import record as audit
from campaigns.extensions import db
from campaigns.network_directory.rules import Contact
from campaigns.networks.models import Network, NetworkContact
from campaigns.petitions.models import Signature, SignatureStatus

# The fields of the profile, in the order the audit entry lists their changes.
PROFILE_FIELDS = ("name", "slug", "countries", "languages", "website", "description")


def create_network(values: dict[str, object], *, via: str = "staff page") -> Network:
    """A new member network (active) with its contacts; `values` as the form or command gives
    them."""
    network = Network(
        slug=values["slug"],
        name=values["name"],
        countries=list(values.get("countries") or []),
        languages=list(values.get("languages") or []),
        website=values.get("website"),
        description=values.get("description") or "",
        embed_origins=list(values.get("embed_origins") or []),
        is_active=True,
    )
    network.contacts = [
        NetworkContact(name=contact.name, email=contact.email)
        for contact in values.get("contacts") or []
    ]
    db.session.add(network)
    db.session.flush()
    audit(
        "network.created",
        target=network,
        detail={
            **{name: getattr(network, name) for name in PROFILE_FIELDS},
            "embed_origins": network.embed_origins,
            # How many, not who: the log is kept for good, a contact's address need not be.
            "contacts": len(network.contacts),
            "via": via,
        },
        **_actor(via),
    )
    return network


def update_network(
    network: Network, values: dict[str, object], *, via: str = "staff page"
) -> dict[str, object]:
    """Apply `values` (only the keys given: a coordinator's form has no slug, countries nor
    origins) and return what changed, as the audit entry records it; nothing changed, no
    entry."""
    changes: dict[str, object] = {}
    for name in (*PROFILE_FIELDS, "embed_origins"):
        if name in values and getattr(network, name) != values[name]:
            changes[name] = {"from": getattr(network, name), "to": values[name]}
            setattr(network, name, values[name])
    if "contacts" in values:
        contact_changes = _replace_contacts(network, values["contacts"])
        if contact_changes:
            changes["contacts"] = contact_changes
    if changes:
        db.session.flush()
        audit("network.updated", target=network, detail={**changes, "via": via}, **_actor(via))
    return changes


def _replace_contacts(network: Network, wanted: Iterable[Contact]) -> dict[str, int]:
    """The contacts become `wanted`: rows of the addresses kept stay (their name updated), the
    others go. Returns how many were added, removed and renamed (the audit log, kept for good,
    records no contact's address)."""
    wanted = list(wanted)
    current = {contact.email: contact for contact in network.contacts}
    added = [contact.email for contact in wanted if contact.email not in current]
    removed = [email for email in current if email not in {c.email for c in wanted}]
    renamed = []
    for contact in wanted:
        row = current.get(contact.email)
        if row is None:
            network.contacts.append(NetworkContact(name=contact.name, email=contact.email))
        elif row.name != contact.name:
            row.name = contact.name
            renamed.append(contact.email)
    for email in removed:
        network.contacts.remove(current[email])
    found = {"added": len(added), "removed": len(removed), "renamed": len(renamed)}
    return {key: value for key, value in found.items() if value}


def set_active(network: Network, active: bool, *, via: str = "staff page") -> bool:
    """Deactivate or reactivate; False when it was so already (pressing twice does nothing)."""
    if network.is_active == active:
        return False
    network.is_active = active
    db.session.flush()
    audit(
        "network.reactivated" if active else "network.deactivated",
        target=network,
        detail={"slug": network.slug, "via": via},
        **_actor(via),
    )
    return True


def _actor(via: str) -> dict[str, object]:
    """The command line has no signed-in person: its entries name nobody as the actor."""
    if via == "command line":
        return {"actor": NOBODY}
    return {}


# --- Counts -------------------------------------------------------------------------------------


def signatures_brought(petition_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Confirmed signatures per network that brought them (of these petitions, when given)."""
    query = (
        select(Signature.source_network_id, func.count())
        .where(
            Signature.status == SignatureStatus.CONFIRMED,
            Signature.source_network_id.is_not(None),
        )
        .group_by(Signature.source_network_id)
    )
    if petition_ids is not None:
        query = query.where(Signature.petition_id.in_(list(petition_ids)))
    return dict(db.session.execute(query).all())


def signatures_by_petition(network_id: int) -> dict[int, int]:
    """Confirmed signatures the network brought, per petition."""
    return dict(
        db.session.execute(
            select(Signature.petition_id, func.count())
            .where(
                Signature.status == SignatureStatus.CONFIRMED,
                Signature.source_network_id == network_id,
            )
            .group_by(Signature.petition_id)
        ).all()
    )


def contacts_count() -> dict[int, int]:
    return dict(
        db.session.execute(
            select(NetworkContact.network_id, func.count()).group_by(NetworkContact.network_id)
        ).all()
    )

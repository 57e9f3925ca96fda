from __future__ import annotations

import enum
import secrets
from datetime import datetime

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaigns.core.db import TimestampMixin, UTCDateTime, utcnow
from campaigns.extensions import db


class Role(enum.StrEnum):
    ADMIN = "admin"
    CAMPAIGNER = "campaigner"
    COORDINATOR = "coordinator"


class Capability(enum.StrEnum):
    """What a staff page needs. Views name a capability, never a role, so the role table below is
    the one place that says who may do what."""

    VIEW_CAMPAIGNS = (
        "view_campaigns"  # the campaign list and dashboards (a coordinator: own network)
    )
    EDIT_CAMPAIGNS = "edit_campaigns"  # create, edit, translate, launch, pause, close, deliver
    SEND_MAILINGS = "send_mailings"  # compose, test, schedule and follow mailings
    EXPORT = "export"  # CSV exports and delivery reports (a coordinator: own network's supporters)
    # The built-in catcher's messages (embedded stack). Admins only: it holds every mail, password
    # reset links of other staff included.
    READ_MAIL_CATCHER = "read_mail_catcher"
    MANAGE_STAFF = "manage_staff"  # accounts, roles, the two-factor requirement
    READ_AUDIT_LOG = "read_audit_log"
    VIEW_TARGETS = "view_targets"  # the directory of policymakers and their letters' statistics
    EDIT_TARGETS = "edit_targets"  # add and edit targets, log their answers, switch to a digest
    # Let an action's letters reach the real policymakers (with LOBBYING_DELIVERY=live). Admins
    # only: a mistake here writes to members of parliament in the network's name.
    SEND_LETTERS_LIVE = "send_letters_live"
    # Create, edit and deactivate any member network, its contacts, logo, embed origins and
    # webhook endpoints.
    MANAGE_NETWORKS = "manage_networks"
    # The same for one's own network only (a coordinator): profile, contacts, alert
    # subscriptions, webhook endpoints.
    EDIT_OWN_NETWORK = "edit_own_network"
    # Write urgent actions for the networks, and read every alert sent and to whom.
    SEND_ALERTS = "send_alerts"
    # The supporters who agreed that a network may contact them: a coordinator sees (and
    # exports) only those who gave that consent to their own network.
    VIEW_SHARED_SUPPORTERS = "view_shared_supporters"
    # The status page: workers, beat, queues, the outbox (names of machines, no personal data).
    VIEW_SYSTEM_STATUS = "view_system_status"
    # Make, list and revoke keys of the JSON API, which may read supporters' personal data.
    MANAGE_API_KEYS = "manage_api_keys"


ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.ADMIN: frozenset(Capability),
    Role.CAMPAIGNER: frozenset(
        {
            Capability.VIEW_CAMPAIGNS,
            Capability.EDIT_CAMPAIGNS,
            Capability.SEND_MAILINGS,
            Capability.EXPORT,
            Capability.VIEW_TARGETS,
            Capability.EDIT_TARGETS,
            Capability.SEND_ALERTS,
        }
    ),
    # Counts only: the privacy notice every signer agrees to says a member network sees how many
    # people it brought, never who. The one exception is a consent of its own: the supporters
    # who agreed that this network may contact them.
    Role.COORDINATOR: frozenset(
        {
            Capability.VIEW_CAMPAIGNS,
            Capability.EDIT_OWN_NETWORK,
            Capability.VIEW_SHARED_SUPPORTERS,
        }
    ),
}


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class StaffUser(TimestampMixin, db.Model):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lowercased and stripped (see staff.services.normalise_email).
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    )
    # A coordinator works for one member network and sees only its supporters.
    network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"))
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    password_changed_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, nullable=False
    )
    # Part of every session of this account: changing it (password change or reset, role change,
    # deactivation) signs the account out everywhere, and makes used reset links void.
    session_token: Mapped[str] = mapped_column(
        String(40), default=new_session_token, nullable=False
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last accepted TOTP time step: a code is accepted once (RFC 6238 section 5.2).
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # IANA zone in which this person reads and enters dates and times (e.g. a mailing's schedule).
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Brussels", nullable=False)

    network = relationship("Network")

    @property
    def capabilities(self) -> frozenset[Capability]:
        return ROLE_CAPABILITIES[self.role] if self.is_active else frozenset()

    def can(self, capability: Capability | str) -> bool:
        return Capability(capability) in self.capabilities

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def scoped_network_id(self) -> int | None:
        """The one network whose supporters this person may see, or None for all networks."""
        return self.network_id if self.role == Role.COORDINATOR else None

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def __repr__(self) -> str:
        return f"<StaffUser {self.id} {self.role}>"


class SiteSetting(db.Model):
    """A setting admins change at run time (e.g. requiring two-factor sign-in for everyone)."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[object] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, LargeBinary, String, Text, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from campaigns.core.db import TimestampMixin, UTCDateTime, utcnow
from campaigns.extensions import db


class Network(TimestampMixin, db.Model):
    """A member network (or the umbrella network itself). Its `slug` is the `?source=` code that
    attributes signatures to the network that brought them."""

    __tablename__ = "networks"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # ISO 3166 codes of the countries the network works in (most work in one).
    countries: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    # Locales it works in, its own first: alerts to its contacts are written in the first.
    languages: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    website: Mapped[str | None] = mapped_column(String(300))
    # Who they are, shown on the network's public page (plain text, a few lines).
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    # Web origins ("https://example.org") allowed to frame our embeddable forms.
    embed_origins: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    is_umbrella: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # A deactivated network keeps its history (signatures it brought) but gets no alerts, no
    # embeds and no public page, and its ?source= code attributes nothing new.
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)

    contacts: Mapped[list[NetworkContact]] = relationship(
        back_populates="network", order_by="NetworkContact.id", cascade="all, delete-orphan"
    )
    logo: Mapped[NetworkLogo | None] = relationship(
        back_populates="network", cascade="all, delete-orphan", lazy="select"
    )

    @property
    def locale(self) -> str:
        """The language the network reads its alerts in."""
        return self.languages[0] if self.languages else "en"

    @property
    def country_code(self) -> str | None:
        """Its first country (most networks work in one)."""
        return self.countries[0] if self.countries else None

    def __repr__(self) -> str:
        return f"<Network {self.slug}>"


class NetworkContact(TimestampMixin, db.Model):
    """A person at a member network who receives its alerts by email, unless they stopped them."""

    __tablename__ = "network_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(120), default="", nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)

    network: Mapped[Network] = relationship(back_populates="contacts")

    # `alerts_unsubscribed_at` (defined after AlertOptOut, below): when the address stopped the
    # network's alert mails; None while it receives them.

    @property
    def receives_alert_mails(self) -> bool:
        return self.alerts_unsubscribed_at is None


class AlertOptOut(db.Model):
    """An address that stopped a network's alert mails from the link in one (alerts.optouts).
    Kept per network and address, not on the contact's row: a coordinator who removes the contact
    and adds it again does not undo it; only the address's own link does ("receive them again")."""

    __tablename__ = "alert_optouts"

    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), primary_key=True)  # lowercased
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


NetworkContact.alerts_unsubscribed_at = column_property(
    select(AlertOptOut.created_at)
    .where(
        AlertOptOut.network_id == NetworkContact.network_id,
        AlertOptOut.email == func.lower(NetworkContact.email),
    )
    .correlate_except(AlertOptOut)
    .scalar_subquery()
)


class NetworkLogo(db.Model):
    """A network's logo, checked and re-encoded when uploaded (which drops its metadata), and
    served by the platform itself: no page asks a third party for anything."""

    __tablename__ = "network_logos"

    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(40), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    # Part of the logo's URL, so browsers may keep it for a year and a new logo shows at once.
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    width: Mapped[int] = mapped_column(nullable=False)
    height: Mapped[int] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    network: Mapped[Network] = relationship(back_populates="logo")

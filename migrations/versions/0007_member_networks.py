"""Member networks: their profile, contacts, logo and embed origins; alert subscriptions and
alerts, urgent actions; webhook endpoints, deliveries and attempts; consents given to a network

Revision ID: 0007_member_networks
Revises: 0006_lobbying
Create Date: 2026-12-06 04:05:01.780789

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007_member_networks"
down_revision = "0006_lobbying"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column(
            "topic",
            sa.Enum(
                "campaign.launched",
                "petition.milestone_reached",
                "urgent_action.published",
                "mailing.sent",
                "network.weekly_digest",
                name="topic",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "channel",
            sa.Enum("email", "webhook", name="channel", native_enum=False, length=40),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_alert_subscriptions_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_subscriptions")),
        sa.UniqueConstraint(
            "network_id",
            "topic",
            "channel",
            name=op.f("uq_alert_subscriptions_network_id_topic_channel"),
        ),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column(
            "topic",
            sa.Enum(
                "campaign.launched",
                "petition.milestone_reached",
                "urgent_action.published",
                "mailing.sent",
                "network.weekly_digest",
                name="topic",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("occasion", sa.String(length=80), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_alerts_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("message_id", name=op.f("uq_alerts_message_id")),
        sa.UniqueConstraint(
            "network_id", "topic", "occasion", name=op.f("uq_alerts_network_id_topic_occasion")
        ),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_network_id"), ["network_id"], unique=False)

    op.create_table(
        "network_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_network_contacts_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_contacts")),
    )
    with op.batch_alter_table("network_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_network_contacts_network_id"), ["network_id"], unique=False
        )

    op.create_table(
        "network_logos",
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_network_logos_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("network_id", name=op.f("pk_network_logos")),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("previous_secret", sa.String(length=100), nullable=True),
        sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.String(length=16), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_webhook_endpoints_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_endpoints_network_id"), ["network_id"], unique=False
        )

    op.create_table(
        "alert_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_emails_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_emails")),
        sa.UniqueConstraint("alert_id", "email", name=op.f("uq_alert_emails_alert_id_email")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sending",
                "delivered",
                "failed",
                "cancelled",
                name="webhookstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "endpoint_id", "message_id", name=op.f("uq_webhook_deliveries_endpoint_id_message_id")
        ),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_endpoint_id"), ["endpoint_id"], unique=False
        )

    op.create_table(
        "urgent_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_urgent_actions_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff_users.id"],
            name=op.f("fk_urgent_actions_created_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_urgent_actions")),
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_attempts_endpoint_id_webhook_endpoints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_attempts_endpoint", ["endpoint_id", "attempted_at"], unique=False
        )

    op.create_table(
        "urgent_action_translations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["urgent_actions.id"],
            name=op.f("fk_urgent_action_translations_action_id_urgent_actions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_urgent_action_translations")),
        sa.UniqueConstraint(
            "action_id", "locale", name=op.f("uq_urgent_action_translations_action_id_locale")
        ),
    )
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("network_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_consent_records_network_id"), ["network_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_consent_records_network_id_networks"), "networks", ["network_id"], ["id"]
        )

    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("countries", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("languages", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("description", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("embed_origins", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    # A network's one country becomes the first of its countries.
    networks = sa.table(
        "networks",
        sa.column("id", sa.Integer),
        sa.column("country_code", sa.String),
        sa.column("countries", sa.JSON),
    )
    connection = op.get_bind()
    for network_id, code in connection.execute(
        sa.select(networks.c.id, networks.c.country_code).where(
            networks.c.country_code.is_not(None)
        )
    ):
        connection.execute(
            networks.update().where(networks.c.id == network_id).values(countries=[code])
        )
    with op.batch_alter_table("networks", schema=None) as batch_op:
        for column in ("countries", "languages", "description", "embed_origins", "is_active"):
            batch_op.alter_column(column, server_default=None)
        batch_op.drop_column("country_code")


def downgrade() -> None:
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country_code", sa.VARCHAR(length=2), nullable=True))
    networks = sa.table(
        "networks",
        sa.column("id", sa.Integer),
        sa.column("country_code", sa.String),
        sa.column("countries", sa.JSON),
    )
    connection = op.get_bind()
    for network_id, countries in connection.execute(sa.select(networks.c.id, networks.c.countries)):
        if countries:
            connection.execute(
                networks.update()
                .where(networks.c.id == network_id)
                .values(country_code=countries[0])
            )
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.drop_column("is_active")
        batch_op.drop_column("embed_origins")
        batch_op.drop_column("description")
        batch_op.drop_column("languages")
        batch_op.drop_column("countries")

    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_consent_records_network_id_networks"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_consent_records_network_id"))
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("network_id")

    op.drop_table("urgent_action_translations")
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_attempts_endpoint")

    op.drop_table("webhook_attempts")
    op.drop_table("urgent_actions")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_endpoint_id"))
        batch_op.drop_index("ix_webhook_deliveries_due")

    op.drop_table("webhook_deliveries")
    op.drop_table("alert_emails")
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_endpoints_network_id"))

    op.drop_table("webhook_endpoints")
    op.drop_table("network_logos")
    with op.batch_alter_table("network_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_contacts_network_id"))

    op.drop_table("network_contacts")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_network_id"))

    op.drop_table("alerts")
    op.drop_table("alert_subscriptions")

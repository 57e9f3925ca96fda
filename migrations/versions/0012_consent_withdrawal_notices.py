"""Consent withdrawal notices to member networks: each withdrawal a network must be told of,
kept until it is (campaigns.alerts.withdrawal_models), and the daily emails that told them.

Revision ID: 0012_consent_withdrawal_notices
Revises: 0011_alert_contact_optouts
Create Date: 2026-12-06 21:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012_consent_withdrawal_notices"
down_revision = "0011_alert_contact_optouts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "withdrawal_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("addresses", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_withdrawal_notices_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withdrawal_notices")),
        sa.UniqueConstraint("network_id", "day", name=op.f("uq_withdrawal_notices_network_id_day")),
    )
    op.create_table(
        "network_withdrawals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_network_withdrawals_network_id_networks"),
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["withdrawal_notices.id"],
            name=op.f("fk_network_withdrawals_notice_id_withdrawal_notices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_withdrawals")),
        sa.UniqueConstraint("event_id", name=op.f("uq_network_withdrawals_event_id")),
    )
    op.create_index(
        op.f("ix_network_withdrawals_network_id"), "network_withdrawals", ["network_id"]
    )
    op.create_index(op.f("ix_network_withdrawals_notice_id"), "network_withdrawals", ["notice_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_network_withdrawals_notice_id"), table_name="network_withdrawals")
    op.drop_index(op.f("ix_network_withdrawals_network_id"), table_name="network_withdrawals")
    op.drop_table("network_withdrawals")
    op.drop_table("withdrawal_notices")

"""Campaigns: when they last changed, for the API's modified_date and its filter

Revision ID: 0009_campaign_modified_at
Revises: 0008_api_keys
Create Date: 2026-12-06 19:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009_campaign_modified_at"
down_revision = "0008_api_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("modified_at", sa.DateTime(timezone=True), nullable=True))
    # What is known of each campaign's last change: its last state change, else its creation.
    op.execute(
        """
        UPDATE campaigns SET modified_at = COALESCE(
            (SELECT MAX(changed_at) FROM campaign_state_changes
             WHERE campaign_state_changes.campaign_id = campaigns.id),
            created_at)
        """
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.alter_column(
            "modified_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.create_index("ix_campaigns_modified_at", ["modified_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index("ix_campaigns_modified_at")
        batch_op.drop_column("modified_at")

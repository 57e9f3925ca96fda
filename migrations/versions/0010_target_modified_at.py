"""Targets: when they last changed, for the API's modified_date and its filter

Revision ID: 0010_target_modified_at
Revises: 0009_campaign_modified_at
Create Date: 2026-12-06 21:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010_target_modified_at"
down_revision = "0009_campaign_modified_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("modified_at", sa.DateTime(timezone=True), nullable=True))
    # What is known of each target's last change: staff's last edit or switch in the audit log,
    # else its creation (imports are audited as a whole, not per target).
    op.execute(
        """
        UPDATE targets SET modified_at = COALESCE(
            (SELECT MAX(occurred_at) FROM audit_log
             WHERE audit_log.target_type = 'targets' AND audit_log.target_id = targets.id
               AND audit_log.action IN ('target.updated', 'target.state_changed')),
            created_at)
        """
    )
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.alter_column(
            "modified_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.create_index("ix_targets_modified_at", ["modified_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.drop_index("ix_targets_modified_at")
        batch_op.drop_column("modified_at")

"""Letters: an index of each action's letters by status, for the count the public pages show

Revision ID: 0013_letters_action_status
Revises: 0012_consent_withdrawal_notices
Create Date: 2026-12-06 22:40:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0013_letters_action_status"
down_revision = "0012_consent_withdrawal_notices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_letters_action_status", "letters", ["action_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_letters_action_status", table_name="letters")

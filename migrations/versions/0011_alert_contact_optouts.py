"""Alert contacts who unsubscribed, and the form that sent each urgent action

network_contacts.alerts_unsubscribed_at: when a network's contact stopped its alert mails, from
the link in one (or its List-Unsubscribe header); the fan-out then skips the address. NULL: the
contact receives them. Only the contact's own link sets or clears it.

urgent_actions.form_token: the one-time token of the form that sent it, unique, so a form is
sent once and a send whose commit failed can be sent again (it was a Redis key set before the
commit). NULL for those sent before this revision.

Revision ID: 0011_alert_contact_optouts
Revises: 0010_target_modified_at
Create Date: 2026-12-06 21:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011_alert_contact_optouts"
down_revision = "0010_target_modified_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("network_contacts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("alerts_unsubscribed_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("urgent_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("form_token", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_urgent_actions_form_token", ["form_token"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("urgent_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_urgent_actions_form_token")
        batch_op.drop_column("form_token")
    with op.batch_alter_table("network_contacts", schema=None) as batch_op:
        batch_op.drop_column("alerts_unsubscribed_at")

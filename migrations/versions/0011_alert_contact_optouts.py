"""Alert contacts who unsubscribed, and the form that sent each urgent action

alert_optouts: the addresses that stopped a network's alert mails, from the link in one (or its
List-Unsubscribe header), per network and address: the fan-out skips them, and a coordinator who
removes the contact and adds it again does not undo it. Only the address's own link deletes its
row.

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
    op.create_table(
        "alert_optouts",
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_alert_optouts_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("network_id", "email", name=op.f("pk_alert_optouts")),
    )
    with op.batch_alter_table("urgent_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("form_token", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_urgent_actions_form_token", ["form_token"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("urgent_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_urgent_actions_form_token")
        batch_op.drop_column("form_token")
    op.drop_table("alert_optouts")

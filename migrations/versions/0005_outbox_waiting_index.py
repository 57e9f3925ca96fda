"""Outbox: a partial index of the events still waiting, by type and age

The batch handlers and the relay look for the oldest unprocessed events of a type. With the
index, that stays a short index scan however many events wait (a burst of signatures) and however
many were processed before.

Revision ID: 0005_outbox_waiting_index
Revises: 0004_delivery_retry_at
Create Date: 2026-12-02 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_outbox_waiting_index'
down_revision = '0004_delivery_retry_at'
branch_labels = None
depends_on = None

WAITING = sa.text('processed_at IS NULL')


def upgrade():
    op.create_index(
        'ix_outbox_events_waiting',
        'outbox_events',
        ['type', 'created_at'],
        unique=False,
        postgresql_where=WAITING,
        sqlite_where=WAITING,
    )


def downgrade():
    op.drop_index('ix_outbox_events_waiting', table_name='outbox_events')

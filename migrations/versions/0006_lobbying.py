"""Lobbying: the directory of targets, letter actions, letters, their paced deliveries and the
targets' answers; campaigns get a kind, translations a letter

Revision ID: 0006_lobbying
Revises: 0005_outbox_waiting_index
Create Date: 2026-12-06 01:12:39.266285

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006_lobbying"
down_revision = "0005_outbox_waiting_index"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "mep",
                "commissioner",
                "agency",
                "council",
                "permanent_representation",
                "ministry",
                "other",
                name="targetkind",
                native_enum=False,
            ),
            nullable=False,
        ),
        sa.Column("ep_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=False),
        sa.Column("institution", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("political_group", sa.String(length=40), nullable=True),
        sa.Column("national_party", sa.String(length=200), nullable=True),
        sa.Column("languages", sa.String(length=60), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("profile_url", sa.String(length=300), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("left_office_on", sa.Date(), nullable=True),
        sa.Column("daily_digest", sa.Boolean(), nullable=False),
        sa.Column("bounced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bounce_reason", sa.String(length=300), nullable=True),
        sa.Column("next_slot_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets")),
        sa.UniqueConstraint("ep_id", name=op.f("uq_targets_ep_id")),
    )
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_targets_country"), ["country"], unique=False)
        batch_op.create_index(batch_op.f("ix_targets_kind"), ["kind"], unique=False)

    op.create_table(
        "target_committees",
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("committee", sa.String(length=12), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "chair",
                "vice-chair",
                "member",
                "substitute",
                name="committeerole",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_target_committees_target_id_targets")
        ),
        sa.PrimaryKeyConstraint("target_id", "committee", name=op.f("pk_target_committees")),
    )
    with op.batch_alter_table("target_committees", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_target_committees_committee"), ["committee"], unique=False
        )

    op.create_table(
        "letter_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column(
            "rule",
            sa.Enum(
                "own_country",
                "committees",
                "group",
                "named",
                name="selectionrule",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("committees", sa.String(length=200), nullable=False),
        sa.Column("political_group", sa.String(length=40), nullable=True),
        sa.Column("max_targets", sa.Integer(), nullable=False),
        sa.Column(
            "edit_policy",
            sa.Enum("fixed", "note", "full", name="editpolicy", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("note_max", sa.Integer(), nullable=False),
        sa.Column("body_max", sa.Integer(), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("live_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("live_changed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_letter_actions_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["live_changed_by_id"],
            ["staff_users.id"],
            name=op.f("fk_letter_actions_live_changed_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter_actions")),
        sa.UniqueConstraint("campaign_id", name=op.f("uq_letter_actions_campaign_id")),
    )
    op.create_table(
        "letter_action_targets",
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["letter_actions.id"],
            name=op.f("fk_letter_action_targets_action_id_letter_actions"),
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_letter_action_targets_target_id_targets")
        ),
        sa.PrimaryKeyConstraint(
            "action_id", "target_id", "purpose", name=op.f("pk_letter_action_targets")
        ),
    )
    op.create_table(
        "letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "confirmed",
                "rejected",
                name="letterstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("email_digest", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("source_network_id", sa.Integer(), nullable=True),
        sa.Column("source_url", sa.String(length=300), nullable=True),
        sa.Column("confirmation_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"], ["letter_actions.id"], name=op.f("fk_letters_action_id_letter_actions")
        ),
        sa.ForeignKeyConstraint(
            ["source_network_id"],
            ["networks.id"],
            name=op.f("fk_letters_source_network_id_networks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letters")),
        sa.UniqueConstraint("action_id", "email", name=op.f("uq_letters_action_id_email")),
        sa.UniqueConstraint(
            "action_id", "email_digest", name=op.f("uq_letters_action_id_email_digest")
        ),
    )
    op.create_table(
        "target_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("responded_on", sa.Date(), nullable=False),
        sa.Column(
            "position",
            sa.Enum(
                "supports",
                "opposes",
                "undecided",
                "no_reply",
                name="position",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("quote", sa.String(length=500), nullable=True),
        sa.Column("link", sa.String(length=300), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["letter_actions.id"],
            name=op.f("fk_target_responses_action_id_letter_actions"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["staff_users.id"],
            name=op.f("fk_target_responses_recorded_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_target_responses_target_id_targets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_responses")),
    )
    with op.batch_alter_table("target_responses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_target_responses_action", ["action_id", "target_id"], unique=False
        )

    op.create_table(
        "letter_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("consent_text_id", sa.Integer(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["consent_text_id"],
            ["consent_texts.id"],
            name=op.f("fk_letter_consents_consent_text_id_consent_texts"),
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"], ["letters.id"], name=op.f("fk_letter_consents_letter_id_letters")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter_consents")),
    )
    with op.batch_alter_table("letter_consents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_letter_consents_letter_id"), ["letter_id"], unique=False
        )

    op.create_table(
        "letter_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "awaiting",
                "scheduled",
                "sending",
                "sent",
                "digest",
                "bounced",
                "failed",
                "skipped",
                "cancelled",
                name="letterdeliverystatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deferred_by", sa.String(length=16), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("test_mode", sa.Boolean(), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["letter_id"], ["letters.id"], name=op.f("fk_letter_deliveries_letter_id_letters")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_letter_deliveries_target_id_targets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter_deliveries")),
        sa.UniqueConstraint(
            "letter_id", "target_id", name=op.f("uq_letter_deliveries_letter_id_target_id")
        ),
    )
    with op.batch_alter_table("letter_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_letter_deliveries_due", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_letter_deliveries_target", ["target_id", "status"], unique=False)

    with op.batch_alter_table("campaign_translations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("letter_subject", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("letter_body", sa.Text(), server_default="", nullable=False))

    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum("petition", "letter", name="campaignkind", native_enum=False, length=16),
                server_default="petition",
                nullable=False,
            )
        )


def downgrade() -> None:

    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("kind")

    with op.batch_alter_table("campaign_translations", schema=None) as batch_op:
        batch_op.drop_column("letter_body")
        batch_op.drop_column("letter_subject")

    with op.batch_alter_table("letter_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_letter_deliveries_target")
        batch_op.drop_index("ix_letter_deliveries_due")

    op.drop_table("letter_deliveries")
    with op.batch_alter_table("letter_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_letter_consents_letter_id"))

    op.drop_table("letter_consents")
    with op.batch_alter_table("target_responses", schema=None) as batch_op:
        batch_op.drop_index("ix_target_responses_action")

    op.drop_table("target_responses")
    op.drop_table("letters")
    op.drop_table("letter_action_targets")
    op.drop_table("letter_actions")
    with op.batch_alter_table("target_committees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_target_committees_committee"))

    op.drop_table("target_committees")
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_targets_kind"))
        batch_op.drop_index(batch_op.f("ix_targets_country"))

    op.drop_table("targets")

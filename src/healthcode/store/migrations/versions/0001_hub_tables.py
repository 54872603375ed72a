"""Hub tables: organisations, tokens, identities, records, feeds, risk areas, code status, purges.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 18:52:35.410808
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "code_status",
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("province", sa.String(length=6), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("colour", sa.String(length=8), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ruleset_version", sa.String(length=64), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "colour IN ('green', 'yellow', 'red')", name=op.f("ck_code_status_colour")
        ),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_code_status")),
    )
    op.create_index(op.f("ix_code_status_pseudonym"), "code_status", ["pseudonym"], unique=False)
    op.create_index(
        op.f("ix_code_status_reported_at"), "code_status", ["reported_at"], unique=False
    )

    op.create_table(
        "feed_counters",
        sa.Column("province", sa.String(length=6), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("purged_through", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("province", name=op.f("pk_feed_counters")),
    )
    op.create_table(
        "feed_entries",
        sa.Column("province", sa.String(length=6), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("ref_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("province", "seq", name=op.f("pk_feed_entries")),
    )
    op.create_index("ix_feed_entries_created_at", "feed_entries", ["created_at"], unique=False)

    op.create_table(
        "identities",
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("id_type", sa.String(length=24), nullable=False),
        sa.Column("id_number_enc", sa.LargeBinary(), nullable=False),
        sa.Column("name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=True),
        sa.Column("home_region", sa.String(length=6), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pseudonym", name=op.f("pk_identities")),
    )
    op.create_index(
        op.f("ix_identities_last_seen_at"), "identities", ["last_seen_at"], unique=False
    )

    op.create_table(
        "organisations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('lab', 'vaccination', 'disease-control', 'risk-authority', "
            "'itinerary', 'province', 'checkpoint')",
            name=op.f("ck_organisations_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
    )
    op.create_table(
        "purge_statements",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purge_statements")),
    )
    op.create_index(
        op.f("ix_purge_statements_created_at"), "purge_statements", ["created_at"], unique=False
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_idempotency_keys_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("org_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(
        op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"], unique=False
    )

    op.create_table(
        "org_tokens",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_org_tokens_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_org_tokens_token_hash")),
    )
    op.create_index(op.f("ix_org_tokens_org_id"), "org_tokens", ["org_id"], unique=False)

    op.create_table(
        "records",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("natural_key", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("province", sa.String(length=6), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('nat', 'antibody', 'vaccination', 'infection', 'contact', 'itinerary')",
            name=op.f("ck_records_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_records_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_records")),
        sa.UniqueConstraint(
            "org_id", "kind", "natural_key", name=op.f("uq_records_org_id_kind_natural_key")
        ),
    )
    op.create_index("ix_records_kind_occurred_at", "records", ["kind", "occurred_at"], unique=False)
    op.create_index(op.f("ix_records_pseudonym"), "records", ["pseudonym"], unique=False)

    op.create_table(
        "registrations",
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("province", sa.String(length=6), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_registrations_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("pseudonym", name=op.f("pk_registrations")),
    )
    op.create_index(op.f("ix_registrations_province"), "registrations", ["province"], unique=False)
    op.create_index(
        op.f("ix_registrations_registered_at"), "registrations", ["registered_at"], unique=False
    )

    op.create_table(
        "risk_areas",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("document", sa.String(length=500), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("level IN ('high', 'medium', 'low')", name=op.f("ck_risk_areas_level")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_risk_areas_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_areas")),
    )
    op.create_index(op.f("ix_risk_areas_region_code"), "risk_areas", ["region_code"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_risk_areas_region_code"), table_name="risk_areas")

    op.drop_table("risk_areas")
    op.drop_index(op.f("ix_registrations_registered_at"), table_name="registrations")
    op.drop_index(op.f("ix_registrations_province"), table_name="registrations")

    op.drop_table("registrations")
    op.drop_index(op.f("ix_records_pseudonym"), table_name="records")
    op.drop_index("ix_records_kind_occurred_at", table_name="records")

    op.drop_table("records")
    op.drop_index(op.f("ix_org_tokens_org_id"), table_name="org_tokens")

    op.drop_table("org_tokens")
    op.drop_index(op.f("ix_idempotency_keys_created_at"), table_name="idempotency_keys")

    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_purge_statements_created_at"), table_name="purge_statements")

    op.drop_table("purge_statements")
    op.drop_table("organisations")
    op.drop_index(op.f("ix_identities_last_seen_at"), table_name="identities")

    op.drop_table("identities")
    op.drop_index("ix_feed_entries_created_at", table_name="feed_entries")

    op.drop_table("feed_entries")
    op.drop_table("feed_counters")
    op.drop_index(op.f("ix_code_status_reported_at"), table_name="code_status")
    op.drop_index(op.f("ix_code_status_pseudonym"), table_name="code_status")

    op.drop_table("code_status")

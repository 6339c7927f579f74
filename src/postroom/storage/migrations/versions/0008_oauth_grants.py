"""OAuth2 sign-ins of channels and SMTP servers: the provider (its endpoints for ``custom``,
the tenant for ``microsoft``), the client id and its sealed secret, the scopes, and the
sealed refresh and access tokens with the access token's expiry and the last refresh; an
SMTP server's login mechanism (xoauth2 or oauthbearer with a sign-in).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("smtp_servers", sa.Column("mechanism", sa.String(length=20), nullable=True))
    op.create_table(
        "oauth_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("smtp_server_id", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("tenant", sa.String(length=200), nullable=True),
        sa.Column("token_url", sa.String(length=1000), nullable=True),
        sa.Column("device_url", sa.String(length=1000), nullable=True),
        sa.Column("client_id", sa.String(length=500), nullable=False),
        sa.Column("client_secret_enc", sa.Text(), nullable=True),
        sa.Column("scopes", sa.Text(), nullable=True),
        sa.Column("refresh_token_enc", sa.Text(), nullable=True),
        sa.Column("access_token_enc", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_oauth_grants_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["smtp_server_id"],
            ["smtp_servers.id"],
            name=op.f("fk_oauth_grants_smtp_server_id_smtp_servers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_grants")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_oauth_grants_channel_id")),
        sa.UniqueConstraint("smtp_server_id", name=op.f("uq_oauth_grants_smtp_server_id")),
    )


def downgrade() -> None:
    op.drop_table("oauth_grants")
    with op.batch_alter_table("smtp_servers") as batch:
        batch.drop_column("mechanism")

"""public versions: how often what the public site shows of each fund has changed

The public pages were kept, and their ETags made, under the audit chain's single head, so
any audited action anywhere -- a sign-in included -- made every public page new. Each fund
now counts the changes its public pages can show (``audit.models.PublicVersion``); a page
is kept under the counts of the funds it shows. Counting starts at this revision: no row
is the same as a count of 0.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 20:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('public_versions',
    sa.Column('fund', sa.String(length=16), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('changed_at', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('fund', name=op.f('pk_public_versions'))
    )


def downgrade() -> None:
    op.drop_table('public_versions')

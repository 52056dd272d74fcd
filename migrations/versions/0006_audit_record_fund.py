"""audit records name their fund

Every audit record now names the fund (jurisdiction) its action belongs to, by the
fund's code, so that each user is shown only the records of the funds they may read.
The column holds a code, not a foreign key: the audit log sits below the funds in the
order of imports and must outlive any change to them.

The record's hash covers the fund when there is one: the canonical payload gains a
"fund" key only when the fund is set. So:

- records written before this revision keep NULL and keep verifying exactly as they
  did (their payload never had the key); the log is append-only, nothing is filled in
  afterwards -- a fund added to an old row would break its link, as any edit does;
- such old rows are attributed, for reading only, by their subject (a project's,
  receipt's, ledger entry's, donor's ... fund), as the audit-log extract already did;
  a row whose subject names no fund is shown only to users who may read every fund,
  like the records of actions that belong to no fund (console and system jobs).

The column is added in place (ALTER TABLE ... ADD COLUMN), so the append-only
triggers stay. A downgrade is refused once any record names a fund: dropping the
column would break the hash of every such record.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('audit_log', sa.Column('fund', sa.String(length=16), nullable=True))
    op.create_index(op.f('ix_audit_log_fund'), 'audit_log', ['fund'], unique=False)


def downgrade() -> None:
    named = op.get_bind().execute(
        sa.text("SELECT count(*) FROM audit_log WHERE fund IS NOT NULL")).scalar_one()
    if named:
        raise RuntimeError(f"{named} audit records name their fund and their hashes cover it; "
                           "dropping the column would break the audit chain")
    op.drop_index(op.f('ix_audit_log_fund'), table_name='audit_log')
    # In place on both databases (SQLite 3.35+), so the append-only triggers stay.
    op.execute("ALTER TABLE audit_log DROP COLUMN fund")

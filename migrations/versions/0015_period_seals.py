"""period seals: what a close sealed, so that the daily verify reads only the open part

A close now seals its period: the journal head, every account's closing balance (the
close's balance assertions) and every project's position at the end of the period are
hashed into one digest that the sealing audit record carries (``ledger.seals``). The
digest and what ``ledger verify`` needs beside the balance assertions are kept here:
``period_seals`` (one row per close) and ``sealed_grants`` (each project's position).
Both are append-only like the journal. Closes made before this revision have no seal;
``ledger verify`` re-derives the books from the first entry until a sealed close exists.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 12:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

TABLES = ("period_seals", "sealed_grants")


def upgrade() -> None:
    op.create_table('period_seals',
    sa.Column('close_id', sa.Integer(), nullable=False),
    sa.Column('fund_id', sa.Integer(), nullable=False),
    sa.Column('first_open_seq', sa.BigInteger(), nullable=False),
    sa.Column('grants', sa.Integer(), nullable=False),
    sa.Column('seal', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['close_id'], ['period_closes.id'],
                            name=op.f('fk_period_seals_close_id_period_closes')),
    sa.ForeignKeyConstraint(['fund_id'], ['funds.id'], name=op.f('fk_period_seals_fund_id_funds')),
    sa.PrimaryKeyConstraint('close_id', name=op.f('pk_period_seals'))
    )
    with op.batch_alter_table('period_seals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_period_seals_fund_id'), ['fund_id'], unique=False)
    op.create_table('sealed_grants',
    sa.Column('close_id', sa.Integer(), nullable=False),
    sa.Column('grant', sa.String(length=80), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('outstanding', sa.BigInteger(), nullable=False),
    sa.Column('paid', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['close_id'], ['period_closes.id'],
                            name=op.f('fk_sealed_grants_close_id_period_closes')),
    sa.PrimaryKeyConstraint('close_id', 'grant', name=op.f('pk_sealed_grants'))
    )
    # Append-only, like the journal and the closes (sf_refuse_change is revision 0001's).
    for table in TABLES:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION sf_refuse_change()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION sf_refuse_change()")
        else:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON "
                           f"{table} BEGIN SELECT RAISE(ABORT, 'append-only table {table}: "
                           f"{action} refused'); END")


def downgrade() -> None:
    for table in TABLES:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    op.drop_table('sealed_grants')
    with op.batch_alter_table('period_seals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_period_seals_fund_id'))
    op.drop_table('period_seals')

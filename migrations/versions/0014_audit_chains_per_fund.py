"""audit chains per fund: funds that never wait on each other

Every audited action appended to one chain, locking its single head row until the
transaction committed, so a posting in one fund waited for every other fund's open
transaction. Each fund now has its own chain, and actions of no fund have chain "";
only writes to the same chain take turns. ``audit verify`` checks every chain.

- ``audit_log`` gains ``chain`` and ``seq`` (the record's chain and its position there),
  added in place (ALTER TABLE ... ADD COLUMN) so the append-only triggers stay, with a
  unique index on the pair. Records written before keep NULL in both and are not
  touched: they are the start of chain "" and their position is their id -- the old
  global chain was exactly that -- so every one of them hashes and links as before.
- The record's global ``id`` is no longer assigned under the head lock: on PostgreSQL
  it comes from the sequence ``audit_log_id_seq`` (so ids may have gaps where a
  transaction rolled back; each chain is gap-free by ``seq``), on SQLite -- one writer
  at a time -- from max(id) + 1 inside the INSERT.
- ``audit_head`` (one row) becomes ``audit_chain_heads`` (one row per chain); the old
  head becomes the head of chain "", so the next record of no fund continues it.

A downgrade is refused once any record is in a fund's chain: one chain again would
break the links of every such record.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column('audit_log', sa.Column('chain', sa.String(length=16), nullable=True))
    op.add_column('audit_log', sa.Column('seq', sa.BigInteger(), nullable=True))
    op.create_index('ix_audit_log_chain_seq', 'audit_log', ['chain', 'seq'], unique=True)
    op.create_table('audit_chain_heads',
    sa.Column('chain', sa.String(length=16), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('chain', name=op.f('pk_audit_chain_heads'))
    )
    op.execute("INSERT INTO audit_chain_heads (chain, last_seq, last_id, last_hash) "
               "SELECT '', last_id, last_id, last_hash FROM audit_head WHERE id = 1")
    op.drop_table('audit_head')
    if bind.dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE audit_log_id_seq AS bigint OWNED BY audit_log.id")
        op.execute("SELECT setval('audit_log_id_seq', coalesce(max(id), 0) + 1, false) "
                   "FROM audit_log")


def downgrade() -> None:
    bind = op.get_bind()
    forked = bind.execute(sa.text(
        "SELECT count(*) FROM audit_log WHERE coalesce(chain, '') <> ''")).scalar_one()
    if forked:
        raise RuntimeError(f"{forked} audit records are in the chains of their funds; "
                           "one chain again would break the audit chain")
    moved = bind.execute(sa.text(
        "SELECT count(*) FROM audit_log WHERE seq IS NOT NULL AND seq <> id")).scalar_one()
    if moved:
        raise RuntimeError(f"{moved} audit records of no fund have a position other than "
                           "their id; one numbering again would break the audit chain")
    if bind.dialect.name == "postgresql":
        op.execute("DROP SEQUENCE audit_log_id_seq")
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_audit_head_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.execute("INSERT INTO audit_head (id, last_id, last_hash) "
               "SELECT 1, last_id, last_hash FROM audit_chain_heads "
               "WHERE chain = '' AND last_seq > 0")
    op.drop_table('audit_chain_heads')
    op.drop_index('ix_audit_log_chain_seq', table_name='audit_log')
    # In place on both databases (SQLite 3.35+), so the append-only triggers stay.
    op.execute("ALTER TABLE audit_log DROP COLUMN seq")
    op.execute("ALTER TABLE audit_log DROP COLUMN chain")

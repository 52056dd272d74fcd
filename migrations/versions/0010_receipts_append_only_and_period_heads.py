"""receipts append-only, period closes record the journal and audit heads

The receipt register becomes append-only like the journal: triggers refuse any
DELETE, and any UPDATE except voiding an issued receipt (state, void reason, when
and by whom). Each period close keeps the journal head (last entry number and hash)
and the audit record that sealed it (number and hash), so ``ledger verify`` can
tell when the newest records were removed and the heads rewound.

Columns are added with plain ALTER TABLE (no batch copy on SQLite): a table copy
would drop the append-only triggers of ``period_closes``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# Everything a receipt says; only voiding an issued receipt may change a row.
FIXED = ("id", "fund_id", "year", "number", "code", "donor_id", "entry_id", "amount",
         "purpose", "donated_on", "issued_at", "issued_by", "replaces_id")


def upgrade() -> None:
    op.add_column('period_closes', sa.Column('journal_seq', sa.BigInteger(), nullable=True))
    op.add_column('period_closes', sa.Column('journal_hash', sa.String(length=64), nullable=True))
    op.add_column('period_closes', sa.Column('audit_id', sa.BigInteger(), nullable=True))
    op.add_column('period_closes', sa.Column('audit_hash', sa.String(length=64), nullable=True))

    if op.get_bind().dialect.name == "postgresql":
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FIXED)
        op.execute(f"""
            CREATE FUNCTION sf_receipt_void_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'UPDATE' OR OLD.state <> 'issued' OR {changed} THEN
                    RAISE EXCEPTION 'receipt register: % refused (a receipt is only voided)',
                        TG_OP USING ERRCODE = 'restrict_violation';
                END IF;
                RETURN NEW;
            END $$""")
        op.execute("CREATE TRIGGER receipts_void_only BEFORE UPDATE OR DELETE ON receipts "
                   "FOR EACH ROW EXECUTE FUNCTION sf_receipt_void_only()")
        op.execute("CREATE TRIGGER receipts_no_truncate BEFORE TRUNCATE ON receipts "
                   "FOR EACH STATEMENT EXECUTE FUNCTION sf_refuse_change()")
        return
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FIXED)
    op.execute(f"CREATE TRIGGER receipts_no_update BEFORE UPDATE ON receipts "
               f"WHEN OLD.state <> 'issued' OR {changed} "
               "BEGIN SELECT RAISE(ABORT, 'receipt register: UPDATE refused "
               "(a receipt is only voided)'); END")
    op.execute("CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts "
               "BEGIN SELECT RAISE(ABORT, 'receipt register: DELETE refused'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS receipts_void_only ON receipts")
        op.execute("DROP TRIGGER IF EXISTS receipts_no_truncate ON receipts")
        op.execute("DROP FUNCTION IF EXISTS sf_receipt_void_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS receipts_no_update")
        op.execute("DROP TRIGGER IF EXISTS receipts_no_delete")
    op.drop_column('period_closes', 'audit_hash')
    op.drop_column('period_closes', 'audit_id')
    op.drop_column('period_closes', 'journal_hash')
    op.drop_column('period_closes', 'journal_seq')

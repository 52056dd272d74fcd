"""income and custody

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 02:25:51.029261
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fund_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('first_date', sa.Date(), nullable=False),
    sa.Column('last_date', sa.Date(), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['fund_id'], ['funds.id'], name=op.f('fk_bank_statements_fund_id_funds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statements')),
    sa.UniqueConstraint('fund_id', 'sha256', name=op.f('uq_bank_statements_fund_id_sha256'))
    )
    with op.batch_alter_table('bank_statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_statements_fund_id'), ['fund_id'], unique=False)

    op.create_table('donors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fund_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=True),
    sa.Column('id_number_ct', sa.LargeBinary(), nullable=True),
    sa.Column('id_hash', sa.String(length=64), nullable=True),
    sa.Column('id_masked', sa.String(length=18), nullable=True),
    sa.Column('publish', sa.String(length=10), nullable=False),
    sa.Column('contact', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('enterprise', 'individual')", name=op.f('ck_donors_kind')),
    sa.CheckConstraint("publish IN ('name', 'anonymous')", name=op.f('ck_donors_publish')),
    sa.ForeignKeyConstraint(['fund_id'], ['funds.id'], name=op.f('fk_donors_fund_id_funds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_donors')),
    sa.UniqueConstraint('fund_id', 'credit_code', name=op.f('uq_donors_fund_id_credit_code')),
    sa.UniqueConstraint('fund_id', 'id_hash', name=op.f('uq_donors_fund_id_id_hash'))
    )
    with op.batch_alter_table('donors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_donors_fund_id'), ['fund_id'], unique=False)

    op.create_table('receipt_series',
    sa.Column('fund_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['fund_id'], ['funds.id'], name=op.f('fk_receipt_series_fund_id_funds')),
    sa.PrimaryKeyConstraint('fund_id', 'year', name=op.f('pk_receipt_series'))
    )
    op.create_table('reconciliations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fund_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('bank_balance', sa.BigInteger(), nullable=False),
    sa.Column('ledger_balance', sa.BigInteger(), nullable=False),
    sa.Column('unmatched_lines', sa.Integer(), nullable=False),
    sa.Column('unmatched_entries', sa.Integer(), nullable=False),
    sa.Column('reconciled', sa.Boolean(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('computed_by', sa.String(length=120), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('override_by', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['fund_id'], ['funds.id'], name=op.f('fk_reconciliations_fund_id_funds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliations')),
    sa.UniqueConstraint('fund_id', 'period', name=op.f('uq_reconciliations_fund_id_period'))
    )
    with op.batch_alter_table('reconciliations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconciliations_fund_id'), ['fund_id'], unique=False)

    op.create_table('top_up_rules',
    sa.Column('fund_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=True),
    sa.Column('ratio', sa.Numeric(precision=6, scale=4), nullable=True),
    sa.Column('cap', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("kind = 'fixed' OR (ratio > 0 AND cap > 0)", name=op.f('ck_top_up_rules_ratio_and_cap')),
    sa.CheckConstraint("kind IN ('fixed', 'ratio')", name=op.f('ck_top_up_rules_kind')),
    sa.ForeignKeyConstraint(['fund_id'], ['funds.id'], name=op.f('fk_top_up_rules_fund_id_funds')),
    sa.PrimaryKeyConstraint('fund_id', name=op.f('pk_top_up_rules'))
    )
    op.create_table('allocation_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fund_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('doc_no', sa.String(length=80), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('proposed_by', sa.Integer(), nullable=True),
    sa.Column('proposed_by_name', sa.String(length=120), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_by_name', sa.String(length=120), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('proposed', 'confirmed', 'withdrawn')", name=op.f('ck_allocation_proposals_state')),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_allocation_proposals_decided_by_users')),
    sa.ForeignKeyConstraint(['fund_id'], ['funds.id'], name=op.f('fk_allocation_proposals_fund_id_funds')),
    sa.ForeignKeyConstraint(['proposed_by'], ['users.id'], name=op.f('fk_allocation_proposals_proposed_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_proposals'))
    )
    with op.batch_alter_table('allocation_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_proposals_fund_id'), ['fund_id'], unique=False)

    op.create_table('bank_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fund_id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=True),
    sa.Column('reference', sa.String(length=80), nullable=False),
    sa.Column('counterparty', sa.String(length=200), nullable=True),
    sa.Column('description', sa.String(length=400), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('matched_by', sa.String(length=120), nullable=True),
    sa.CheckConstraint("state IN ('unmatched', 'matched')", name=op.f('ck_bank_lines_state')),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_bank_lines_nonzero')),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_bank_lines_entry_id_journal_entries')),
    sa.ForeignKeyConstraint(['fund_id'], ['funds.id'], name=op.f('fk_bank_lines_fund_id_funds')),
    sa.ForeignKeyConstraint(['statement_id'], ['bank_statements.id'], name=op.f('fk_bank_lines_statement_id_bank_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_lines')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_bank_lines_entry_id')),
    sa.UniqueConstraint('fund_id', 'fingerprint', name=op.f('uq_bank_lines_fund_id_fingerprint'))
    )
    with op.batch_alter_table('bank_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_lines_date'), ['date'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_lines_fund_id'), ['fund_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_lines_statement_id'), ['statement_id'], unique=False)

    op.create_table('receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fund_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=True),
    sa.Column('donated_on', sa.Date(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=120), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_by', sa.String(length=120), nullable=True),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("state = 'issued' OR void_reason IS NOT NULL", name=op.f('ck_receipts_void_reason')),
    sa.CheckConstraint("state IN ('issued', 'voided')", name=op.f('ck_receipts_state')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_receipts_positive')),
    sa.ForeignKeyConstraint(['donor_id'], ['donors.id'], name=op.f('fk_receipts_donor_id_donors')),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_receipts_entry_id_journal_entries')),
    sa.ForeignKeyConstraint(['fund_id'], ['funds.id'], name=op.f('fk_receipts_fund_id_funds')),
    sa.ForeignKeyConstraint(['replaces_id'], ['receipts.id'], name=op.f('fk_receipts_replaces_id_receipts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts')),
    sa.UniqueConstraint('code', name=op.f('uq_receipts_code')),
    sa.UniqueConstraint('fund_id', 'year', 'number', name=op.f('uq_receipts_fund_id_year_number'))
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipts_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_receipts_fund_id'), ['fund_id'], unique=False)

    op.create_table('allocation_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_allocation_lines_positive')),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_allocation_lines_entry_id_journal_entries')),
    sa.ForeignKeyConstraint(['proposal_id'], ['allocation_proposals.id'], name=op.f('fk_allocation_lines_proposal_id_allocation_proposals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_lines'))
    )
    with op.batch_alter_table('allocation_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_lines_proposal_id'), ['proposal_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('allocation_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_lines_proposal_id'))

    op.drop_table('allocation_lines')
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipts_fund_id'))
        batch_op.drop_index(batch_op.f('ix_receipts_entry_id'))

    op.drop_table('receipts')
    with op.batch_alter_table('bank_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_lines_statement_id'))
        batch_op.drop_index(batch_op.f('ix_bank_lines_fund_id'))
        batch_op.drop_index(batch_op.f('ix_bank_lines_date'))

    op.drop_table('bank_lines')
    with op.batch_alter_table('allocation_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_proposals_fund_id'))

    op.drop_table('allocation_proposals')
    op.drop_table('top_up_rules')
    with op.batch_alter_table('reconciliations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconciliations_fund_id'))

    op.drop_table('reconciliations')
    op.drop_table('receipt_series')
    with op.batch_alter_table('donors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_donors_fund_id'))

    op.drop_table('donors')
    with op.batch_alter_table('bank_statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_statements_fund_id'))

    op.drop_table('bank_statements')

"""children's names kept as keyed hashes for screening; withdrawals from public view

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('name_length', sa.Integer(), nullable=True))
    with op.batch_alter_table('annual_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edition', sa.Integer(), server_default='1',
                                      nullable=False))

    op.create_table('withdrawals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fund_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('live', sa.Boolean(), nullable=True),
    sa.Column('proposed_by', sa.String(length=120), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_role', sa.String(length=20), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_role', sa.String(length=20), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('correction_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("state IN ('proposed', 'confirmed', 'cancelled')", name=op.f('ck_withdrawals_state')),
    sa.CheckConstraint("kind IN ('project', 'donation', 'engagement', 'annual-report', 'correction')", name=op.f('ck_withdrawals_kind')),
    sa.CheckConstraint('live OR live IS NULL', name=op.f('ck_withdrawals_live')),
    sa.ForeignKeyConstraint(['correction_id'], ['corrections.id'], name=op.f('fk_withdrawals_correction_id_corrections')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_withdrawals_decided_by_id_users')),
    sa.ForeignKeyConstraint(['fund_id'], ['funds.id'], name=op.f('fk_withdrawals_fund_id_funds')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_withdrawals_proposed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_withdrawals')),
    sa.UniqueConstraint('kind', 'target_id', 'live', name=op.f('uq_withdrawals_kind_target_id_live'))
    )
    with op.batch_alter_table('withdrawals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_withdrawals_fund_id'), ['fund_id'], unique=False)

    op.create_table('annual_editions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('edition', sa.Integer(), nullable=False),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.Column('ledger_head', sa.String(length=64), nullable=True),
    sa.Column('audit_head', sa.String(length=64), nullable=True),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawal_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['annual_reports.id'], name=op.f('fk_annual_editions_report_id_annual_reports')),
    sa.ForeignKeyConstraint(['withdrawal_id'], ['withdrawals.id'], name=op.f('fk_annual_editions_withdrawal_id_withdrawals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_editions')),
    sa.UniqueConstraint('report_id', 'edition', name=op.f('uq_annual_editions_report_id_edition'))
    )
    with op.batch_alter_table('annual_editions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annual_editions_report_id'), ['report_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('annual_editions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_annual_editions_report_id'))
    op.drop_table('annual_editions')
    with op.batch_alter_table('withdrawals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_withdrawals_fund_id'))
    op.drop_table('withdrawals')
    with op.batch_alter_table('annual_reports', schema=None) as batch_op:
        batch_op.drop_column('edition')
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.drop_column('name_length')
        batch_op.drop_column('name_hash')

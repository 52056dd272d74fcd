"""jobs: work longer than a page view, made by the worker

One row per job a user asked for (``jobs.models.Job``): what to make, for whom, how far
it got, and where its file is with the file's SHA-256. Nothing about a child is kept:
parameters are report names, fund codes, periods and formats.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-20 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('fund_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('progress', sa.String(length=200), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('error_params', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_path', sa.String(length=200), nullable=True),
    sa.Column('result_name', sa.String(length=200), nullable=True),
    sa.Column('result_type', sa.String(length=100), nullable=True),
    sa.Column('result_sha256', sa.String(length=64), nullable=True),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')",
                       name=op.f('ck_jobs_state')),
    sa.CheckConstraint("(state = 'done') = (result_sha256 IS NOT NULL)",
                       name=op.f('ck_jobs_result')),
    sa.CheckConstraint("(state = 'failed') = (error IS NOT NULL)", name=op.f('ck_jobs_error')),
    sa.CheckConstraint('attempts >= 1', name=op.f('ck_jobs_attempts')),
    sa.ForeignKeyConstraint(['fund_id'], ['funds.id'], name=op.f('fk_jobs_fund_id_funds')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_jobs_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_fund_id'), ['fund_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_jobs_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_table('jobs')

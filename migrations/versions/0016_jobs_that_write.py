"""jobs that write: a statement import's progress count and its outcome

A large bank statement is imported by the worker (``jobs.statement_import``): the job
shows how many lines it has stored (``progress_params``, the parameters of its progress
message) and, once done, what the import did (``outcome``: lines, matched, waiting, the
lines in a closed period). Both hold counts, line numbers and dates only.

Revision ID: 0016
Revises: 0015
Create Date: 2027-01-10 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('progress_params', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('outcome')
        batch_op.drop_column('progress_params')

"""api tokens remember who made them; only tokens their own user made open anything

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 09:00:00.000000

The first API release let an administrator, or the console, make a token for another
user. From now on a token opens the API only when its own user made it, so this column
is filled only for the tokens the audit log shows were made by their owner (a signed-in
user making their own); every other token keeps it empty and stops working.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_api_tokens_created_by_id_users'), 'users',
                                    ['created_by_id'], ['id'])
    op.execute(sa.text(
        "UPDATE api_tokens SET created_by_id = user_id WHERE EXISTS ("
        " SELECT 1 FROM audit_log a JOIN users u ON u.username = a.actor"
        " WHERE u.id = api_tokens.user_id AND a.action = 'api-token.create'"
        " AND a.subject_type = 'api-token'"
        " AND a.subject_id = CAST(api_tokens.id AS VARCHAR(20))"
        " AND a.role = u.role)"))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_tokens_created_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_column('created_by_id')

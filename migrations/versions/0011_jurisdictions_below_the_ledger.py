"""jurisdictions below the ledger: users belong to a jurisdiction, a fund is its books

People are domain and sit below the ledger (``people``): a jurisdiction's identity -- code,
names, level, the city above a county -- moves from ``funds`` into a new table
``jurisdictions``, with the same ids. ``funds`` keeps the books (chart, opening day, closed
periods, chain head) and its id becomes a foreign key to the jurisdiction's, so every table
that names a fund keeps naming it as before. ``users.fund_id`` becomes
``users.jurisdiction_id`` (the same values) and points at ``jurisdictions``.

SQLite cannot change a foreign key in place: ``funds`` and ``users`` are copied, which
``core.migrate`` allows by lifting foreign-key enforcement for the run and checking every
reference before the commit. PostgreSQL alters them in place; ``funds.id`` loses its own
sequence (the jurisdiction's makes the id).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-12 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

IDENTITY = ("code", "name_zh", "name_en", "level", "parent_id")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table('jurisdictions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name_zh', sa.String(length=80), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("level IN ('city', 'county')", name=op.f('ck_jurisdictions_level')),
    sa.ForeignKeyConstraint(['parent_id'], ['jurisdictions.id'], name=op.f('fk_jurisdictions_parent_id_jurisdictions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jurisdictions')),
    sa.UniqueConstraint('code', name=op.f('uq_jurisdictions_code'))
    )
    # Parents after every row exists: a county may have been opened before its city's id.
    op.execute("INSERT INTO jurisdictions (id, code, name_zh, name_en, level, parent_id) "
               "SELECT id, code, name_zh, name_en, level, NULL FROM funds")
    op.execute("UPDATE jurisdictions SET parent_id = "
               "(SELECT f.parent_id FROM funds f WHERE f.id = jurisdictions.id)")
    if postgresql:
        op.execute("SELECT setval(pg_get_serial_sequence('jurisdictions', 'id'), "
                   "COALESCE((SELECT MAX(id) FROM jurisdictions), 0) + 1, false)")
        op.execute("ALTER TABLE funds ALTER COLUMN id DROP DEFAULT")
        op.execute("DROP SEQUENCE IF EXISTS funds_id_seq")

    with op.batch_alter_table('funds', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_funds_parent_id_funds'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_funds_code'), type_='unique')
        batch_op.drop_constraint(batch_op.f('ck_funds_level'), type_='check')
        for column in IDENTITY:
            batch_op.drop_column(column)
        batch_op.create_foreign_key(batch_op.f('fk_funds_id_jurisdictions'), 'jurisdictions',
                                    ['id'], ['id'])

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_fund_id'))
        batch_op.drop_constraint(batch_op.f('fk_users_fund_id_funds'), type_='foreignkey')
        batch_op.alter_column('fund_id', new_column_name='jurisdiction_id',
                              existing_type=sa.Integer(), existing_nullable=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_jurisdiction_id'), ['jurisdiction_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_users_jurisdiction_id_jurisdictions'),
                                    'jurisdictions', ['jurisdiction_id'], ['id'])


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_jurisdiction_id_jurisdictions'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_users_jurisdiction_id'))
        batch_op.alter_column('jurisdiction_id', new_column_name='fund_id',
                              existing_type=sa.Integer(), existing_nullable=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_fund_id'), ['fund_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_users_fund_id_funds'), 'funds',
                                    ['fund_id'], ['id'])

    with op.batch_alter_table('funds', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_funds_id_jurisdictions'), type_='foreignkey')
        batch_op.add_column(sa.Column('code', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('name_zh', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('name_en', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('level', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
    op.execute("UPDATE funds SET " + ", ".join(
        f"{column} = (SELECT j.{column} FROM jurisdictions j WHERE j.id = funds.id)"
        for column in IDENTITY))
    with op.batch_alter_table('funds', schema=None) as batch_op:
        for column, length in (("code", 16), ("name_zh", 80), ("name_en", 120), ("level", 10)):
            batch_op.alter_column(column, existing_type=sa.String(length=length),
                                  nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_funds_code'), ['code'])
        batch_op.create_check_constraint(batch_op.f('ck_funds_level'),
                                         "level IN ('city', 'county')")
        batch_op.create_foreign_key(batch_op.f('fk_funds_parent_id_funds'), 'funds',
                                    ['parent_id'], ['id'])
    if postgresql:
        op.execute("CREATE SEQUENCE funds_id_seq OWNED BY funds.id")
        op.execute("SELECT setval('funds_id_seq', COALESCE((SELECT MAX(id) FROM funds), 0) + 1, "
                   "false)")
        op.execute("ALTER TABLE funds ALTER COLUMN id SET DEFAULT nextval('funds_id_seq')")
    op.drop_table('jurisdictions')

"""A case records that the party waived in writing its rights to state, defend and ask for a hearing
(行政处罚法 Arts 44, 63): the case file and the penalty decision say so. Existing cases: false (the waiver,
where given, stays in their history).

Revision ID: f3a1c2d4e5b6
Revises: dabb6e1aadfc
Create Date: 2026-11-30 03:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3a1c2d4e5b6'
down_revision = 'dabb6e1aadfc'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rights_waived', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('rights_waived')

"""Accounts: profile fields, avatars, email verification and password-reset state.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 20:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('display_name', sa.String(length=64), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('bio_html', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('location', sa.String(length=100), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('website', sa.String(length=200), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('avatar_version', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(), nullable=True))
    # Accounts that exist now keep their notification email: they count as verified.
    op.execute("UPDATE users SET email_verified_at = created_at")

    op.create_table('avatars',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_avatars_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_avatars'))
    )


def downgrade():
    op.drop_table('avatars')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('avatar_version')
        batch_op.drop_column('website')
        batch_op.drop_column('location')
        batch_op.drop_column('bio_html')
        batch_op.drop_column('display_name')
        batch_op.drop_column('email_verified_at')

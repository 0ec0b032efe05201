"""Triage: claims on threads and what the queue keeps per thread.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 20:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('triage_items',
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('is_open', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('waiting_since', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('reopened_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_triage_items_thread_id_threads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('thread_id', name=op.f('pk_triage_items'))
    )
    with op.batch_alter_table('triage_items', schema=None) as batch_op:
        batch_op.create_index('ix_triage_items_open_waiting', ['is_open', 'waiting_since', 'thread_id'], unique=False)

    op.create_table('triage_claims',
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_triage_claims_thread_id_threads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_triage_claims_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('thread_id', name=op.f('pk_triage_claims'))
    )
    with op.batch_alter_table('triage_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_triage_claims_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('triage_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_triage_claims_user_id'))
    op.drop_table('triage_claims')
    with op.batch_alter_table('triage_items', schema=None) as batch_op:
        batch_op.drop_index('ix_triage_items_open_waiting')
    op.drop_table('triage_items')

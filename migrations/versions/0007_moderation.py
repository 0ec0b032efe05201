"""Moderation: flags, the audit log, why things were hidden or locked, duplicates and merges,
held posts, suspension reasons and blocked channel identities.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 19:56:36.836530

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target_kind', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_entries_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index('ix_audit_action_created', ['action', 'created_at'], unique=False)
        batch_op.create_index('ix_audit_actor_created', ['actor_id', 'created_at'], unique=False)
        batch_op.create_index('ix_audit_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_audit_target', ['target_kind', 'target_id'], unique=False)

    op.create_table('flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('flagger_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], name=op.f('fk_flags_comment_id_comments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['threads.id'], name=op.f('fk_flags_duplicate_of_id_threads'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['flagger_id'], ['users.id'], name=op.f('fk_flags_flagger_id_users')),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_flags_post_id_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_flags_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flags'))
    )
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.create_index('ix_flags_comment_status', ['comment_id', 'status'], unique=False)
        batch_op.create_index('ix_flags_flagger_created', ['flagger_id', 'created_at'], unique=False)
        batch_op.create_index('ix_flags_post_status', ['post_id', 'status'], unique=False)
        batch_op.create_index('ix_flags_status_created', ['status', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_flags_status_id', ['status', 'id'], unique=False)

    with op.batch_alter_table('bridge_identities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_blocked', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden_reason', sa.Text(), server_default='', nullable=False))

    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden_reason', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('is_pending', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden_reason', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('locked_reason', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('duplicate_of_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_threads_duplicate_of_id_threads'), 'threads', ['duplicate_of_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_threads_merged_into_id_threads'), 'threads', ['merged_into_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_threads_duplicate_of_id'), ['duplicate_of_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_threads_merged_into_id'), ['merged_into_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspension_reason', sa.Text(), server_default='', nullable=False))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('suspension_reason')

    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_threads_merged_into_id'))
        batch_op.drop_index(batch_op.f('ix_threads_duplicate_of_id'))
        batch_op.drop_constraint(batch_op.f('fk_threads_merged_into_id_threads'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_threads_duplicate_of_id_threads'), type_='foreignkey')
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('duplicate_of_id')
        batch_op.drop_column('locked_reason')
        batch_op.drop_column('hidden_reason')

    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_column('is_pending')
        batch_op.drop_column('hidden_reason')

    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('hidden_reason')

    with op.batch_alter_table('bridge_identities', schema=None) as batch_op:
        batch_op.drop_column('is_blocked')

    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.drop_index('ix_flags_status_id')
        batch_op.drop_index('ix_flags_status_created')
        batch_op.drop_index('ix_flags_post_status')
        batch_op.drop_index('ix_flags_flagger_created')
        batch_op.drop_index('ix_flags_comment_status')

    op.drop_table('flags')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_target')
        batch_op.drop_index('ix_audit_created')
        batch_op.drop_index('ix_audit_actor_created')
        batch_op.drop_index('ix_audit_action_created')

    op.drop_table('audit_entries')

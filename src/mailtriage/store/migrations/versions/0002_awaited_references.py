"""awaited references: Message-IDs a staff mail answers before the customer's mail arrived

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:29:54.943890
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import mailtriage.store.models

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('awaited_references',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=998), nullable=False),
    sa.Column('created_at', mailtriage.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_awaited_references_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_awaited_references'))
    )
    with op.batch_alter_table('awaited_references', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_awaited_references_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_awaited_references_ref'), ['ref'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('awaited_references', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_awaited_references_ref'))
        batch_op.drop_index(batch_op.f('ix_awaited_references_message_id'))

    op.drop_table('awaited_references')

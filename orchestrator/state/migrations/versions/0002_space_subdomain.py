"""spaces.subdomain: the app host's label, unique and indexed

The proxy looks a Space up by the label of its app host (``{owner}-{name}``, lower case, ``_`` and ``.``
as ``-``); this stores that label so the lookup is an index probe instead of a scan.

Different ids can share a label (``a-b/c`` and ``a/b-c``). Creation and moves refuse that from now on,
but a database may already hold such pairs: the oldest Space keeps the label and the others get
``NULL`` (a unique index allows many), so the upgrade never fails on existing data. Those Spaces keep
their API and repository; their app host was already answering for the other Space, and moving them to
a free name gives them one again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:00:00.000000
"""

import logging
import re

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def _subdomain(owner: str, name: str) -> str:
    """``orchestrator.naming.subdomain`` as it was when this migration was written (migrations are
    history: a later change of the rule comes with a migration of its own)."""
    return re.sub(r"[_.]", "-", f"{owner}-{name}".lower())


def upgrade() -> None:
    with op.batch_alter_table("spaces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subdomain", sa.String(length=161), nullable=True))

    spaces = sa.table(
        "spaces",
        sa.column("id", sa.String),
        sa.column("owner", sa.String),
        sa.column("name", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("subdomain", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(spaces.c.id, spaces.c.owner, spaces.c.name).order_by(spaces.c.created_at, spaces.c.id)
    ).all()
    holders: dict[str, str] = {}
    for space_pk, owner, name in rows:
        label = _subdomain(owner, name)
        if label in holders:
            log.warning(
                "Space %s/%s has the app address %r of an older Space (%s): it gets none until it is"
                " moved to another name.",
                owner,
                name,
                label,
                holders[label],
            )
            continue
        holders[label] = f"{owner}/{name}"
        bind.execute(spaces.update().where(spaces.c.id == space_pk).values(subdomain=label))

    with op.batch_alter_table("spaces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spaces_subdomain"), ["subdomain"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("spaces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spaces_subdomain"))
        batch_op.drop_column("subdomain")

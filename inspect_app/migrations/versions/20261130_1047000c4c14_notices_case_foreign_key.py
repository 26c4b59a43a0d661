"""notices.case_id becomes a foreign key to cases.id (ON DELETE RESTRICT: a case with notices is never deleted).

Until now the column had no constraint: the demo issued its case notices from stand-in cases with negative
ids (-1, -2, -3) that exist in no table, before the cases table existed. Adding the constraint would fail on
such a database, so first every notice whose case_id names no case (negative or dangling) gets case_id NULL.
Only that column changes: the notice keeps its inspection, entity, number, frozen snapshot (which still
records the id it was issued with) and PDF, so it stays verifiable and listed on its entity and inspection.
Each change is written to the hash-chained audit log (actor "migration 1047000c4c14", action "update",
before/after case_id), as an ORM update would be. The downgrade drops the constraint and does not bring the
old ids back.

Revision ID: 1047000c4c14
Revises: cd87ffcf8629
Create Date: 2026-11-30 01:59:57.161151

"""
from datetime import datetime, timezone

from alembic import context, op
import sqlalchemy as sa

import inspect_app.util


# revision identifiers, used by Alembic.
revision = '1047000c4c14'
down_revision = 'cd87ffcf8629'
branch_labels = None
depends_on = None

ACTOR = f"migration {revision}"
notices = sa.table("notices", sa.column("id", sa.Integer()), sa.column("case_id", sa.Integer()))
cases = sa.table("cases", sa.column("id", sa.Integer()))
# the audit tables as this revision knows them (not the models, which may grow columns later)
audit_heads = sa.table("audit_heads", sa.column("id", sa.Integer()), sa.column("last_seq", sa.BigInteger()),
                       sa.column("last_hash", sa.String(64)))
audit_events = sa.table(
    "audit_events", sa.column("seq", sa.BigInteger()), sa.column("created_dt", inspect_app.util.UTCDateTime()),
    sa.column("actor_id", sa.Integer()), sa.column("actor", sa.String(80)), sa.column("action", sa.String(60)),
    sa.column("object_type", sa.String(60)), sa.column("object_id", sa.String(80)), sa.column("before", sa.JSON()),
    sa.column("after", sa.JSON()), sa.column("client_addr", sa.String(64)), sa.column("prev_hash", sa.String(64)),
    sa.column("hash", sa.String(64)))


def _detach_dangling_case_ids():
    """case_id NULL where it names no case; returns [(notice id, old case id)]."""
    orphan = sa.and_(notices.c.case_id.is_not(None), notices.c.case_id.not_in(sa.select(cases.c.id)))
    if context.is_offline_mode():
        op.execute(sa.update(notices).where(orphan).values(case_id=None))
        return []
    conn = op.get_bind()
    rows = conn.execute(sa.select(notices.c.id, notices.c.case_id).where(orphan).order_by(notices.c.id)).all()
    if rows:
        conn.execute(sa.update(notices).where(notices.c.id.in_([r.id for r in rows])).values(case_id=None))
    return [(r.id, r.case_id) for r in rows]


def _audit(changes):
    """Append one update event per notice to the audit chain (the chain's own hash function)."""
    from inspect_app.audit.services import event_hash
    conn = op.get_bind()
    head = conn.execute(sa.select(audit_heads.c.last_seq, audit_heads.c.last_hash)
                        .where(audit_heads.c.id == 1).with_for_update()).one()
    seq, prev = head.last_seq, head.last_hash
    created = datetime.now(timezone.utc)
    for notice_id, old_case_id in changes:
        seq += 1
        values = {"seq": seq, "created_dt": created, "actor_id": None, "actor": ACTOR, "action": "update",
                  "object_type": "notices", "object_id": str(notice_id), "before": {"case_id": old_case_id},
                  "after": {"case_id": None}, "client_addr": None, "prev_hash": prev}
        values["hash"] = prev = event_hash(values)
        conn.execute(sa.insert(audit_events).values(**values))
    conn.execute(sa.update(audit_heads).where(audit_heads.c.id == 1).values(last_seq=seq, last_hash=prev))


def upgrade():
    changes = _detach_dangling_case_ids()
    if changes:
        _audit(changes)
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_notices_case_id_cases'), 'cases', ['case_id'], ['id'],
                                    ondelete='RESTRICT')


def downgrade():
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notices_case_id_cases'), type_='foreignkey')

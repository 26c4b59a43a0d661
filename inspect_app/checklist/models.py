"""Pinned checklist versions: what an inspection checked, frozen, whatever the YAML says later."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..util import UTCDateTime, now_utc


class ChecklistVersion(db.Model):
    """The content of one version of a checklist, keyed by its code and the SHA-256 of that content.

    Rows are written once by :func:`pin_checklist` and never changed: an inspection refers to one, so
    that editing ``checklists/*.yaml`` cannot change what a past inspection asked or cited.
    """

    __tablename__ = "checklist_versions"
    __table_args__ = (sa.UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(120))  # the unique (code, version) index serves lookups
    version: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[dict] = mapped_column(sa.JSON)
    item_count: Mapped[int]
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    def __repr__(self) -> str:
        return f"<ChecklistVersion {self.code} {self.version[:12]}>"


@event.listens_for(ChecklistVersion, "before_update")
def _refuse_update(mapper, connection, target):
    raise RuntimeError(f"{target!r} is pinned and may not change")

"""Pinned checklist and violation-catalogue versions: what an inspection checked and cited, frozen,
whatever the YAML says later."""
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


class ViolationCatalogueVersion(db.Model):
    """The whole violation catalogue as it was when an inspection started, keyed by its SHA-256.

    A pinned checklist carries the entries its items raise; this row carries every other entry too (a
    violation recorded without an item, of a type another department's checklist raises), so that a
    past violation's title, penalty range and deadline never follow a later edit of
    ``checklists/violation_types.yaml``. Written once by :func:`pin_violation_catalogue`, never changed.
    """

    __tablename__ = "violation_catalogue_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(sa.String(64), unique=True)
    content: Mapped[dict] = mapped_column(sa.JSON)
    entry_count: Mapped[int]
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    def __repr__(self) -> str:
        return f"<ViolationCatalogueVersion {self.version[:12]}>"


@event.listens_for(ViolationCatalogueVersion, "before_update")
def _refuse_catalogue_update(mapper, connection, target):
    raise RuntimeError(f"{target!r} is pinned and may not change")

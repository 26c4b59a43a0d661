"""Inspections and their teams. Planning creates them (drawn or by cause); the field-inspection
area adds check-in, answers, evidence and completion."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..util import UTCDateTime, now_utc

ORIGINS = ("random", "cause", "follow_up", "manual")
INSPECTION_STATUSES = ("planned", "in_progress", "completed", "cancelled")


class Inspection(db.Model):
    __tablename__ = "inspections"
    __table_args__ = (sa.Index("ix_inspections_date_status", "scheduled_date", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(sa.ForeignKey("entities.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    # random = drawn; cause = 有因检查 (tip-off, complaint, previous violation), never counted as random
    origin: Mapped[str] = mapped_column(sa.String(20))
    cause_note: Mapped[str | None] = mapped_column(sa.String(1000))
    scheduled_date: Mapped[date | None]
    team_day: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    route_position: Mapped[int | None]
    region_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    lead_department: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(20), default="planned")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    members: Mapped[list[InspectionMember]] = relationship(back_populates="inspection",
                                                           cascade="all, delete-orphan",
                                                           order_by="InspectionMember.position")
    entity = relationship("Entity")

    @property
    def access_region_code(self) -> str:
        return self.region_code

    @property
    def access_department_code(self) -> str:
        return self.lead_department


class InspectionMember(db.Model):
    """An officer of the inspection's team (行政处罚法 Art 42: at least two with credentials)."""

    __tablename__ = "inspection_members"
    __table_args__ = (sa.UniqueConstraint("inspection_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    department_code: Mapped[str] = mapped_column(sa.String(40))
    position: Mapped[int] = mapped_column(default=0)

    inspection: Mapped[Inspection] = relationship(back_populates="members")
    user = relationship("User")

"""Campaigns (专项行动), their verifiable draws, and what the draw must respect (recusal, leave)."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..util import JSONColumn, UTCDateTime, now_utc

CAMPAIGN_STATUSES = ("draft", "committed", "drawn", "published", "in_progress", "closed")


class Campaign(db.Model):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    lead_department: Mapped[str] = mapped_column(sa.String(40))
    departments: Mapped[list] = mapped_column(sa.JSON)
    kinds: Mapped[list] = mapped_column(sa.JSON)
    region_codes: Mapped[list] = mapped_column(sa.JSON)
    start_date: Mapped[date]
    end_date: Mapped[date]
    sample_rate: Mapped[float | None]
    sample_size: Mapped[int | None]
    risk_tiers: Mapped[list] = mapped_column(sa.JSON, default=list)
    team_size: Mapped[int] = mapped_column(default=2)
    max_per_team_day: Mapped[int] = mapped_column(default=6)
    recusal_months: Mapped[int] = mapped_column(default=12, server_default="12")
    seed_commitment: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(20), default="draft")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    published_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())  # announced (一公开)
    started_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the first inspection began
    closed_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())

    draw: Mapped[Draw | None] = relationship(back_populates="campaign", uselist=False)

    access_region_code = None  # campaigns are the joint office's, city-wide

    @property
    def access_department_code(self) -> str:
        return self.lead_department


class Draw(db.Model):
    """The frozen inputs (at commitment) and the outcome (at the draw) of a double-random draw.

    ``record`` is the published record: everything needed to re-compute the draw, nothing
    personal (user ids and departments only, unavailability without reasons)."""

    __tablename__ = "draws"
    # The record (the whole population) and the result are bound by their hashes, which are audited.
    __audit_redact__ = {"record", "result"}

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), unique=True)
    algorithm: Mapped[str] = mapped_column(sa.String(40))
    population_hash: Mapped[str] = mapped_column(sa.String(64))
    population_size: Mapped[int]
    inputs_hash: Mapped[str] = mapped_column(sa.String(64))
    record: Mapped[dict] = mapped_column(JSONColumn)
    seed_commitment: Mapped[str] = mapped_column(sa.String(64))
    committed_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    seed: Mapped[str | None] = mapped_column(sa.String(200))
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    result_hash: Mapped[str | None] = mapped_column(sa.String(64))
    drawn_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    drawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    campaign: Mapped[Campaign] = relationship(back_populates="draw")


class InspectorConflict(db.Model):
    """A declared conflict of interest (relative, former employer ...): recusal from the entity."""

    __tablename__ = "inspector_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    entity_id: Mapped[int | None] = mapped_column(sa.ForeignKey("entities.id"), index=True)
    legal_representative: Mapped[str | None] = mapped_column(sa.String(100))
    reason: Mapped[str] = mapped_column(sa.String(500))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


class InspectorLeave(db.Model):
    __tablename__ = "inspector_leaves"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    start_date: Mapped[date]
    end_date: Mapped[date]
    note: Mapped[str | None] = mapped_column(sa.String(200))

"""The registry: entities (agencies and venues), their licences, status history, and the
reference lists the entry gate consults (sensitive sites, blacklist)."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..util import UTCDateTime, now_utc, postgresql_only

ENTITY_STATUSES = ("pending", "active", "suspended", "revoked", "closed", "banned", "unlicensed", "rejected")
LICENCE_STATUSES = ("valid", "suspended", "revoked", "cancelled", "expired")
CRS_VALUES = ("wgs84", "gcj02", "bd09")


class Entity(db.Model):
    """A job agency, marriage agency or entertainment venue (or an illegal operator found in the field)."""

    __tablename__ = "entities"
    __table_args__ = (
        sa.Index("ix_entities_lat_lon", "lat", "lon"),
        sa.Index("ix_entities_kind_region_status", "kind", "region_code", "status"),
        # Substring search (ILIKE '%q%', Chinese included; a code's prefix) on PostgreSQL: pg_trgm indexes
        *(postgresql_only(sa.Index(f"ix_entities_{column}_trgm", column, postgresql_using="gin",
                                   postgresql_ops={column: "gin_trgm_ops"}))
          for column in ("name", "legal_representative", "address", "credit_code")),
        sa.Index("ix_entities_updated_id", "updated_dt", "id"),  # the lists' default order (newest first)
        sa.CheckConstraint("credit_code IS NOT NULL OR status IN ('unlicensed', 'banned', 'closed')",
                           name="code_or_unlicensed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    subtype: Mapped[str | None] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    credit_code: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    legal_representative: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    # The representative's ID number: HMAC for blacklist matching, masked for display, never clear.
    legal_rep_id_hmac: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    legal_rep_id_masked: Mapped[str | None] = mapped_column(sa.String(18))
    address: Mapped[str] = mapped_column(sa.String(300))
    region_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    crs: Mapped[str | None] = mapped_column(sa.String(8))
    location_source: Mapped[str | None] = mapped_column(sa.String(20))
    location_precision_m: Mapped[float | None]
    is_outside_city: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    risk_score: Mapped[int] = mapped_column(default=0, server_default="0", index=True)
    risk_factors: Mapped[list] = mapped_column(sa.JSON, default=list)
    attributes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc, onupdate=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    licences: Mapped[list[Licence]] = relationship(back_populates="entity", order_by="Licence.expires_on",
                                                   cascade="all, delete-orphan")
    status_changes: Mapped[list[StatusChange]] = relationship(
        back_populates="entity", order_by="StatusChange.created_dt.desc()", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Entity {self.id} {self.kind} {self.name}>"

    @property
    def access_region_code(self) -> str:
        return self.region_code

    access_department_code = None


class Licence(db.Model):
    __tablename__ = "licences"
    __table_args__ = (sa.UniqueConstraint("type", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(sa.ForeignKey("entities.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(sa.String(40))
    number: Mapped[str] = mapped_column(sa.String(60))
    department: Mapped[str] = mapped_column(sa.String(40))
    issued_on: Mapped[date | None]
    expires_on: Mapped[date | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="valid")
    status_reason: Mapped[str | None] = mapped_column(sa.String(500))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    entity: Mapped[Entity] = relationship(back_populates="licences")

    @property
    def access_region_code(self) -> str:
        return self.entity.region_code

    access_department_code = None

    def is_current(self, on: date) -> bool:
        return self.status == "valid" and (self.expires_on is None or self.expires_on >= on)


class StatusChange(db.Model):
    """One step of an entity's lifecycle, with its reason and legal basis."""

    __tablename__ = "entity_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(sa.ForeignKey("entities.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str] = mapped_column(sa.String(1000))
    legal_basis: Mapped[str | None] = mapped_column(sa.String(500))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    entity: Mapped[Entity] = relationship(back_populates="status_changes")


class SensitiveSite(db.Model):
    """A school, kindergarten, hospital or government organ near which venues may not open."""

    __tablename__ = "sensitive_sites"
    __table_args__ = (sa.Index("ix_sensitive_sites_lat_lon", "lat", "lon"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_kind: Mapped[str] = mapped_column(sa.String(30), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    region_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    lat: Mapped[float]
    lon: Mapped[float]
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


class BlacklistEntry(db.Model):
    """An entity (by credit code) or a person (by ID-number HMAC) barred from market entry."""

    __tablename__ = "blacklist_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(sa.String(10))  # entity | person
    credit_code: Mapped[str | None] = mapped_column(sa.String(18), index=True)
    person_id_hmac: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    person_id_masked: Mapped[str | None] = mapped_column(sa.String(18))
    name: Mapped[str] = mapped_column(sa.String(200))
    reason: Mapped[str] = mapped_column(sa.String(1000))
    legal_basis: Mapped[str] = mapped_column(sa.String(500))
    # 娱乐场所管理条例 第5条 bars persons with certain records from opening or working in venues
    bars_venue_work: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    until: Mapped[date | None]
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


class EntryCheck(db.Model):
    """The entry gate's findings for one application, kept with the decision."""

    __tablename__ = "entry_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(200))
    credit_code: Mapped[str | None] = mapped_column(sa.String(18))
    region_code: Mapped[str | None] = mapped_column(sa.String(6))
    decision: Mapped[str] = mapped_column(sa.String(10))
    findings: Mapped[list] = mapped_column(sa.JSON, default=list)
    entity_id: Mapped[int | None] = mapped_column(sa.ForeignKey("entities.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

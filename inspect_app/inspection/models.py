"""Inspections and everything recorded on site.

Planning creates inspections (drawn or by cause; a planner may add one by hand). In the field the
team attests the legal formalities, checks in, answers the pinned checklists, attaches evidence,
records violations (a suspected crime opens an urgent police referral), signs and completes. A
completed inspection is frozen: its rows refuse changes, and corrections are amendments.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..util import UTCDateTime, now_utc

ORIGINS = ("random", "cause", "follow_up", "manual")
INSPECTION_STATUSES = ("planned", "in_progress", "completed", "cancelled")
# What the completed inspection found (published in 一公开 without personal data).
OUTCOMES = ("compliant", "violations", "referred", "closed_premises", "refused_entry")
ANSWER_RESULTS = ("pass", "fail", "na")
SIGNATURE_ROLES = ("officer", "party", "witness")
REFERRAL_KINDS = ("criminal", "case", "victim_relief")
REFERRAL_STATUSES = ("pending", "sent", "acknowledged", "outcome_recorded", "cancelled")


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
    # On site
    started_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    party_name: Mapped[str | None] = mapped_column(sa.String(100))  # the party's representative present
    party_role: Mapped[str | None] = mapped_column(sa.String(100))  # e.g. 法定代表人, 店长
    completed_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(sa.String(20))
    # The frozen record (plain JSON) and the SHA-256 of its canonical form, written at completion.
    record: Mapped[dict | None] = mapped_column(sa.JSON)
    record_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    # For a follow-up (re-inspection): the inspection it follows and the items it must cover.
    follows_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inspections.id"), index=True)
    focus_items: Mapped[list | None] = mapped_column(sa.JSON)
    # The violation catalogue pinned at the start (its SHA-256): what a past violation's title, penalty
    # range and deadline are read from, whatever checklists/violation_types.yaml says later.
    catalogue_version: Mapped[str | None] = mapped_column(
        sa.String(64), sa.ForeignKey("violation_catalogue_versions.version"))

    members: Mapped[list[InspectionMember]] = relationship(back_populates="inspection",
                                                           cascade="all, delete-orphan",
                                                           order_by="InspectionMember.position")
    entity = relationship("Entity")
    checklists: Mapped[list[InspectionChecklist]] = relationship(back_populates="inspection",
                                                                 cascade="all, delete-orphan",
                                                                 order_by="InspectionChecklist.position")
    attestations: Mapped[list[Attestation]] = relationship(back_populates="inspection", cascade="all, delete-orphan",
                                                           order_by="Attestation.id")
    checkins: Mapped[list[CheckIn]] = relationship(back_populates="inspection", cascade="all, delete-orphan",
                                                   order_by="CheckIn.id")
    answers: Mapped[list[Answer]] = relationship(back_populates="inspection", cascade="all, delete-orphan",
                                                 order_by="Answer.id")
    evidence: Mapped[list[Evidence]] = relationship(back_populates="inspection", cascade="all, delete-orphan",
                                                    order_by="Evidence.id")
    violations: Mapped[list[Violation]] = relationship(back_populates="inspection", cascade="all, delete-orphan",
                                                       order_by="Violation.id")
    signatures: Mapped[list[Signature]] = relationship(back_populates="inspection", cascade="all, delete-orphan",
                                                       order_by="Signature.id")
    amendments: Mapped[list[Amendment]] = relationship(back_populates="inspection", cascade="all, delete-orphan",
                                                       order_by="Amendment.id")

    @property
    def is_completed(self) -> bool:
        return self.status == "completed"

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


class InspectionChecklist(db.Model):
    """A checklist version pinned to the inspection when it starts (answers refer to its items)."""

    __tablename__ = "inspection_checklists"
    __table_args__ = (sa.UniqueConstraint("inspection_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    checklist_version_id: Mapped[int] = mapped_column(sa.ForeignKey("checklist_versions.id"))
    code: Mapped[str] = mapped_column(sa.String(60))
    version: Mapped[str] = mapped_column(sa.String(64))
    position: Mapped[int] = mapped_column(default=0)

    inspection: Mapped[Inspection] = relationship(back_populates="checklists")


class Attestation(db.Model):
    """An officer's confirmation of a formality, e.g. credentials shown and the right to ask for
    recusal explained (行政处罚法 Arts 42, 43, 55); the partner confirms with their own PIN or password."""

    __tablename__ = "inspection_attestations"
    __table_args__ = (sa.UniqueConstraint("inspection_id", "user_id", "statement"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    statement: Mapped[str] = mapped_column(sa.String(40))
    method: Mapped[str] = mapped_column(sa.String(20))  # session | password | pin
    credential_number: Mapped[str | None] = mapped_column(sa.String(40))
    attested_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    inspection: Mapped[Inspection] = relationship(back_populates="attestations")
    user = relationship("User")


class CheckIn(db.Model):
    """A position fix at the premises (WGS-84) with its accuracy, distance and plausibility flags."""

    __tablename__ = "inspection_checkins"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    lat: Mapped[float] = mapped_column(sa.Double)
    lon: Mapped[float] = mapped_column(sa.Double)
    accuracy_m: Mapped[float | None] = mapped_column(sa.Double)
    client_dt: Mapped[datetime] = mapped_column(UTCDateTime())  # when the device took the fix
    received_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    distance_m: Mapped[float | None] = mapped_column(sa.Double)  # None when the premises have no location
    flags: Mapped[list] = mapped_column(sa.JSON, default=list)  # far | no_accuracy | too_fast | no_location
    reason: Mapped[str | None] = mapped_column(sa.String(500))

    inspection: Mapped[Inspection] = relationship(back_populates="checkins")


class Answer(db.Model):
    """The answer to one item of a pinned checklist; saved as it is made, one row per item."""

    __tablename__ = "inspection_answers"
    __table_args__ = (sa.UniqueConstraint("inspection_id", "item_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    checklist_code: Mapped[str] = mapped_column(sa.String(60))
    item_code: Mapped[str] = mapped_column(sa.String(80))
    result: Mapped[str | None] = mapped_column(sa.String(8))  # pass | fail | na
    value: Mapped[dict | list | str | float | None] = mapped_column(sa.JSON)  # number, text, roster summary
    note: Mapped[str | None] = mapped_column(sa.Text)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc, onupdate=now_utc)
    revision: Mapped[int] = mapped_column(default=1)

    inspection: Mapped[Inspection] = relationship(back_populates="answers")


class Evidence(db.Model):
    """A file checked by content and stored under INSPECT_DATA_DIR by the SHA-256 of the original."""

    __tablename__ = "evidence"
    __table_args__ = (sa.UniqueConstraint("inspection_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    item_code: Mapped[str | None] = mapped_column(sa.String(80))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    mime: Mapped[str] = mapped_column(sa.String(60))  # detected from the content
    size_bytes: Mapped[int]
    original_name: Mapped[str | None] = mapped_column(sa.String(255))
    stored_path: Mapped[str] = mapped_column(sa.String(300))  # relative to INSPECT_DATA_DIR
    thumb_path: Mapped[str | None] = mapped_column(sa.String(300))
    width: Mapped[int | None]
    height: Mapped[int | None]
    taken_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())  # EXIF DateTimeOriginal
    gps_lat: Mapped[float | None] = mapped_column(sa.Double)  # EXIF GPS, WGS-84
    gps_lon: Mapped[float | None] = mapped_column(sa.Double)
    caption: Mapped[str | None] = mapped_column(sa.String(500))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    inspection: Mapped[Inspection] = relationship(back_populates="evidence")


violation_evidence = sa.Table(
    "violation_evidence", db.metadata,
    sa.Column("violation_id", sa.ForeignKey("violations.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("evidence_id", sa.ForeignKey("evidence.id", ondelete="CASCADE"), primary_key=True),
)


class Violation(db.Model):
    """A confirmed violation of the catalogue (checklists/violation_types.yaml) found on site."""

    __tablename__ = "violations"
    __table_args__ = (sa.Index("ix_violations_entity_status", "entity_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    entity_id: Mapped[int] = mapped_column(sa.ForeignKey("entities.id"), index=True)
    item_code: Mapped[str | None] = mapped_column(sa.String(80))
    type_code: Mapped[str] = mapped_column(sa.String(60), index=True)
    acting_department: Mapped[str] = mapped_column(sa.String(40), index=True)
    severity: Mapped[str] = mapped_column(sa.String(10), default="medium")
    description: Mapped[str] = mapped_column(sa.Text)  # the facts as found
    # Inputs of the penalty range, e.g. {"persons": 2, "months": 3} for child labour
    quantities: Mapped[dict | None] = mapped_column(sa.JSON)
    criminal: Mapped[bool] = mapped_column(default=False)  # suspected crime: police referral within 24 h
    # Possible victims (minors, trafficked persons): only roles that need them see the details.
    restricted: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(20), default="open")  # open | withdrawn | closed
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    # The case (inspect_app.cases) the violation belongs to, set when the completed inspection forms its
    # cases; like ``status`` it may change after completion (the case is the follow-up, not the record).
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"), index=True)

    inspection: Mapped[Inspection] = relationship(back_populates="violations")
    entity = relationship("Entity")
    evidence: Mapped[list[Evidence]] = relationship(secondary=violation_evidence, order_by="Evidence.id")

    @property
    def access_region_code(self) -> str:
        return self.inspection.region_code

    @property
    def access_department_code(self) -> str:
        return self.acting_department


class Referral(db.Model):
    """A transfer out of the inspecting department: a suspected crime to police (24-hour clock), a case
    to the department with authority, or possible victims to civil affairs / the women's federation."""

    __tablename__ = "referrals"
    __table_args__ = (sa.Index("ix_referrals_to_status", "to_department", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # criminal | case | victim_relief
    from_department: Mapped[str] = mapped_column(sa.String(40))
    to_department: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[int] = mapped_column(sa.ForeignKey("entities.id"), index=True)
    inspection_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inspections.id"), index=True)
    violation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("violations.id"), index=True)
    urgent: Mapped[bool] = mapped_column(default=False)
    due_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())  # e.g. 24 h for a suspected crime
    reason: Mapped[str] = mapped_column(sa.Text)
    attachments: Mapped[list] = mapped_column(sa.JSON, default=list)  # [{"title", "pages"|"evidence_id"}]
    # Details of possible victims: an encrypted JSON token (checklist.roster encryption), never in clear
    restricted_data: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    sent_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(sa.Text)
    outcome_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())

    entity = relationship("Entity")
    inspection = relationship("Inspection")
    violation = relationship("Violation")

    @property
    def access_region_code(self) -> str:
        return self.entity.region_code

    @property
    def access_department_code(self) -> str:
        return self.to_department


class Signature(db.Model):
    """A signature drawn on screen (PNG kept with its SHA-256), or the party's recorded refusal.

    ``slot`` makes each signature unique per inspection: ``officer:<user id>``, ``party``, ``witness``.
    """

    __tablename__ = "inspection_signatures"
    __table_args__ = (sa.UniqueConstraint("inspection_id", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    slot: Mapped[str] = mapped_column(sa.String(40))
    role: Mapped[str] = mapped_column(sa.String(10))  # officer | party | witness
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(sa.String(100))
    refused: Mapped[bool] = mapped_column(default=False)  # the party refused to sign (a witness signs)
    note: Mapped[str | None] = mapped_column(sa.String(500))
    image_png: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    signed_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    inspection: Mapped[Inspection] = relationship(back_populates="signatures")


class Amendment(db.Model):
    """A correction to a completed inspection: the record stays as it was; this says what changed and why."""

    __tablename__ = "inspection_amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    changes: Mapped[dict] = mapped_column(sa.JSON)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    inspection: Mapped[Inspection] = relationship(back_populates="amendments")

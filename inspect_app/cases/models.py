"""Cases (案件) formed from violations, their history, and citizens' tip-offs (举报).

A case belongs to one entity and one acting department (the department that decides the penalty);
the handling department is the one whose officers work the file: the acting department when it took
part in the inspection, otherwise the inspection's lead department, which then transfers the case.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from ..extensions import db
from ..inspection.models import Inspection, Referral, Violation
from ..util import UTCDateTime, now_utc

CASE_STATUSES = ("open", "rectification_ordered", "reinspection_due", "rectified", "not_rectified",
                 "penalty_proposed", "hearing_requested", "decided", "executed", "transferred", "acknowledged",
                 "outcome_recorded", "closed")
EXECUTIONS = ("paid", "suspended", "revoked")
PARTY_TYPES = ("organisation", "natural_person")
ADJUSTMENTS = ("none", "lighter", "heavier", "mitigated", "exempted")
# How the penalty decision reached the party: handed over when announced (行政处罚法 Art 61), or served
# later under the 民事诉讼法 (2023): in person Art 87, left on refusal Art 89, electronically with consent
# Art 90, by post Art 91, by public announcement Art 95.
SERVICE_MANNERS = ("on_the_spot", "in_person", "left", "post", "electronic", "announcement")

TIPOFF_CATEGORIES = ("unlicensed_agency", "fake_job_ad", "fake_marriage_ad", "deposit_or_documents",
                     "child_labour", "minors_in_venue", "prostitution", "trafficking", "other")
TIPOFF_STATUSES = ("received", "triaged", "inspection_planned", "closed")
TIPOFF_OUTCOMES = ("substantiated", "unsubstantiated", "duplicate", "outside_remit")


class Case(db.Model):
    """An administrative case (立案 when the inspection that found its violations is completed)."""

    __tablename__ = "cases"
    __table_args__ = (sa.Index("ix_cases_status_next_due", "status", "next_due_on"),
                      sa.Index("ix_cases_handling_region", "handling_department", "region_code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(sa.ForeignKey("entities.id"), index=True)
    region_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    acting_department: Mapped[str] = mapped_column(sa.String(40))
    handling_department: Mapped[str] = mapped_column(sa.String(40))
    inspection_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inspections.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(30), default="open")
    opened_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    filed_on: Mapped[date]  # 立案日: the clocks of Art 60 and 劳动保障监察条例 Art 17 start here
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Order to rectify (责令限期改正) and the re-inspection that checks it
    rectification_ordered_on: Mapped[date | None]
    rectification_deadline: Mapped[date | None]
    reinspection_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inspections.id"), index=True)
    # Penalty proposal (行政处罚事先告知) and decision
    party_type: Mapped[str] = mapped_column(sa.String(20), default="organisation")
    penalty_min: Mapped[int | None] = mapped_column(sa.BigInteger)
    penalty_max: Mapped[int | None] = mapped_column(sa.BigInteger)
    penalty_inputs: Mapped[dict | None] = mapped_column(sa.JSON)  # the computation the officer saw
    penalty_amount: Mapped[int | None] = mapped_column(sa.BigInteger)  # yuan
    penalty_reason: Mapped[str | None] = mapped_column(sa.Text)
    penalty_adjustment: Mapped[str | None] = mapped_column(sa.String(20))
    penalty_measures: Mapped[list | None] = mapped_column(sa.JSON)
    penalty_serious: Mapped[bool] = mapped_column(default=False)
    proposed_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    notice_served_on: Mapped[date | None]
    hearing_offered: Mapped[bool] = mapped_column(default=False)
    reply_deadline: Mapped[date | None]  # the party's window to state, defend and ask for a hearing
    hearing_requested_on: Mapped[date | None]
    hearing_held_on: Mapped[date | None]
    decided_on: Mapped[date | None]
    # Service of the decision (行政处罚法 Art 61): the payment period of Art 67 runs from the day served.
    # By announcement this is the day deemed served (民事诉讼法 Art 95), not the day published.
    decision_served_on: Mapped[date | None]
    decision_service_manner: Mapped[str | None] = mapped_column(sa.String(20))
    # the 送达回证; use_alter: notices.case_id -> cases and this column -> notices would be a cycle
    decision_receipt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notices.id", use_alter=True))
    payment_due_on: Mapped[date | None]
    execution: Mapped[str | None] = mapped_column(sa.String(20))  # paid | suspended | revoked
    executed_on: Mapped[date | None]
    publication_due_on: Mapped[date | None]
    published_on: Mapped[date | None]
    investigation_extended: Mapped[bool] = mapped_column(default=False)
    # the decision period extended once with the head's approval (market regulation's 程序规定)
    decision_extended: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # the party waived in writing its rights to state, defend and ask for a hearing (行政处罚法 Arts 44, 63)
    rights_waived: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Transfer (移送) to the police or another department
    transfer_to: Mapped[str | None] = mapped_column(sa.String(40))
    # use_alter: cases -> referrals -> violations -> cases would be a cycle for table ordering
    referral_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referrals.id", use_alter=True), index=True)
    # The earliest running statutory clock, kept for the overdue and due-soon lists
    next_due_on: Mapped[date | None]
    next_due_kind: Mapped[str | None] = mapped_column(sa.String(30))
    closed_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())

    entity = relationship("Entity")
    inspection: Mapped[Inspection | None] = relationship(foreign_keys=[inspection_id])
    reinspection: Mapped[Inspection | None] = relationship(foreign_keys=[reinspection_id])
    referral: Mapped[Referral | None] = relationship(foreign_keys=[referral_id])
    decision_receipt = relationship("Notice", foreign_keys=[decision_receipt_id])
    violations: Mapped[list[Violation]] = relationship(
        Violation, order_by=Violation.id,
        backref=backref("case", uselist=False))
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id",
                                                   cascade="all, delete-orphan")
    # 承办人员: the handling department's officers who carry out the penalty (行政处罚法 Art 42: at least two)
    officers: Mapped[list[CaseOfficer]] = relationship(back_populates="case", order_by="CaseOfficer.position",
                                                       cascade="all, delete-orphan")

    @property
    def access_region_code(self) -> str:
        return self.region_code

    @property
    def access_department_code(self) -> str:
        return self.handling_department

    @property
    def handling_officers(self) -> list:
        """The users who handle the case, in the order assigned."""
        return [o.user for o in self.officers]

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"

    @property
    def payment_from_decision(self) -> bool:
        """A case decided before service was recorded: its payment date was counted from the decision."""
        return self.payment_due_on is not None and self.decision_served_on is None


class CaseEvent(db.Model):
    """One step of a case's life: the transition, who made it, why, and the data it carried."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(sa.String(30))
    to_status: Mapped[str] = mapped_column(sa.String(30))
    reason: Mapped[str] = mapped_column(sa.Text)
    data: Mapped[dict | None] = mapped_column(sa.JSON)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    case: Mapped[Case] = relationship(back_populates="events")
    actor = relationship("User")


class CaseOfficer(db.Model):
    """A handling officer (承办人员) of a case: an inspector of the case's handling department with
    enforcement credentials, named on the case's penalty documents and order to rectify."""

    __tablename__ = "case_officers"
    __table_args__ = (sa.UniqueConstraint("case_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)

    case: Mapped[Case] = relationship(back_populates="officers")
    user = relationship("User")


class TipOff(db.Model):
    """A citizen's report (举报). The reporter's contact is sealed and shown only to planners; the
    tracking code is kept as its SHA-256 only (the reporter holds the code)."""

    __tablename__ = "tipoffs"
    __audit_redact__ = {"contact_sealed", "tracking_hash"}

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(10))  # web | api
    received_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc, onupdate=now_utc)
    target_name: Mapped[str] = mapped_column(sa.String(200))
    target_address: Mapped[str | None] = mapped_column(sa.String(300))
    target_kind: Mapped[str | None] = mapped_column(sa.String(40))
    region_code: Mapped[str | None] = mapped_column(sa.String(6), index=True)
    category: Mapped[str] = mapped_column(sa.String(40))
    description: Mapped[str] = mapped_column(sa.Text)
    contact_sealed: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default="received", index=True)
    urgent: Mapped[bool] = mapped_column(default=False)
    entity_id: Mapped[int | None] = mapped_column(sa.ForeignKey("entities.id"), index=True)
    inspection_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inspections.id"))
    referral_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referrals.id"))
    triage_note: Mapped[str | None] = mapped_column(sa.Text)
    triaged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    triaged_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(sa.String(20))
    closed_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # 举报奖励 (朔政办发〔2014〕37号: reward system for tip-offs)
    reward_eligible: Mapped[bool | None]
    reward_amount: Mapped[int | None]
    reward_paid_on: Mapped[date | None]
    reward_note: Mapped[str | None] = mapped_column(sa.String(500))

    entity = relationship("Entity")
    inspection = relationship("Inspection")
    referral = relationship("Referral")
    photos: Mapped[list[TipOffPhoto]] = relationship(back_populates="tipoff", order_by="TipOffPhoto.id",
                                                     cascade="all, delete-orphan")

    @property
    def has_contact(self) -> bool:
        return self.contact_sealed is not None

    @property
    def access_region_code(self) -> str | None:
        return self.region_code

    access_department_code = None


class TipOffPhoto(db.Model):
    """A photo sent with a tip-off, checked by content and re-encoded (no EXIF: no reporter's GPS)."""

    __tablename__ = "tipoff_photos"
    __table_args__ = (sa.UniqueConstraint("tipoff_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tipoff_id: Mapped[int] = mapped_column(sa.ForeignKey("tipoffs.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))  # of the stored (re-encoded) JPEG
    size_bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    stored_path: Mapped[str] = mapped_column(sa.String(300))  # relative to INSPECT_DATA_DIR
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    tipoff: Mapped[TipOff] = relationship(back_populates="photos")

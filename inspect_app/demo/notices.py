"""Demo notices: a completed inspection of a job agency (made with the ORM, as the field pages would leave
it) and one notice of every type, so that `make run` and `make notices-preview` show each document.

The case-based notices use :class:`StandInCase`, an object with the attributes notices read from a case
(the cases area lands separately); tests and the benchmark use the same helpers.
"""
from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from ..extensions import db

DEMO_MARK = "演示：联合检查"  # in the cause note of the demo inspection, so that it is made once


@dataclass
class StandInCase:
    """The attribute contract of a case as notices read it (issue 8 provides the real one)."""

    id: int | None
    entity: object
    region_code: str
    acting_department: str
    inspection: object | None = None
    violations: list = field(default_factory=list)
    status: str = "open"
    opened_dt: datetime | None = None
    rectification_deadline: date | None = None
    penalty_amount: int | None = None
    penalty_reason: str | None = None
    hearing_offered: bool = False
    transfer_to: str | None = None
    referral: object | None = None

    @property
    def access_region_code(self) -> str:
        return self.region_code

    @property
    def access_department_code(self) -> str:
        return self.acting_department


def signature_png(seed: int, width: int = 360, height: int = 120) -> bytes:
    """A hand-drawn-looking stroke (deterministic), as a tablet's signature pad gives."""
    from PIL import Image, ImageDraw
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    points = []
    for step in range(120):
        t = step / 119
        x = 20 + t * (width - 40)
        y = height / 2 + 28 * math.sin(t * (7 + seed % 5) + seed) * math.cos(t * 3 + seed / 3)
        points.append((x, y))
    draw.line(points, fill=(20, 20, 60, 255), width=4, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def evidence_jpeg(label: int) -> bytes:
    from PIL import Image, ImageDraw
    image = Image.new("RGB", (320, 240), (200 + label * 10 % 50, 210, 220))
    ImageDraw.Draw(image).rectangle((40, 40, 280, 200), outline=(60, 60, 60), width=6)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def make_completed_inspection(entity, officers: list, *, findings: list[dict], data_dir: str | None = None,
                              when: datetime | None = None, campaign_id: int | None = None,
                              party_refuses: bool = False, cause_note: str | None = None):
    """A completed inspection with answers, evidence, violations, attestations and signatures, written with
    the ORM (the field services are not used here). ``findings``: [{"item", "type", "description",
    "criminal"?, "quantities"?}] on the job-agency checklists."""
    from ..checklist.services import pin_checklist
    from ..inspection.models import (Answer, Attestation, Evidence, Inspection, InspectionChecklist,
                                     InspectionMember, Signature, Violation)
    when = when or datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=2)
    lead = officers[0]
    inspection = Inspection(entity_id=entity.id, campaign_id=campaign_id, origin="cause" if cause_note else "random",
                            cause_note=cause_note, scheduled_date=when.date(), region_code=entity.region_code,
                            lead_department=lead.department_code, status="in_progress", started_dt=when,
                            completed_dt=when + timedelta(minutes=70), completed_by_id=lead.id,
                            party_name="王经理", party_role="现场负责人",
                            outcome="violations" if findings else "compliant")
    db.session.add(inspection)
    db.session.flush()
    for position, officer in enumerate(officers):
        inspection.members.append(InspectionMember(user_id=officer.id, department_code=officer.department_code,
                                                   position=position))
        inspection.attestations.append(Attestation(user_id=officer.id, statement="credentials_and_recusal",
                                                   method="session" if position == 0 else "pin",
                                                   credential_number=officer.credential_number,
                                                   attested_dt=when + timedelta(minutes=1)))
    codes = ["job_agency.hrss"] if entity.kind == "job_agency" else []
    pinned = {}
    for position, code in enumerate(codes):
        row = pin_checklist(code)
        inspection.checklists.append(InspectionChecklist(checklist_version_id=row.id, code=code, version=row.version,
                                                         position=position))
        pinned[code] = row
    failed = {f["item"] for f in findings}
    for code, row in pinned.items():
        for item in row.content["items"]:
            if item["answer_type"] != "yes_no_na":
                continue
            result = "fail" if item["code"] in failed or item.get("local_code") in failed else "pass"
            inspection.answers.append(Answer(checklist_code=code, item_code=item["code"], result=result,
                                             note="见证据照片" if result == "fail" else None,
                                             answered_by_id=lead.id, updated_dt=when + timedelta(minutes=20)))
    evidence = []
    for number, finding in enumerate(findings, start=1):
        data = evidence_jpeg(number)
        digest = hashlib.sha256(data).hexdigest()
        path = f"evidence/{digest[:2]}/{digest}.jpg"
        if data_dir:
            from pathlib import Path
            target = Path(data_dir) / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        item = Evidence(item_code=finding["item"], sha256=digest, mime="image/jpeg", size_bytes=len(data),
                        original_name=f"IMG_{number:04d}.jpg", stored_path=path, width=320, height=240,
                        taken_dt=when + timedelta(minutes=10 + number), caption=finding.get("caption"),
                        uploaded_by_id=lead.id)
        inspection.evidence.append(item)
        evidence.append(item)
    db.session.flush()
    catalogue = _catalogue()
    for finding, item in zip(findings, evidence):
        vtype = catalogue.violation_types[finding["type"]]
        violation = Violation(entity_id=entity.id, item_code=finding["item"], type_code=finding["type"],
                              acting_department=vtype.acting_department, severity=vtype.severity,
                              description=finding["description"], quantities=finding.get("quantities"),
                              criminal=bool(finding.get("criminal")), restricted=bool(finding.get("criminal")),
                              created_by_id=lead.id, created_dt=when + timedelta(minutes=40))
        violation.evidence.append(item)
        inspection.violations.append(violation)
    for number, officer in enumerate(officers):
        png = signature_png(officer.id + number)
        inspection.signatures.append(Signature(slot=f"officer:{officer.id}", role="officer", user_id=officer.id,
                                               signer_name=officer.full_name, image_png=png,
                                               sha256=hashlib.sha256(png).hexdigest(),
                                               signed_dt=when + timedelta(minutes=65)))
    if party_refuses:
        inspection.signatures.append(Signature(slot="party", role="party", signer_name="王经理", refused=True,
                                               note="称需请示公司负责人", signed_dt=when + timedelta(minutes=66)))
        png = signature_png(97)
        inspection.signatures.append(Signature(slot="witness", role="witness", signer_name="赵见证",
                                               image_png=png, sha256=hashlib.sha256(png).hexdigest(),
                                               signed_dt=when + timedelta(minutes=67)))
    else:
        png = signature_png(42)
        inspection.signatures.append(Signature(slot="party", role="party", signer_name="王经理", image_png=png,
                                               sha256=hashlib.sha256(png).hexdigest(),
                                               signed_dt=when + timedelta(minutes=66)))
    db.session.flush()
    # completed last, as the field services do (the frozen-record guard refuses rows added after)
    from ..inspection.services import build_record, record_hash
    with db.session.no_autoflush:
        inspection.status = "completed"
        inspection.record = build_record(inspection)
        inspection.record_sha256 = record_hash(inspection.record)
    db.session.flush()
    return inspection


def _catalogue():
    from flask import current_app
    return current_app.extensions["inspect_checklists"]


DEMO_FINDINGS = [
    {"item": "job_agency.hrss.display", "type": "ja_display_missing", "caption": "服务大厅墙面，未见收费标准和监督电话",
     "description": "服务大厅未明示收费标准、监督机关名称和监督电话，人力资源服务许可证未悬挂。"},
    {"item": "job_agency.hrss.deposits", "type": "ja_deposit_taken", "caption": "押金收据（3张）",
     "description": "查见押金收据3张，该机构于2026年11月向3名求职者每人收取“岗位保证金”500元，共计1500元。",
     "quantities": {"persons": 3}},
    {"item": "job_agency.hrss.illegal_activity", "type": "ja_illegal_activity_introduced",
     "caption": "招聘广告及聊天记录截图", "criminal": True,
     "description": "该机构以“高薪陪侍”为名招聘女性求职者并介绍至外地娱乐场所，涉嫌介绍他人从事违法活动。"},
]


def seed_demo_notices() -> int:
    """One notice of every type on a demo inspection (skipped when the demo inspection exists)."""
    from flask import current_app

    from ..auth.models import User
    from ..inspection.models import Inspection
    from ..notices.fonts import FontProblem
    from ..notices.services import issue_notice
    from ..registry.models import Entity
    if db.session.scalar(sa.select(Inspection.id).where(Inspection.cause_note == DEMO_MARK)) is not None:
        return 0
    officers = [db.session.scalar(sa.select(User).where(User.username == name))
                for name in ("inspector.hrss.sc", "inspector.samr.sc")]
    entity = db.session.scalar(sa.select(Entity).where(Entity.kind == "job_agency", Entity.region_code == "140602",
                                                       Entity.credit_code.is_not(None)).order_by(Entity.id).limit(1))
    if entity is None or None in officers:
        return 0
    from ..notices.snapshot import LOCAL_TZ, local_day
    morning = datetime.combine(local_day(), datetime.min.time().replace(hour=9, minute=30), LOCAL_TZ)
    inspection = make_completed_inspection(entity, officers, findings=DEMO_FINDINGS, party_refuses=True,
                                           cause_note=DEMO_MARK, data_dir=current_app.config["INSPECT_DATA_DIR"],
                                           when=morning.astimezone(timezone.utc))
    hrss = officers[0]
    supervisor = db.session.scalar(sa.select(User).where(User.username == "supervisor.sc")) or hrss
    violations = list(inspection.violations)
    # negative ids: demo cases that exist only here (the cases table lands separately)
    case = StandInCase(id=-1, entity=entity, region_code=entity.region_code, acting_department="hrss",
                       inspection=inspection, violations=violations[:2], opened_dt=inspection.completed_dt,
                       penalty_amount=12000, hearing_offered=True,
                       penalty_reason="鉴于当事人收取押金涉及3名求职者，且未能在检查时主动退还，依照本机关行政处罚裁量基准")
    try:
        issued = [issue_notice("inspection_record", hrss, inspection=inspection),
                  issue_notice("rectification_order", hrss, inspection=inspection)]
        issued.append(issue_notice("penalty_advance_notice", supervisor, case=case, department="hrss"))
        issued.append(issue_notice("penalty_decision", supervisor, case=case, department="hrss"))
        crime = StandInCase(id=-2, entity=entity, region_code=entity.region_code, acting_department="hrss",
                            inspection=inspection, violations=violations[2:], opened_dt=inspection.completed_dt)
        issued.append(issue_notice("criminal_transfer", supervisor, case=crime, department="hrss"))
        transfer = StandInCase(id=-3, entity=entity, region_code=entity.region_code, acting_department="hrss",
                               inspection=inspection, violations=violations[:1], transfer_to="samr",
                               opened_dt=inspection.completed_dt)
        issued.append(issue_notice("case_transfer", supervisor, case=transfer, department="hrss"))
        issued.append(issue_notice("service_receipt", hrss, inspection=inspection))
    except FontProblem as exc:
        current_app.logger.warning("demo notices skipped: %s", exc)
        return 0
    return len(issued)

"""Demo notices: every type of document, issued through the notice service on the demo's own cases and
inspections (demo/cases.py), in the order and on the days the procedure would have them, so that `make run`
shows them on the entity, inspection and case pages and `make notices-preview` renders each type.

:func:`make_completed_inspection` (a completed inspection written with the ORM: answers, photos, violations,
attestations and signatures) serves the demo cases, the tests and the benchmark alike.
"""
from __future__ import annotations

import hashlib
import io
import math
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from ..extensions import db


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
    """A small photo-like JPEG, a different one (and SHA-256) for every label."""
    import random

    from PIL import Image, ImageDraw
    rng = random.Random(label)
    image = Image.new("RGB", (320, 240), (200 + label * 10 % 50, 210, 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 280, 200), outline=(60, 60, 60), width=6)
    for _ in range(6):
        x, y = rng.randint(50, 240), rng.randint(50, 170)
        draw.rectangle((x, y, x + rng.randint(8, 30), y + rng.randint(6, 20)),
                       fill=(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def make_completed_inspection(entity, officers: list, *, findings: list[dict], data_dir: str | None = None,
                              when: datetime | None = None, campaign_id: int | None = None,
                              party_refuses: bool = False, cause_note: str | None = None,
                              checklists: list[str] | None = None,
                              party: tuple[str, str] = ("王经理", "现场负责人"), origin: str | None = None):
    """A completed inspection with answers, evidence, violations, attestations and signatures, written with
    the ORM (the field services are not used here). ``findings``: [{"item", "type", "description",
    "caption"?, "criminal"?, "restricted"?, "quantities"?, "acting_department"?, "value"?}] on ``checklists``
    (default: the job-agency checklist of 人社 for a job agency); ``party``: the person present and role;
    ``origin``: default ``cause`` with a cause note, else ``random``."""
    from ..checklist.services import pin_checklist
    from ..inspection.models import (Answer, Attestation, Evidence, Inspection, InspectionChecklist,
                                     InspectionMember, Signature, Violation)
    when = when or datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=2)
    lead = officers[0]
    party_name, party_role = party
    origin = origin or ("cause" if cause_note else "random")
    inspection = Inspection(entity_id=entity.id, campaign_id=campaign_id, origin=origin,
                            cause_note=cause_note, scheduled_date=when.date(), region_code=entity.region_code,
                            lead_department=lead.department_code, status="in_progress", started_dt=when,
                            completed_dt=when + timedelta(minutes=70), completed_by_id=lead.id,
                            party_name=party_name, party_role=party_role,
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
    if checklists is None:
        checklists = ["job_agency.hrss"] if entity.kind == "job_agency" else []
    pinned = {}
    for position, code in enumerate(checklists):
        row = pin_checklist(code)
        inspection.checklists.append(InspectionChecklist(checklist_version_id=row.id, code=code, version=row.version,
                                                         position=position))
        pinned[code] = row
    failed = {f["item"]: f for f in findings}
    for code, row in pinned.items():
        for item in row.content["items"]:
            finding = failed.get(item["code"]) or failed.get(item.get("local_code"))
            if item["answer_type"] == "number" and finding is not None and "value" in finding:
                inspection.answers.append(Answer(checklist_code=code, item_code=item["code"], result="fail",
                                                 value=finding["value"], note="见证据照片", answered_by_id=lead.id,
                                                 updated_dt=when + timedelta(minutes=20)))
                continue
            if item["answer_type"] != "yes_no_na":
                continue
            result = "fail" if finding is not None else "pass"
            inspection.answers.append(Answer(checklist_code=code, item_code=item["code"], result=result,
                                             note="见证据照片" if result == "fail" else None,
                                             answered_by_id=lead.id, updated_dt=when + timedelta(minutes=20)))
    evidence = []
    for number, finding in enumerate(findings, start=1):
        data = evidence_jpeg(entity.id * 100 + number)  # each inspection's photos are its own
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
        criminal = bool(finding.get("criminal"))
        violation = Violation(entity_id=entity.id, item_code=finding["item"], type_code=finding["type"],
                              acting_department=finding.get("acting_department") or vtype.acting_department,
                              severity=vtype.severity, description=finding["description"],
                              quantities=finding.get("quantities"), criminal=criminal,
                              restricted=bool(finding.get("restricted", criminal)),
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
        inspection.signatures.append(Signature(slot="party", role="party", signer_name=party_name, refused=True,
                                               note="称需请示公司负责人", signed_dt=when + timedelta(minutes=66)))
        png = signature_png(97)
        inspection.signatures.append(Signature(slot="witness", role="witness", signer_name="赵见证",
                                               image_png=png, sha256=hashlib.sha256(png).hexdigest(),
                                               signed_dt=when + timedelta(minutes=67)))
    else:
        png = signature_png(entity.id + 42)
        inspection.signatures.append(Signature(slot="party", role="party", signer_name=party_name, image_png=png,
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


def seed_demo_notices(demo) -> int:
    """The notices of the demo cases (``demo``: what :func:`~inspect_app.demo.cases.seed_demo_cases` made;
    nothing when it made nothing, so a second run issues none). Returns the number issued."""
    from flask import current_app

    from ..auth.models import User
    from ..notices.fonts import FontProblem, check_fonts
    from ..notices.services import issue_notice
    from ..notices.snapshot import local_day
    if demo is None or not demo.created:
        return 0
    try:
        check_fonts()
    except FontProblem as exc:
        current_app.logger.warning("demo notices skipped: %s", exc)
        return 0
    users = {u.username: u for u in db.session.scalars(sa.select(User).where(User.username.in_(
        ("inspector.hrss.sc", "inspector.culture.sc", "supervisor.sc"))))}
    officer, culture = users.get("inspector.hrss.sc"), users.get("inspector.culture.sc")
    head = users.get("supervisor.sc") or officer
    # (day, notice type, issuer, source): issued in date order, so that each type's numbers follow the dates
    # and the advance notice of a penalty precedes its decision (行政处罚法 Art 62)
    plan: list[tuple[date, str, object, dict]] = []
    if demo.decided is not None:  # deposits taken: advance notice served, no reply in time, decided
        plan += [(demo.decided.notice_served_on, "penalty_advance_notice", officer, {"case": demo.decided}),
                 (demo.decided.decided_on, "penalty_decision", head, {"case": demo.decided})]
    if demo.ordered is not None:  # the on-site record and the order to rectify, served on the spot
        inspection = demo.ordered.inspection
        plan += [(local_day(inspection.completed_dt), "inspection_record", officer, {"inspection": inspection}),
                 (demo.ordered.rectification_ordered_on, "rectification_order", officer, {"case": demo.ordered}),
                 (demo.ordered.rectification_ordered_on, "service_receipt", officer, {"case": demo.ordered})]
    if demo.transferred is not None:  # the venue's CCTV case, the police's to decide: sent by culture
        plan.append((demo.transferred_on, "case_transfer", culture or head, {"case": demo.transferred}))
    if demo.proposed is not None:  # the venue employing minors: advance notice with the right to a hearing
        plan.append((demo.proposed.notice_served_on, "penalty_advance_notice", officer, {"case": demo.proposed}))
    if demo.crime is not None:  # the suspected crime: the record, and the transfer the head approved
        inspection = demo.crime.inspection
        plan += [(local_day(inspection.completed_dt), "inspection_record", officer, {"inspection": inspection}),
                 (demo.crime_transferred_on, "criminal_transfer", head, {"case": demo.crime})]
    issued = 0
    for day, notice_type, user, source in sorted(plan, key=lambda step: step[0]):
        if user is None:
            continue
        issue_notice(notice_type, user, today=day, **source)
        issued += 1
    return issued

"""Demo cases: completed inspections in 朔城区 whose violations became cases in different states (a
rectification deadline passed, a penalty proposed, a transfer to the police acknowledged, a suspected crime
awaiting transfer), and two tip-offs. Skipped when any case exists."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from flask import current_app

from ..auth.models import User
from ..extensions import db
from ..inspection.models import Inspection, InspectionMember, Referral, Violation
from ..registry.models import Entity
from ..workdays import add_workdays


def _users(*names: str) -> list[User]:
    found = {u.username: u for u in db.session.scalars(sa.select(User).where(User.username.in_(names)))}
    return [found[n] for n in names if n in found]


def _entity(kind: str, skip: int = 0) -> Entity | None:
    return db.session.scalars(sa.select(Entity).where(Entity.kind == kind, Entity.region_code == "140602",
                                                      Entity.status == "active")
                              .order_by(Entity.id).offset(skip).limit(1)).first()


def _completed(entity: Entity, officers: list[User], day: date, violations: list[dict]) -> Inspection:
    from ..inspection.signals import inspection_completed
    at = datetime.combine(day, time(2, 30), tzinfo=timezone.utc)
    inspection = Inspection(entity_id=entity.id, origin="random", region_code=entity.region_code,
                            lead_department=officers[0].department_code, status="completed", scheduled_date=day,
                            started_dt=at, completed_dt=at + timedelta(hours=1), completed_by_id=officers[0].id,
                            party_name="店长", party_role="现场负责人", outcome="violations", record={"demo": True})
    for position, officer in enumerate(officers):
        inspection.members.append(InspectionMember(user_id=officer.id, department_code=officer.department_code,
                                                   position=position))
    for spec in violations:
        inspection.violations.append(Violation(entity_id=entity.id, created_by_id=officers[0].id, **spec))
    db.session.add(inspection)
    db.session.flush()
    for violation in inspection.violations:
        if violation.criminal:
            db.session.add(Referral(kind="criminal", from_department=inspection.lead_department,
                                    to_department="police", entity_id=entity.id, inspection_id=inspection.id,
                                    violation_id=violation.id, urgent=True,
                                    due_dt=datetime.now(timezone.utc) + timedelta(hours=20),
                                    reason="现场发现涉嫌介绍卖淫，需移送公安机关", attachments=[], status="pending"))
    db.session.flush()
    inspection_completed.send(current_app._get_current_object(), inspection=inspection)
    from ..cases.clocks import refresh_due
    from ..cases.models import Case
    for case in db.session.scalars(sa.select(Case).where(Case.inspection_id == inspection.id)):
        case.filed_on = day  # filed the day of the inspection
        refresh_due(case)
    return inspection


def _case(inspection: Inspection, department: str):
    from ..cases.models import Case
    return db.session.scalar(sa.select(Case).where(Case.inspection_id == inspection.id,
                                                   Case.acting_department == department))


def seed_demo_cases(today: date | None = None) -> int:
    """Returns the number of cases created (0 when the demo's tip-offs exist, i.e. it ran before, or the
    demo registry is missing). Other demo inspections may already have formed cases of their own."""
    from ..cases.models import Case, TipOff
    from ..cases.services import propose_penalty, transition
    from ..cases.tipoffs import submit_tipoff
    if db.session.scalar(sa.select(sa.func.count()).select_from(TipOff)):
        return 0
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Case))
    today = today or date.today()
    hrss = _users("inspector.hrss.sc", "supervisor.sc")
    samr, culture = _users("inspector.samr.sc"), _users("inspector.culture.sc")
    agency, venue, other = _entity("job_agency"), _entity("entertainment_venue"), _entity("job_agency", 1)
    if len(hrss) < 2 or not samr or not culture or None in (agency, venue, other):
        return 0
    officer = hrss[0]

    # 1. A job agency: the rectification deadline has passed (the tick schedules the re-inspection)
    first = _completed(agency, [officer, samr[0]], today - timedelta(days=21), [
        {"type_code": "ja_display_missing", "acting_department": "hrss", "item_code": "job_agency.hrss.display",
         "description": "服务场所未明示收费标准和监督电话。"},
        {"type_code": "samr_business_licence_not_displayed", "acting_department": "samr",
         "item_code": "job_agency.samr.licence", "description": "营业执照未置于经营场所醒目位置。"}])
    hrss_case = _case(first, "hrss")
    ordered = today - timedelta(days=20)
    transition(hrss_case, "rectification_ordered", officer, "现场送达责令限期改正通知书",
               {"ordered_on": ordered, "deadline": add_workdays(ordered, 5)}, today=ordered)

    # 2. A venue employing minors: penalty proposed (5,000 yuan x 2 minors x 2 months), hearing offered;
    #    its CCTV breach is the police's (娱乐场所管理条例 Art 44): transferred and acknowledged
    second = _completed(venue, [culture[0], officer], today - timedelta(days=12), [
        {"type_code": "ev_minors_employed", "acting_department": "hrss", "quantities": {"persons": 2, "months": 2},
         "description": "招用两名未满十八周岁人员担任服务员，已工作约两个月。", "restricted": True},
        {"type_code": "ev_cctv_breach", "acting_department": "police",
         "description": "包厢通道监控录像仅保存7日。"}])
    venue_case = _case(second, "hrss")
    propose_penalty(venue_case, officer, {
        "amount": 20000, "reason": "按每招用一名未成年人每月五千元的标准计算，无从轻从重情节。",
        "notice_served_on": today - timedelta(days=2)}, today=today)
    police_case = _case(second, "police")
    transition(police_case, "transferred", None, "监控录像保存不足属公安机关职权，依法移送",
               {"to_department": "police"})
    police = _users("police.sc")
    if police:
        from ..cases.referrals import acknowledge_referral
        acknowledge_referral(police_case.referral, police[0], "已接收")

    # 3. A suspected crime found today: the urgent police referral awaits the head's approval (24 hours)
    _completed(other, [officer, samr[0]], today, [
        {"type_code": "ja_illegal_activity_introduced", "acting_department": "hrss", "criminal": True,
         "restricted": True, "description": "以高薪招聘为名介绍女性到外地娱乐场所从事有偿陪侍，涉嫌介绍卖淫。"}])

    # 4. Tip-offs: one urgent, one waiting for triage
    submit_tipoff({"target_name": "朔城区某某劳务信息部", "target_address": "朔城区北关街", "region_code": "140602",
                   "target_kind": "job_agency", "category": "trafficking",
                   "description": "该信息部以外地高薪招工为名，带走多名年轻女性后失联。"}, channel="web")
    submit_tipoff({"target_name": "某婚恋交友公众号", "target_kind": "online", "category": "fake_marriage_ad",
                   "description": "公众号发布虚假征婚广告，收取高额会员费。", "contact": "139****0000（演示）"},
                  channel="api")
    db.session.flush()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Case)) - before

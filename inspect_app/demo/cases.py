"""Demo cases: completed inspections in 朔城区 (answers, photos, signatures) whose violations became cases
in different states, through the cases services, and two tip-offs. Skipped when any tip-off exists.

1. A job agency (35 days ago) took deposits: the advance notice was served, the party did not reply in time,
   the penalty was decided and the decision served two working days later; the 15 days to pay ran out a few
   days ago (outside long holidays), so the page shows the overdue payment and its late fee (加处罚款).
2. A job agency (21 days ago) displayed nothing: ordered on the spot to rectify; the deadline has passed (the
   tick schedules the re-inspection). Its unlicensed-display finding is market regulation's (an open case).
3. A venue (12 days ago) employing minors: penalty proposed with a hearing offered; its CCTV breach is the
   police's (娱乐场所管理条例 Art 44): culture transferred it and the police acknowledged it.
4. A job agency found today placing women into paid escorting (suspected procuring): the urgent criminal
   referral, approved by the head and sent to the police within the 24 hours (移送规定 Art 5).

:class:`DemoCases` names what was made, for the demo's notices (demo/notices.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from flask import current_app

from ..auth.models import User
from ..extensions import db
from ..inspection.models import Inspection
from ..registry.models import Entity
from ..workdays import add_workdays


@dataclass
class DemoCases:
    """The demo's cases by their story (None where a step could not be made)."""

    created: int = 0
    decided: object | None = None  # 1: penalty decided
    ordered: object | None = None  # 2: ordered to rectify
    proposed: object | None = None  # 3: penalty proposed, hearing offered
    transferred: object | None = None  # 3: transferred to the police and acknowledged
    transferred_on: date | None = None
    crime: object | None = None  # 4: suspected crime transferred to the police
    crime_transferred_on: date | None = None


def _users(*names: str) -> list[User]:
    found = {u.username: u for u in db.session.scalars(sa.select(User).where(User.username.in_(names)))}
    return [found[n] for n in names if n in found]


def _entity(kind: str, skip: int = 0) -> Entity | None:
    return db.session.scalars(sa.select(Entity).where(Entity.kind == kind, Entity.region_code == "140602",
                                                      Entity.status == "active")
                              .order_by(Entity.id).offset(skip).limit(1)).first()


def _completed(entity: Entity, officers: list[User], day: date, findings: list[dict], *,
               party: tuple[str, str] = ("店长", "现场负责人"), party_refuses: bool = False,
               cause_note: str | None = None) -> Inspection:
    """A completed inspection of ``day`` (09:30 Beijing time, or two hours ago if that is earlier) by the
    joint team (专项检查, or 有因检查 with a cause note) on the checklists of the team's departments, its
    criminal findings referred to the police (pending the head's approval), and its cases formed as the
    field service's completion forms them, filed that day."""
    from ..cases.clocks import refresh_due
    from ..cases.models import Case
    from ..cases.referrals import create_referral
    from ..inspection.signals import inspection_completed
    from ..notices.snapshot import LOCAL_TZ
    from .notices import make_completed_inspection
    at = datetime.combine(day, time(9, 30), LOCAL_TZ).astimezone(timezone.utc)
    at = min(at, datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=2))
    catalogue = current_app.extensions["inspect_checklists"]
    codes = [code for code in dict.fromkeys(f"{entity.kind}.{o.department_code}" for o in officers)
             if code in catalogue.checklists]
    inspection = make_completed_inspection(entity, officers, findings=findings, when=at, checklists=codes,
                                           party=party, party_refuses=party_refuses, cause_note=cause_note,
                                           origin="cause" if cause_note else "manual",
                                           data_dir=current_app.config["INSPECT_DATA_DIR"])
    for violation in inspection.violations:
        if violation.criminal:
            create_referral(officers[0], {
                "kind": "criminal", "to_department": "police", "entity_id": entity.id,
                "inspection_id": inspection.id, "violation_id": violation.id, "urgent": True,
                "reason": "现场查见的招聘广告和聊天记录显示，该机构介绍女性到外地娱乐场所从事有偿陪侍，"
                          "涉嫌介绍卖淫，依法应当移送公安机关。"}, status="pending")
    db.session.flush()
    inspection_completed.send(current_app._get_current_object(), inspection=inspection)
    for case in db.session.scalars(sa.select(Case).where(Case.inspection_id == inspection.id)):
        case.filed_on, case.opened_dt = day, inspection.completed_dt  # filed the day of the inspection
        refresh_due(case)
    return inspection


def _case(inspection: Inspection, department: str):
    from ..cases.models import Case
    return db.session.scalar(sa.select(Case).where(Case.inspection_id == inspection.id,
                                                   Case.acting_department == department))


def seed_demo_cases(today: date | None = None) -> DemoCases:
    """The demo's cases (``created`` 0 when the demo's tip-offs exist, i.e. it ran before, or the demo
    registry is missing). Other demo inspections may already have formed cases of their own."""
    from ..cases.clocks import local_today
    from ..cases.models import Case, TipOff
    from ..cases.referrals import acknowledge_referral, send_referral
    from ..cases.services import officers_missing, propose_penalty, record_decision_service, set_case_officers
    from ..cases.services import transition
    from ..cases.tipoffs import submit_tipoff
    demo = DemoCases()
    if db.session.scalar(sa.select(sa.func.count()).select_from(TipOff)):
        return demo
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Case))
    today = today or local_today()
    hrss = _users("inspector.hrss.sc", "supervisor.sc")
    samr, culture = _users("inspector.samr.sc"), _users("inspector.culture.sc")
    agency, venue, other = _entity("job_agency"), _entity("entertainment_venue"), _entity("job_agency", 1)
    deposits = _entity("job_agency", 2)
    if len(hrss) < 2 or not samr or not culture or None in (agency, venue, other, deposits):
        return demo
    officer, head = hrss
    colleague = _users("inspector2.hrss.sc")

    def handled(case):
        """The hrss cases come from hrss+samr teams with one hrss officer: the second one is assigned
        (承办人员, 行政处罚法 Art 42), so the penalty documents name two hrss officers and no samr one."""
        if case is not None and colleague and officers_missing(case) is not None:
            set_case_officers(case, head, [officer.id, colleague[0].id])
        return case

    # 1. Deposits from three job seekers: advance notice served a week after the inspection; no statement or
    #    defence within the window; the penalty decided after it (行政处罚法 Arts 44, 62)
    found = today - timedelta(days=35)
    first = _completed(deposits, [officer, samr[0]], found, [
        {"item": "job_agency.hrss.deposits", "type": "ja_deposit_taken", "caption": "押金收据（3张）",
         "description": "查见押金收据3张，该机构向3名求职者每人收取“岗位保证金”1000元，共计3000元。",
         "quantities": {"persons": 3}}], party=(deposits.legal_representative or "王经理", "法定代表人"))
    decided = handled(_case(first, "hrss"))
    served = found + timedelta(days=7)
    propose_penalty(decided, officer, {
        "amount": 3000, "reason": "按每人一千元的标准计算，当事人已于检查次日退还押金，依法从轻处罚",
        "adjustment": "lighter", "notice_served_on": served}, today=served)
    decided_on = add_workdays(decided.reply_deadline, 2)
    transition(decided, "decided", head, "当事人在期限内未提出陈述、申辩，依法作出处罚决定",
               {"decided_on": decided_on, "amount": 3000}, today=decided_on)
    # the party was absent: the decision was served in person afterwards (行政处罚法 Art 61)
    served_on = add_workdays(decided_on, 2)
    record_decision_service(decided, officer, {"served_on": served_on, "manner": "in_person"}, today=served_on)
    demo.decided = decided

    # 2. A job agency: ordered on the spot to rectify; the deadline has passed (the tick schedules the
    #    re-inspection). Market regulation's own finding stays an open case of its own.
    found = today - timedelta(days=21)
    second = _completed(agency, [officer, samr[0]], found, [
        {"item": "job_agency.hrss.display", "type": "ja_display_missing", "caption": "服务大厅墙面，未见收费标准和监督电话",
         "description": "服务场所未明示收费标准、监督机关名称和监督电话，人力资源服务许可证未悬挂。"},
        {"item": "job_agency.samr.business_licence_displayed", "type": "samr_business_licence_not_displayed",
         "caption": "经营场所内未见营业执照", "description": "营业执照未置于经营场所醒目位置。"}],
        party=(agency.legal_representative or "王经理", "法定代表人"))
    ordered = handled(_case(second, "hrss"))
    transition(ordered, "rectification_ordered", officer, "现场送达责令限期改正通知书",
               {"ordered_on": found, "deadline": add_workdays(found, 5)}, today=found)
    demo.ordered = ordered

    # 3. A venue employing minors: penalty proposed (5,000 yuan x 2 minors x 2 months), hearing offered;
    #    its CCTV breach is the police's (娱乐场所管理条例 Art 44): transferred by culture and acknowledged
    found = today - timedelta(days=12)
    third = _completed(venue, [culture[0], officer], found, [
        {"item": "entertainment_venue.hrss.staff_roster", "type": "ev_minors_employed", "acting_department": "hrss",
         "quantities": {"persons": 2, "months": 2}, "restricted": True, "caption": "从业人员名簿及身份证复印件",
         "description": "招用两名未满十八周岁人员担任服务员，已工作约两个月。"},
        {"item": "entertainment_venue.culture.cctv_retention_days", "type": "ev_cctv_breach", "value": 7,
         "acting_department": "police", "caption": "监控主机录像保存记录",
         "description": "包厢通道监控录像仅保存7日。"}])
    proposed = handled(_case(third, "hrss"))
    propose_penalty(proposed, officer, {
        "amount": 20000, "reason": "按每招用一名未成年人每月五千元的标准计算，无从轻从重情节",
        "notice_served_on": today - timedelta(days=2)}, today=today)
    demo.proposed = proposed
    police_case = _case(third, "police")
    transition(police_case, "transferred", culture[0], "监控录像保存不足属公安机关职权，依法移送",
               {"to_department": "police", "referral_reason": "歌舞娱乐场所监控录像资料应当留存30日备查（《娱乐场所管理条例》"
                "第十五条），该场所仅保存7日；依照该条例第四十四条，由县级公安部门处理。"}, today=found)
    demo.transferred, demo.transferred_on = police_case, found
    police = _users("police.sc")
    if police:
        acknowledge_referral(police_case.referral, police[0], "已接收")

    # 4. A suspected crime found today: the urgent police referral, approved by the head within the 24 hours
    fourth = _completed(other, [officer, samr[0]], today, [
        {"item": "job_agency.hrss.illegal_activity", "type": "ja_illegal_activity_introduced", "criminal": True,
         "caption": "招聘广告及聊天记录截图",
         "description": "以高薪招聘为名介绍女性到外地娱乐场所从事有偿陪侍，涉嫌介绍卖淫。"}],
        party=("王经理", "现场负责人"), party_refuses=True, cause_note="群众举报：该机构以外地高薪招工为名介绍女性外出")
    crime = handled(_case(fourth, "hrss"))
    send_referral(crime.referral, head)
    demo.crime, demo.crime_transferred_on = crime, today

    # 5. Tip-offs: one urgent, one waiting for triage
    submit_tipoff({"target_name": "朔城区某某劳务信息部", "target_address": "朔城区北关街", "region_code": "140602",
                   "target_kind": "job_agency", "category": "trafficking",
                   "description": "该信息部以外地高薪招工为名，带走多名年轻女性后失联。"}, channel="web")
    submit_tipoff({"target_name": "某婚恋交友公众号", "target_kind": "online", "category": "fake_marriage_ad",
                   "description": "公众号发布虚假征婚广告，收取高额会员费。", "contact": "139****0000（演示）"},
                  channel="api")
    db.session.flush()
    demo.created = db.session.scalar(sa.select(sa.func.count()).select_from(Case)) - before
    return demo

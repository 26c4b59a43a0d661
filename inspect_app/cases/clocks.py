"""Statutory clocks of a case, in working days of the Chinese calendar where the law says 日 of
行政处罚法 Art 85 (二日、三日、五日、七日 are working days) or 工作日, in calendar days otherwise:

* rectification: the deadline set in the order to rectify (catalogue default, officer's choice);
* re-inspection: the follow-up inspection's scheduled day;
* hearing window: 5 working days from the advance notice to ask for a hearing (Arts 64, 85);
* decision: 90 days from filing (Art 60); market regulation may extend it once by 30 (its 程序规定);
* labour inspection: 60 working days from filing, extendable by 30 (劳动保障监察条例 Art 17);
* criminal transfer: 24 hours (行政执法机关移送涉嫌犯罪案件的规定 Art 5);
* service of the decision: handed over when announced, else served within 7 working days (Arts 61, 85);
* payment: 15 days from the day the decision was served (Art 67); overdue, 3% of the fine a day is added,
  in all at most the fine (Art 72);
* publication: 20 working days from the decision (市场监督管理行政处罚信息公示规定 Art 9).

Figures come from registries/enforcement.yaml. The earliest running clock is stored on the case
(``next_due_on``) so that the overdue and due-soon lists are one indexed query.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..inspection.models import InspectionMember, Referral
from ..util import now_utc
from ..workdays import add_workdays, coverage, is_workday
from .models import Case
from .rules import rules

CLOCK_LABELS = {
    "rectification": _l("Rectification deadline"),
    "reinspection": _l("Re-inspection"),
    "hearing_window": _l("Party's window to reply and ask for a hearing"),
    "decision": _l("Decision due (90 days from filing)"),
    "decision_service": _l("Decision to be served on the party"),
    "labour_investigation": _l("Labour inspection to be concluded"),
    "criminal_transfer": _l("Transfer of the suspected crime to the police"),
    "payment": _l("Fine to be paid"),
    "publication": _l("Decision to be published"),
    "referral_review": _l("Referral to be acknowledged"),
}
# States in which the penalty procedure is still running (the decision and labour clocks count)
BEFORE_DECISION = ("open", "rectification_ordered", "reinspection_due", "not_rectified", "penalty_proposed",
                   "hearing_requested")
AFTER_DECISION = ("decided", "executed", "closed")


@dataclass
class Clock:
    code: str
    due_on: date
    basis: str
    due_dt: datetime | None = None  # hour clocks (criminal transfer)
    label_text: str | None = None  # instead of the code's label (an extended period)

    @property
    def label(self) -> str:
        return self.label_text or str(CLOCK_LABELS[self.code])

    def state(self, today: date, horizon: date, now: datetime | None = None) -> str:
        """overdue | due_soon | running."""
        if self.due_dt is not None:
            now = now or now_utc()
            if now > self.due_dt:
                return "overdue"
        elif self.due_on < today:
            return "overdue"
        return "due_soon" if self.due_on <= horizon else "running"


def local_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))


def local_today() -> date:
    return now_utc().astimezone(local_tz()).date()


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def decision_due(case: Case) -> date:
    clocks = rules().clocks
    days = clocks["decision_days"] + (clocks["decision_extension_days"] if case.decision_extended else 0)
    return case.filed_on + timedelta(days=days)


def decision_extendable(case: Case) -> bool:
    """The acting department's rules allow extending the decision period (market regulation)."""
    return case.acting_department in rules().clocks["decision_extension_departments"]


def _decision_clock(case: Case, locale: str) -> Clock:
    r = rules()
    basis = r.basis("decision", locale)
    if not case.decision_extended:
        return Clock("decision", decision_due(case), basis)
    days = r.clocks["decision_extension_days"]
    return Clock("decision", decision_due(case), f"{basis}; {r.basis('decision_extension', locale)}",
                 label_text=str(_l("Decision due (90 days from filing, extended by %(days)d)", days=days)))


def service_due(case: Case) -> date | None:
    """The last day to serve a decision not handed over when announced (Art 61: 7 working days)."""
    if case.decided_on is None:
        return None
    return add_workdays(case.decided_on, rules().clocks["decision_service_working_days"])


def awaiting_service(case: Case) -> bool:
    """Decided, and the decision's service not recorded (cases decided before service was recorded
    keep their payment date counted from the decision and are not asked for it)."""
    return (case.decided_on is not None and case.decision_served_on is None and not case.payment_from_decision
            and case.status in ("decided", "executed"))


def payment_due_from(served_on: date) -> date:
    """Art 67: within 15 (calendar) days of the day the party received the decision; a last day that is a
    rest day or public holiday moves to the next working day (enforcement.yaml: payment_rolls_to_working_day,
    民事诉讼法 Art 85 by analogy), so that 加处罚款 never starts on a day the party could not pay."""
    clocks = rules().clocks
    due = served_on + timedelta(days=clocks["payment_days"])
    if clocks.get("payment_rolls_to_working_day"):
        while not is_workday(due):
            due += timedelta(days=1)
    return due


def deemed_served(manner: str, day: date) -> date:
    """The day a decision counts as served: by announcement, 30 days after publication (民事诉讼法 Art 95)."""
    if manner == "announcement":
        return day + timedelta(days=rules().clocks["announcement_days"])
    return day


def payment_terms(case: Case, locale: str | None = None) -> dict | None:
    """What the party must pay by when, also before the decision was served (the date is then unknown)."""
    if case.decided_on is None or (case.penalty_amount or 0) <= 0:
        return None
    r, locale = rules(), locale or _locale()
    days = r.clocks["payment_days"]
    from_decision = case.payment_from_decision
    if case.payment_due_on is not None:
        text = str(_l("by %(day)s", day=case.payment_due_on.isoformat()))
    else:
        text = str(_l("%(days)d days after the decision is served", days=days))
    basis = r.basis("payment", locale)
    start = case.decided_on if from_decision else case.decision_served_on
    if case.payment_due_on is not None and start is not None and case.payment_due_on != start + timedelta(days=days):
        # the last day fell on a rest day or holiday
        basis += ("; " if str(locale).startswith("en") else "；") + r.basis("payment_roll", locale)
    return {"days": days, "counted_from": "decision" if from_decision else "service",
            "served_on": case.decision_served_on, "due_on": case.payment_due_on, "text": text,
            "basis": basis}


def late_fee(case: Case, today: date | None = None, locale: str | None = None) -> dict | None:
    """加处罚款 (行政处罚法 Art 72(1)(i)): for each day the fine is overdue, 3% of it, in all at most the fine.

    Counted from the day after the last day to pay up to today, or up to the day paid when it was paid late.
    Amounts are exact in fen (a whole-yuan fine times a whole percentage). None when nothing has accrued.
    """
    fine = case.penalty_amount or 0
    due = case.payment_due_on
    if fine <= 0 or due is None or case.execution not in (None, "paid"):
        return None
    if case.execution == "paid":
        until = case.executed_on
    elif case.status == "decided":
        until = today or local_today()
    else:
        return None
    days = (until - due).days if until else 0
    if days <= 0:
        return None
    r, locale = rules(), locale or _locale()
    percent = r.clocks["late_fee_percent_per_day"]
    uncapped = days * percent * fine  # fen: fine yuan x percent / 100 x 100 fen
    amount_fen = min(uncapped, fine * 100)
    return {"days_overdue": days, "percent_per_day": percent, "fine": fine, "from": due + timedelta(days=1),
            "until": until, "paid": case.execution == "paid", "amount_fen": amount_fen,
            "amount": f"{amount_fen // 100}.{amount_fen % 100:02d}", "capped": uncapped >= fine * 100,
            "basis": r.basis("late_fee", locale)}


def labour_due(case: Case) -> date | None:
    clocks = rules().clocks
    if case.acting_department not in clocks["labour_departments"]:
        return None
    days = clocks["labour_investigation_working_days"]
    if case.investigation_extended:
        days += clocks["labour_extension_working_days"]
    return add_workdays(case.filed_on, days)


def case_clocks(case: Case) -> list[Clock]:
    """The clocks running now for this case (a clock that has been met is not listed)."""
    r, locale = rules(), _locale()
    out: list[Clock] = []
    if case.status == "rectification_ordered" and case.rectification_deadline:
        out.append(Clock("rectification", case.rectification_deadline,
                         str(_l("Order to rectify (行政处罚法 Art 28)"))))
    if case.status == "reinspection_due" and case.reinspection is not None \
            and case.reinspection.status in ("planned", "in_progress") and case.reinspection.scheduled_date:
        out.append(Clock("reinspection", case.reinspection.scheduled_date, str(_l("Follow-up inspection"))))
    if case.status == "penalty_proposed" and case.reply_deadline:
        code = "hearing_request" if case.hearing_offered else "statement"
        out.append(Clock("hearing_window", case.reply_deadline, r.basis(code, locale)))
    if case.status in BEFORE_DECISION:
        out.append(_decision_clock(case, locale))
        due = labour_due(case)
        if due is not None:
            out.append(Clock("labour_investigation", due, r.basis("labour", locale)))
    referral = case.referral
    if referral is not None and referral.kind == "criminal" and referral.status == "pending" and referral.due_dt:
        out.append(Clock("criminal_transfer", referral.due_dt.astimezone(local_tz()).date(),
                         r.basis("criminal_transfer", locale), due_dt=referral.due_dt))
    if awaiting_service(case):
        out.append(Clock("decision_service", service_due(case), r.basis("decision_service", locale)))
    if case.status == "decided" and case.payment_due_on and (case.penalty_amount or 0) > 0:
        out.append(Clock("payment", case.payment_due_on, r.basis("payment", locale)))
    if case.status in AFTER_DECISION and case.publication_due_on and case.published_on is None:
        out.append(Clock("publication", case.publication_due_on, r.basis("publication", locale)))
    return sorted(out, key=lambda c: (c.due_on, c.code))


def refresh_due(case: Case) -> None:
    """Store the earliest running clock on the case (call after every change to it)."""
    clocks = case_clocks(case)
    first = clocks[0] if clocks else None
    due_on, kind = (first.due_on, first.code) if first else (None, None)
    if case.next_due_on != due_on or case.next_due_kind != kind:
        case.next_due_on, case.next_due_kind = due_on, kind


def horizon_for(today: date) -> date:
    return add_workdays(today, rules().clocks["due_soon_working_days"])


# --------------------------------------------------------------------------------------------
# Whose cases

def scoped_cases(user, scope: str = "auto") -> sa.Select:
    """Cases this user works on. ``scope``: ``mine`` (inspections the user was on), ``department``
    (the user's handling department), ``all`` (the user's county), ``auto`` (by role)."""
    reference = current_app.extensions["inspect_reference"]
    stmt = sa.select(Case)
    if user.region_code != reference.city.code:
        stmt = stmt.where(Case.region_code == user.region_code)
    roles = set(user.roles)
    if scope == "auto":
        if roles & {"admin", "planner", "viewer"}:
            scope = "all"
        elif "supervisor" in roles:
            scope = "department"
        else:
            scope = "mine"
    if scope == "department":
        stmt = stmt.where(Case.handling_department == user.department_code)
    elif scope == "mine":
        mine = sa.select(InspectionMember.inspection_id).where(InspectionMember.user_id == user.id)
        stmt = stmt.where(sa.or_(Case.inspection_id.in_(mine), Case.reinspection_id.in_(mine)))
    return stmt


def deadline_panel(user, today: date | None = None, limit: int = 50) -> dict:
    """Plain data for the overdue and due-soon lists (the supervisor's page, the inspector's today page):

    ``{"today", "horizon", "overdue": [row], "due_soon": [row]}`` with rows
    ``{"case_id", "referral_id", "entity_id", "entity_name", "clock", "label", "basis", "due_on", "due_dt",
    "state", "url"}``, most urgent first.
    """
    today = today or local_today()
    horizon = horizon_for(today)
    now = now_utc()
    rows = []
    if "cases.view" in _permissions(user):
        stmt = (scoped_cases(user).where(Case.next_due_on.is_not(None), Case.next_due_on <= horizon)
                .order_by(Case.next_due_on, Case.id).limit(limit))
        for case in db.session.scalars(stmt):
            for clock in case_clocks(case):
                state = clock.state(today, horizon, now)
                if state == "running":
                    continue
                rows.append({"case_id": case.id, "referral_id": None, "entity_id": case.entity_id,
                             "entity_name": case.entity.name, "clock": clock.code, "label": clock.label,
                             "basis": clock.basis, "due_on": clock.due_on, "due_dt": clock.due_dt, "state": state,
                             "url": url_for("cases.detail", case_id=case.id)})
    if "referrals.receive" in _permissions(user):
        rows += _inbox_rows(user, today, horizon, now, limit)
    rows.sort(key=lambda r: (r["due_on"], r["case_id"] or 0, r["referral_id"] or 0))
    return {"today": today, "horizon": horizon,
            "overdue": [r for r in rows if r["state"] == "overdue"],
            "due_soon": [r for r in rows if r["state"] == "due_soon"]}


def _inbox_rows(user, today, horizon, now, limit) -> list[dict]:
    """Referrals to the user's department that await acknowledgement (the 24-hour clock for crimes,
    else 3 working days to review: 移送规定 Art 8)."""
    from .referrals import inbox_query
    rows = []
    stmt = inbox_query(user).where(Referral.status.in_(("pending", "sent"))).limit(limit)
    for referral in db.session.scalars(stmt):
        if referral.kind == "criminal" and referral.due_dt:
            clock = Clock("criminal_transfer", referral.due_dt.astimezone(local_tz()).date(),
                          rules().basis("criminal_transfer", _locale()), due_dt=referral.due_dt)
        else:
            sent = (referral.sent_dt or referral.created_dt).astimezone(local_tz()).date()
            clock = Clock("referral_review", add_workdays(sent, 3),
                          str(_l("Provisions on the Transfer of Suspected Criminal Cases Art 8")))
        state = clock.state(today, horizon, now)
        if state == "running":
            continue
        rows.append({"case_id": None, "referral_id": referral.id, "entity_id": referral.entity_id,
                     "entity_name": referral.entity.name, "clock": clock.code, "label": clock.label,
                     "basis": clock.basis, "due_on": clock.due_on, "due_dt": clock.due_dt, "state": state,
                     "url": url_for("cases.referral", referral_id=referral.id)})
    return rows


def _permissions(user) -> set[str]:
    from ..auth.permissions import PERMISSIONS, has_permission
    return {p for p in PERMISSIONS if p.startswith(("cases.", "referrals.")) and has_permission(user, p)}


def calendar_note(day: date) -> str | None:
    """A warning when a date lies in a year the holiday calendar does not cover yet."""
    if coverage(day) == "weekdays":
        return str(_l("%(year)d's public holidays are not loaded yet: working days counted Monday to Friday.",
                      year=day.year))
    return None

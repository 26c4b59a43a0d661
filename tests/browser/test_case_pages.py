"""The case officer's pages in the browser: from the case list to the order to rectify, the penalty proposal,
the decision and its service, with the statutory clocks and the deadlines panel following."""
from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest

from tests.browser.test_shell import (MIN_TAP, TAP_TARGETS_JS, assert_closed_network, assert_no_horizontal_scroll,
                                      sign_in, visible_text)
from tests.cases_helpers import case_ids, complete_inspection, make_entity, team

pytestmark = pytest.mark.browser

CHILD_LABOUR = {"type_code": "child_labour_employment", "acting_department": "hrss", "item_code": "hrss.roster",
                "quantities": {"persons": 2, "months": 3}}


@pytest.fixture
def context_options():
    return {"has_touch": True}


@pytest.fixture
def open_case(app, make_user):
    """A completed inspection that found two children employed for three months: an open hrss case."""
    officers = team(make_user, "hrss")
    entity = make_entity(app, name="朔州市童工测试职业中介有限公司")
    inspection = complete_inspection(app, entity, [(officers[0], "hrss"), (officers[1], "hrss")], [CHILD_LABOUR])
    make_user("boss.cases", roles=("supervisor",), department="hrss", region="140602", full_name="李科长")
    return case_ids(app, inspection)["hrss"]


def _long(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _submit(page, form_selector):
    with page.expect_navigation():
        page.locator(f"{form_selector} button[type=submit]").tap()


def _step(page, step):
    return f"#steps form:has(input[name=step][value={step}])"


def _case(app, case_id):
    from inspect_app.cases.models import Case
    from inspect_app.extensions import db
    with app.app_context():
        case = db.session.get(Case, case_id)
        db.session.expunge(case)
        return case


def test_case_officer_orders_proposes_decides_and_serves(app, page, live_server, open_case, screenshot_dir):
    from inspect_app.cases.clocks import local_today, payment_due_from
    with app.app_context():
        today = local_today()
        expected_payment = payment_due_from(today)
    case_path = f"/cases/{open_case}"
    sign_in(page, live_server, "boss.cases")

    # the list: open the case by its business
    page.goto("/cases/")
    with page.expect_navigation():
        page.locator("table tbody a", has_text="朔州市童工测试职业中介有限公司").tap()
    assert urlsplit(page.url).path == case_path
    assert "立案" in page.locator("h1 .tag").inner_text()
    # the violation's figures and status in the officer's language, not the database's keys
    violation = page.locator("section.card:has(h2:text('违法行为')) tbody tr").first.inner_text()
    assert "涉及人数: 2" in violation and "月数: 3" in violation and "办理中" in violation, violation
    assert "persons" not in violation and "open" not in violation, violation
    facts_cell = page.locator("section.card:has(h2:text('违法行为')) tbody tr td").nth(1).bounding_box()
    assert facts_cell["width"] >= 120, f"the facts are squeezed into a {facts_cell['width']:.0f} px column"

    # order to rectify with a deadline: the clock and the deadlines panel show it
    deadline = today + timedelta(days=2)
    form = _step(page, "rectification_ordered")
    page.fill(f"{form} input[name=rectification_ordered-ordered_on]", today.isoformat())
    page.fill(f"{form} input[name=rectification_ordered-deadline]", deadline.isoformat())
    page.fill(f"{form} textarea[name=rectification_ordered-reason]", "责令立即清退童工并补发工资")
    _submit(page, form)
    assert urlsplit(page.url).path == case_path, visible_text(page)
    assert page.locator("h1 .tag").inner_text() == "已责令改正"
    facts = page.locator("dl.facts").inner_text()
    assert _long(deadline) in facts, facts
    clocks = page.locator("ul.deadline-list").first.inner_text()
    assert _long(deadline) in clocks, clocks
    assert_no_horizontal_scroll(page, "the case page")

    page.goto("/cases/")
    panel = page.locator("section.deadlines").inner_text()
    assert f"案件 #{open_case}" in panel and "朔州市童工测试职业中介有限公司" in panel, panel
    with page.expect_navigation():
        page.locator("section.deadlines a", has_text=f"案件 #{open_case}").tap()
    assert urlsplit(page.url).path == case_path

    # the re-inspection found the children still employed
    form = _step(page, "not_rectified")
    page.fill(f"{form} textarea[name=not_rectified-reason]", "复查发现仍使用童工")
    _submit(page, form)
    assert page.locator("h1 .tag").inner_text() == "逾期未改正", visible_text(page)

    # the penalty proposal shows the range the catalogue gives for 2 children x 3 months, not returned to
    # their guardians by the deadline: 10,000 yuan per child per month (禁止使用童工规定 Art 6)
    with page.expect_navigation():
        page.locator("#steps a", has_text="拟作出行政处罚").tap()
    assert urlsplit(page.url).path == f"{case_path}/penalty"
    assert page.locator("tfoot").inner_text().split()[-1] == "60,000–60,000", visible_text(page)
    assert page.locator("section.card .tag-warn").first.is_visible()  # refused to rectify, on record
    assert_no_horizontal_scroll(page, "the penalty proposal")
    page.fill("input[name=amount]", "60000")
    page.fill("input[name=notice_served_on]", today.isoformat())
    page.fill("textarea[name=reason]", "使用童工2名，共3个月，逾期未送回，按每人每月10000元")
    with page.expect_navigation():
        page.locator("button[name=action][value=propose]").tap()
    assert urlsplit(page.url).path == case_path, visible_text(page)
    facts = page.locator("dl.facts").inner_text()
    assert "60,000" in facts and "60,000–60,000" in facts, facts

    # the decision (the party waived the hearing in writing); not served on the spot
    form = _step(page, "decided")
    page.fill(f"{form} input[name=decided-decided_on]", today.isoformat())
    page.locator(f"{form} input[name=decided-waived]").check()
    page.fill(f"{form} textarea[name=decided-reason]", "当事人书面放弃陈述申辩和听证")
    _submit(page, form)
    assert page.locator("h1 .tag").inner_text() == "已作出处罚决定", visible_text(page)
    facts = page.locator("dl.facts").inner_text()
    assert "15" in facts and "送达" in facts, facts  # 15 days from the service, not yet served
    assert page.locator("#service").count() == 1

    # the service: the payment due date and the payment clock follow
    page.fill("#service input[name=service-served_on]", today.isoformat())
    page.select_option("#service select[name=service-manner]", "in_person")
    _submit(page, "#service form")
    assert urlsplit(page.url).path == case_path, visible_text(page)
    case = _case(app, open_case)
    assert (case.decision_served_on, case.payment_due_on) == (today, expected_payment)
    assert expected_payment >= today + timedelta(days=15)
    facts = page.locator("dl.facts").inner_text()
    assert _long(today) in facts and _long(expected_payment) in facts, facts
    clocks = page.locator("ul.deadline-list").first.inner_text()
    assert _long(expected_payment) in clocks, clocks
    assert _long(deadline) not in clocks, clocks  # the rectification clock stopped
    assert page.locator("#service").count() == 0
    assert_no_horizontal_scroll(page, "the decided case")
    problems = [f"case page  {p}" for p in page.evaluate(TAP_TARGETS_JS, MIN_TAP)]
    page.goto("/cases/")
    problems += [f"case list  {p}" for p in page.evaluate(TAP_TARGETS_JS, MIN_TAP)]
    assert not problems, f"tap targets smaller than {MIN_TAP} px:\n" + "\n".join(problems)
    page.goto(case_path)
    page.screenshot(path=str(screenshot_dir / "case-decided-1024x768.png"), full_page=True)
    assert_closed_network(page, live_server)

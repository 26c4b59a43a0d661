"""The planner's pages in the browser: a campaign from its form to the double-random draw, the calendar,
a cause-based inspection and a declared conflict, on the tablets."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from inspect_app.planning.draw import commitment_of
from tests.browser.test_shell import (MIN_TAP, TABLETS, TAP_TARGETS_JS, assert_closed_network,
                                      assert_no_horizontal_scroll, screenshot, sign_in, visible_text)
from tests.planning_helpers import SEED, add_entities, add_inspectors

pytestmark = pytest.mark.browser


@pytest.fixture(params=list(TABLETS), ids=list(TABLETS))
def viewport(request):
    return TABLETS[request.param]


@pytest.fixture
def context_options():
    return {"has_touch": True}


@pytest.fixture
def planning_data(app, make_user):
    """30 job agencies in two counties, hrss and samr inspectors in both, a planner of the city office."""
    from inspect_app.extensions import db
    from inspect_app.registry.models import Entity
    ids = add_entities(app, 30)
    add_inspectors(make_user)
    make_user("planner.web", roles=("planner",), department="hrss", region="140600", full_name="王计划")
    with app.app_context():
        first = db.session.get(Entity, ids[0])
        return {"entity_ids": ids, "credit_code": first.credit_code, "entity_name": first.name}


# ISO dates inside the elements matching the selector whose characters lie on more than one line
BROKEN_DATES_JS = r"""
(selector) => {
  const broken = [];
  for (const el of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/\d{4}-\d{2}-\d{2}/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        if (new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}
"""


def _check_layout(page, where, problems):
    assert_no_horizontal_scroll(page, where)
    problems += [f"{where}  {p}" for p in page.evaluate(TAP_TARGETS_JS, MIN_TAP)]


def _tap(page, selector):
    """Tap the control and wait for the page it submits to."""
    with page.expect_navigation():
        page.locator(selector).tap()


def test_planner_draws_a_campaign_and_plans_around_it(app, page, live_server, planning_data, backend, viewport,
                                                      screenshot_dir):
    from inspect_app.cases.clocks import local_today
    with app.app_context():
        today = local_today()
    start, end = today + timedelta(days=14), today + timedelta(days=25)
    problems: list[str] = []
    sign_in(page, live_server, "planner.web")

    page.goto("/campaigns/")
    _check_layout(page, "campaign list", problems)
    page.goto("/campaigns/new")
    _check_layout(page, "new campaign form", problems)
    page.fill("input[name=name]", "浏览器测试专项检查")
    page.select_option("select[name=lead_department]", "hrss")
    for box in page.locator("input[name=departments]").all():
        box.set_checked(box.get_attribute("value") in ("hrss", "samr"))
    for box in page.locator("input[name=kinds]").all():
        box.set_checked(box.get_attribute("value") == "job_agency")
    for box in page.locator("input[name=region_codes]").all():
        box.set_checked(box.get_attribute("value") in ("140602", "140681"))
    page.fill("input[name=start_date]", start.isoformat())
    page.fill("input[name=end_date]", end.isoformat())
    page.fill("input[name=sample_size]", "8")
    page.fill("input[name=team_size]", "2")
    page.fill("input[name=max_per_team_day]", "3")
    _tap(page, "form.card button[type=submit]")
    assert urlsplit(page.url).path.startswith("/campaigns/"), visible_text(page)
    text = visible_text(page)
    assert "浏览器测试专项检查" in text and "草稿" in text, text
    campaign_url = urlsplit(page.url).path
    _check_layout(page, "campaign page (draft)", problems)

    # 1. the commitment (the SHA-256 published beforehand) freezes the population
    page.fill("input[name=commit-seed_commitment]", commitment_of(SEED))
    _tap(page, "form:has(input[name=action][value=commit]) button[type=submit]")
    text = visible_text(page)
    assert commitment_of(SEED) in text and "30" in text, text

    # 2. the reveal: another seed does not match the commitment; the committed one draws
    page.fill("input[name=draw-seed]", SEED + " 改")
    _tap(page, "form:has(input[name=action][value=draw]) button[type=submit]")
    assert page.locator(".field-error input[name=draw-seed]").count() == 1, visible_text(page)
    page.fill("input[name=draw-seed]", SEED)
    _tap(page, "form:has(input[name=action][value=draw]) button[type=submit]")
    assert urlsplit(page.url).path == campaign_url
    team_days = page.locator("section.team-day")
    assert team_days.count() >= 2, visible_text(page)
    targets = page.locator("section.team-day ol li")
    assert targets.count() == 8, visible_text(page)
    first_day = team_days.first.inner_text()
    first_day_targets = team_days.first.locator("ol li a").all_inner_texts()
    assert "人社" in first_day and "市场" in first_day, first_day  # a joint team: one officer of each
    assert SEED in visible_text(page)
    _check_layout(page, "campaign page (drawn)", problems)
    # a day of the period is never broken across two lines ("2026-12-" / "25")
    broken = page.evaluate(BROKEN_DATES_JS, "dl.facts dd")
    assert not broken, f"dates of the period broken across two lines: {broken}"
    if viewport["width"] == 1024:
        screenshot(page, screenshot_dir, backend, "campaign-drawn")

    # a team-day's route sheet, as printed for the team
    with page.expect_navigation():
        team_days.first.locator("a.btn").tap()
    assert "/route/" in urlsplit(page.url).path
    route = visible_text(page)
    assert all(name in route for name in first_day_targets), (first_day_targets, route)
    _check_layout(page, "route sheet", problems)
    page.goto(campaign_url)

    # the calendar of working days x teams
    with page.expect_navigation():
        page.locator(".page-head a", has_text="日程").tap()
    assert urlsplit(page.url).path == f"{campaign_url}/calendar"
    calendar_text = visible_text(page)
    assert start.isoformat() in calendar_text or f"{start.month}月{start.day}日" in calendar_text, calendar_text
    _check_layout(page, "calendar", problems)

    # a cause-based inspection of a named business, with a joint team
    page.goto(f"{campaign_url}/cause")
    _check_layout(page, "cause-based inspection form", problems)
    page.fill("input[name=entity]", planning_data["credit_code"])
    page.fill("input[name=date]", (start + timedelta(days=1)).isoformat())
    page.fill("textarea[name=cause_note]", "群众举报收取高额中介费")
    for select in page.locator("select[name^=officer_]").all():
        values = [o for o in select.locator("option").evaluate_all("os => os.map(o => o.value)") if o]
        select.select_option(values[0])
    _tap(page, "form.card button[type=submit]")
    assert urlsplit(page.url).path == campaign_url, visible_text(page)
    cause_items = page.locator("section.team-day li", has=page.locator(".tag-warn"))
    assert cause_items.count() == 1, visible_text(page)
    assert planning_data["entity_name"] in cause_items.first.inner_text()

    # a declared conflict, then listed
    page.goto("/campaigns/conflicts")
    _check_layout(page, "declared conflicts", problems)
    page.select_option("select[name=user_id]", index=1)
    inspector = page.locator("select[name=user_id] option:checked").inner_text()
    page.fill("input[name=entity]", planning_data["credit_code"])
    page.fill("input[name=reason]", "其配偶为该中介法定代表人")
    _tap(page, "form.card button[type=submit]")
    rows = page.locator("table tbody tr")
    assert rows.count() == 1, visible_text(page)
    row = rows.first.inner_text()
    assert planning_data["entity_name"] in row and "其配偶为该中介法定代表人" in row, row
    assert inspector.split(" ")[0].split("（")[0] in row, (inspector, row)

    page.goto("/campaigns/leave")
    _check_layout(page, "leave", problems)

    assert not problems, (f"tap targets smaller than {MIN_TAP} x {MIN_TAP} px at {viewport}:\n" + "\n".join(problems))
    assert_closed_network(page, live_server)

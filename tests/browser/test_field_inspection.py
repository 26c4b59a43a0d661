"""A field inspection on a tablet, by touch, from today's route to the frozen record.

One full flow per tablet size (1024x768 landscape, 768x1024 portrait, touch enabled): sign in, today,
start with the partner's PIN, check in with an emulated position, answer the checklist, lose the
connection and reload without losing an answer, attach a photo, confirm violations (one a suspected
crime with its 24-hour clock), sign with finger strokes, see what the server says is missing, complete.
Every step leaves a screenshot in ``screenshot_dir`` (set INSPECT_SCREENSHOT_DIR to keep them).
"""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from tests.browser.test_shell import (MIN_TAP, TAP_TARGETS_JS, assert_closed_network, assert_no_horizontal_scroll,
                                      visible_text)
from tests.conftest import DEMO_PASSWORD
from tests.inspection_helpers import SITE, make_entity, make_inspection, noisy_jpeg, set_pins

pytestmark = pytest.mark.browser

TABLETS = {
    "landscape": {"width": 1024, "height": 768},
    "portrait": {"width": 768, "height": 1024},
}
PARTNER_PIN = "482915"
# A fix 40 m north of the agency's registered location (inspection_helpers.SITE, 朔城区).
FIX = {"latitude": SITE[0] + 0.00036, "longitude": SITE[1], "accuracy": 12}
FAR = {"latitude": SITE[0] + 0.009, "longitude": SITE[1], "accuracy": 20}  # 1 km north


@pytest.fixture(params=list(TABLETS), ids=list(TABLETS))
def viewport(request):
    return TABLETS[request.param]


@pytest.fixture
def context_options():
    return {"has_touch": True, "geolocation": FIX, "permissions": ["geolocation"]}


@pytest.fixture
def field_inspection(app, make_user):
    """Two officers of two departments (the partner has a PIN) and today's inspection of a job agency."""
    lead = make_user("liu.hrss", full_name="刘人社", roles=("inspector",), department="hrss", region="140602",
                     credential="14060201001")
    partner = make_user("chen.samr", full_name="陈市监", roles=("inspector",), department="samr", region="140602",
                        credential="14060202001")
    planner = make_user("wang.plan", full_name="王策划", roles=("planner",), department="hrss", region="140600")
    set_pins(app, [partner], PARTNER_PIN)
    entity = make_entity(app, name="朔州市众诚人力资源服务有限公司")
    inspection = make_inspection(app, entity, [lead, partner], creator=planner)
    return {"inspection_id": inspection, "lead": "liu.hrss", "partner": "chen.samr"}


def shot(page, directory, name, full_page=True):
    """A screenshot of the step; the checklist's is the screen as the inspector sees it (its bars stick)."""
    size = page.viewport_size
    path = directory / f"field-{size['width']}x{size['height']}-{name}.png"
    if full_page:
        page.evaluate("window.scrollTo(0, 0)")  # else the sticky step bar lands mid-page in the picture
    page.screenshot(path=str(path), full_page=full_page)
    return path


def wait_saved(page):
    """The save indicator says everything reached the server (selectors, not scripts: the CSP forbids eval)."""
    page.locator("[data-sync].sync-saved[data-count='0']").wait_for()


def assert_tap_targets(page, where):
    problems = page.evaluate(TAP_TARGETS_JS, MIN_TAP)
    assert not problems, f"tap targets under {MIN_TAP} px on {where} at {page.viewport_size}:\n" + "\n".join(problems)


def stored(app, inspection_id):
    from inspect_app.extensions import db
    from inspect_app.inspection.models import Inspection
    with app.app_context():
        inspection = db.session.get(Inspection, inspection_id)
        return {
            "status": inspection.status,
            "answers": {a.item_code: (a.result, a.value, a.note) for a in inspection.answers},
            "evidence": [(e.item_code, e.mime) for e in inspection.evidence],
            "violations": [(v.type_code, v.criminal, [e.id for e in v.evidence]) for v in inspection.violations],
            "signatures": sorted((s.slot, s.refused, bool(s.image_png)) for s in inspection.signatures),
            "attestations": sorted((a.user.username, a.method) for a in inspection.attestations),
            "checkins": [(c.lat, c.lon, c.accuracy_m, c.flags) for c in inspection.checkins],
            "record_sha256": inspection.record_sha256,
        }


def jpeg_bytes() -> bytes:
    from PIL import Image, ImageDraw
    image = Image.new("RGB", (800, 600), (235, 235, 225))
    draw = ImageDraw.Draw(image)
    draw.rectangle((80, 80, 720, 520), outline=(180, 30, 30), width=12)
    draw.text((120, 280), "licence wall / 证照公示墙", fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def current_card(page):
    return page.locator("[data-item].is-current")


def answer_current(page, failing=False):
    """Answer the card on screen the way an inspector would; returns its item code."""
    card = current_card(page)
    code = card.get_attribute("data-item")
    kind = card.get_attribute("data-type")
    if kind == "yes_no_na":
        result = "fail" if failing else "pass"
        card.locator(f"button[data-result={result}]").first.tap()
    elif kind == "photo":  # the photo is the answer
        card.locator("[data-photo-input]").set_input_files(
            files=[{"name": f"{code}.jpg", "mimeType": "image/jpeg", "buffer": noisy_jpeg(seed=len(code))}])
        card.locator("[data-thumbs] li:not(.is-waiting) img").wait_for()
    elif kind == "number":
        card.locator("[data-value-input]").fill("45")
        card.locator("[data-value-input]").dispatch_event("change")
    elif kind == "text":
        card.locator("[data-value-input]").fill("现场秩序正常。")
        card.locator("[data-value-input]").dispatch_event("change")
    elif kind == "staff_roster":
        roster_by_touch(page, code)
    return code


def roster_by_touch(page, code):
    """Two people typed in, saved; the server shows them masked with their ages; a third added later goes with
    the first two sent back masked; a note on the card keeps the roster."""
    card = page.locator(f"[data-item='{code}']")
    for name, number in (("张三", "140602199001011236"), ("李四", "140602200203150029")):
        card.locator("[data-roster-add]").tap()
        row = card.locator("[data-roster-new] tr").last
        row.locator("[data-field=name]").fill(name)
        row.locator("[data-field=id_number]").fill(number)
    card.locator("[data-roster-save]").tap()
    card.locator("[data-roster-saved] tr:nth-child(2) code:has-text('1406')").wait_for()
    assert "140602199001011236" not in card.inner_text()
    card.locator("[data-roster-add]").tap()
    row = card.locator("[data-roster-new] tr").last
    row.locator("[data-field=name]").fill("王五")
    row.locator("[data-field=id_number]").fill("140602199507200018")
    card.locator("[data-roster-save]").tap()
    card.locator("[data-roster-saved] tr:nth-child(3)").wait_for()
    card.locator("[data-note]").fill("名册与现场人员核对一致。")
    card.locator("[data-note]").dispatch_event("change")
    wait_saved(page)


def go_next(page):
    before = current_card(page).get_attribute("data-item")
    page.locator("[data-run-nav] [data-next]").tap()
    page.locator(f"[data-item].is-current:not([data-item='{before}'])").wait_for()


def stroke(page, canvas, touch=False):
    """A signature: a few strokes across the pad, by mouse or by finger (CDP touch events)."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    points = [(box["x"] + box["width"] * (0.1 + 0.08 * i),
               box["y"] + box["height"] * (0.5 + (0.25 if i % 2 else -0.25))) for i in range(10)]
    if not touch:
        page.mouse.move(*points[0])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(x, y, steps=4)
        page.mouse.up()
        return
    cdp = page.context.new_cdp_session(page)
    x, y = points[0]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for x, y in points[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    # the finger rests before it lifts, as at the end of a signature: a moving lift-off is a fling, and
    # chromium swallows the tap that stops a fling (the "save" tap would then do nothing)
    page.wait_for_timeout(150)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    page.wait_for_timeout(150)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def sign_in(page, username):
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form:has(input[name=password]) button[type=submit]")


def test_field_inspection_by_touch(page, app, live_server, field_inspection, screenshot_dir, capsys):
    inspection_id = field_inspection["inspection_id"]
    base = f"/inspections/{inspection_id}"

    # Today: the inspector lands on the route.
    sign_in(page, field_inspection["lead"])
    assert page.url.endswith("/today"), f"an inspector should land on today's route, not {page.url}"
    text = visible_text(page)
    assert "朔州市众诚人力资源服务有限公司" in text and "今日任务" in text, text
    nav = page.locator(".stop a[href^='geo:']")
    assert re.match(r"^geo:39\.33\d*,112\.43\d*", nav.get_attribute("href")), nav.get_attribute("href")
    assert_tap_targets(page, "today")
    assert_no_horizontal_scroll(page, "today")
    shot(page, screenshot_dir, "01-today")

    # Start: party present, own attestation, then the partner confirms with their PIN on this tablet.
    page.locator(".stop .btn-go").tap()
    page.wait_for_url(f"**{base}/start")
    page.fill("input[name=start-party_name]", "李娟")
    page.fill("input[name=start-party_role]", "法定代表人")
    page.locator("input[name=start-attest]").check()
    with page.expect_navigation():
        page.locator("button[name=action][value=start]").tap()
    partner = page.locator("form.attest-partner")
    partner.locator("input[name=partner-attest]").check()
    partner.locator("input[name=partner-secret]").fill("000000")
    shot(page, screenshot_dir, "02-start-partner-pin")
    with page.expect_navigation():
        partner.locator("button[value=partner]").tap()
    assert "PIN" in visible_text(page) or "错误" in visible_text(page)  # a wrong PIN is refused
    partner = page.locator("form.attest-partner")
    partner.locator("input[name=partner-attest]").check()
    partner.locator("input[name=partner-secret]").fill(PARTNER_PIN)
    with page.expect_navigation():
        partner.locator("button[value=partner]").tap()
    assert page.locator(".officer-done").count() == 2, visible_text(page)
    assert_tap_targets(page, "start")
    shot(page, screenshot_dir, "02-start-confirmed")
    assert stored(app, inspection_id)["attestations"] == [("chen.samr", "pin"), ("liu.hrss", "session")]

    # Check-in with the emulated position.
    page.locator(".next-step a").tap()
    page.wait_for_url(f"**{base}/check-in")
    if page.viewport_size["width"] < page.viewport_size["height"]:
        # portrait: the first fix is 1 km off (the venue moved next door?): the server asks for a reason
        page.context.set_geolocation(FAR)
        page.locator("[data-locate]").tap()
        reason = page.locator("textarea[name=reason]")
        reason.wait_for()
        assert "说明原因" in page.locator("[data-checkin-status]").inner_text()
        shot(page, screenshot_dir, "03-check-in-reason")
        assert stored(app, inspection_id)["checkins"] == []
        page.traffic.console_errors.remove("Failed to load resource: the server responded with a status of 422 "
                                           "(UNPROCESSABLE ENTITY)")  # that answer was the question for a reason
        reason.fill("登记地址已拆迁，经营者在东侧临街新址营业。")
        page.locator("[data-checkin-submit]").tap()
        page.wait_for_selector(".checkin-status.is-flagged:has-text('已签到')")
        page.wait_for_selector(".checkin-row.checkin-flagged")
        checkin = stored(app, inspection_id)["checkins"]
        assert len(checkin) == 1 and checkin[0][3] == ["far"], checkin
        shot(page, screenshot_dir, "03-check-in")
    else:
        page.locator("[data-locate]").tap()
        page.wait_for_selector(".checkin-status.is-ok")
        shot(page, screenshot_dir, "03-check-in")
        page.wait_for_selector(".checkin-row")
        checkin = stored(app, inspection_id)["checkins"]
        assert len(checkin) == 1 and abs(checkin[0][0] - FIX["latitude"]) < 1e-6 and checkin[0][2] == 12, checkin
        assert checkin[0][3] == [], checkin  # 40 m away: not flagged

    # The checklist, one card at a time.
    page.locator(".next-step a").tap()
    page.wait_for_url(f"**{base}/checklist*")
    total = int(page.locator("[data-run]").get_attribute("data-total"))
    assert total > 20
    assert_tap_targets(page, "checklist")
    assert_no_horizontal_scroll(page, "checklist")
    shot(page, screenshot_dir, "04-checklist-first", full_page=False)

    # the first item fails: a note and a photo go with it
    failed = answer_current(page, failing=True)
    card = page.locator(f"[data-item='{failed}']")
    card.locator("[data-note]").fill("现场未见人力资源服务许可证。")
    card.locator("[data-photo-input]").set_input_files(
        files=[{"name": "licence.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}])
    card.locator("[data-thumbs] li:not(.is-waiting) img").wait_for()
    wait_saved(page)
    shot(page, screenshot_dir, "05-failed-item-with-photo", full_page=False)
    go_next(page)

    # answer on; the first red flag fails (a suspected crime)
    red_flag = None
    for n in range(1, total):
        code = current_card(page).get_attribute("data-item")
        card = page.locator(f"[data-item='{code}']")
        kind = card.get_attribute("data-type")
        fail = "item-flag" in (card.get_attribute("class") or "") and red_flag is None
        answer_current(page, failing=fail)
        if kind == "staff_roster":
            card.scroll_into_view_if_needed()
            shot(page, screenshot_dir, "06-roster", full_page=False)
        if fail:
            red_flag = code
            assert card.locator("[data-redflag-warning]").is_visible()
            shot(page, screenshot_dir, "07-red-flag", full_page=False)
        if n == total - 1:
            break
        if kind == "yes_no_na" and not fail:  # a clean answer moves on by itself
            page.locator(f"[data-item].is-current:not([data-item='{code}'])").wait_for()
        else:
            go_next(page)
    wait_saved(page)
    assert red_flag, "the joint red-flag list is on every inspection"
    answers = stored(app, inspection_id)["answers"]
    assert answers[failed][0] == "fail" and answers[failed][2] == "现场未见人力资源服务许可证。"
    roster = next(value for code, (_, value, _) in answers.items() if code.endswith("placed_persons"))
    people = [(p["name"], p["age"] is not None) for p in roster["people"]]
    assert people == [("张三", True), ("李四", True), ("王五", True)], roster
    assert answers[red_flag][0] == "fail"
    evidence = stored(app, inspection_id)["evidence"]
    assert evidence[0] == (failed, "image/jpeg") and all(mime == "image/jpeg" for _, mime in evidence), evidence

    # Offline: an answer made without a connection survives a reload and reaches the server later.
    page.goto(f"{base}/checklist#item-{failed}")
    change = current_card(page)
    assert change.get_attribute("data-item") == failed
    page.context.set_offline(True)
    change.locator("[data-note]").fill("复核：许可证在后台办公室，已拍照。")
    change.locator("button[data-result=pass]").first.tap()
    # one change waiting (the note and the tap are one answer: the later replaces the earlier)
    page.locator("[data-sync].sync-offline[data-count='1']").wait_for()
    assert page.locator("[data-sync]").inner_text().strip() == "离线 · 1"
    assert "1 项修改保存在本平板上" in page.locator("[data-sync]").get_attribute("title")
    shot(page, screenshot_dir, "08-offline-waiting", full_page=False)
    # back on the network, but the server still out of reach when the page reloads
    page.context.route(re.compile(r".*/api/v1/inspections/.*"), lambda route: route.abort("connectionfailed"))
    page.context.set_offline(False)
    page.reload()
    restored = page.locator(f"[data-item='{failed}']")
    restored.locator("[data-item-saved].is-waiting").wait_for()
    assert restored.locator("button[data-result=pass]").first.get_attribute("aria-pressed") == "true"
    assert restored.locator("[data-note]").input_value() == "复核：许可证在后台办公室，已拍照。"
    assert stored(app, inspection_id)["answers"][failed][0] == "fail", "not sent yet"
    shot(page, screenshot_dir, "09-restored-after-reload", full_page=False)
    page.context.unroute(re.compile(r".*/api/v1/inspections/.*"))
    page.locator("[data-sync]").tap()  # the indicator retries at once (the back-off would, later)
    wait_saved(page)
    assert stored(app, inspection_id)["answers"][failed][:3:2] == ("pass", "复核：许可证在后台办公室，已拍照。")
    # the refused requests while the server was "away" are not faults of the page
    page.traffic.failed.clear()
    page.traffic.console_errors[:] = [m for m in page.traffic.console_errors
                                      if "ERR_INTERNET_DISCONNECTED" not in m and "ERR_CONNECTION_FAILED" not in m]
    # and fail it again for the violation below
    current_card(page).locator("button[data-result=fail]").first.tap()
    wait_saved(page)

    # Violations: each failed item proposes its type; confirm with the facts and the photo.
    page.goto(f"{base}/violations")
    proposals = page.locator("[data-proposal]")
    assert proposals.count() == 2, visible_text(page)
    shot(page, screenshot_dir, "10-violations-proposed")
    while page.locator("[data-proposal]").count():
        proposal = page.locator("[data-proposal]").first
        proposal.locator("textarea[name=description]").fill("检查时发现：现场情况与检查表记录一致，已拍照固定证据。")
        photo = proposal.locator("input[name=evidence_ids]")
        if photo.count():
            photo.first.check()
        with page.expect_navigation():
            proposal.locator("button[type=submit]").tap()
    assert page.locator(".violation-recorded").count() == 2
    clock = page.locator("[data-clock]")
    assert re.search(r"\d+:\d\d:\d\d", clock.inner_text()), clock.inner_text()
    assert_tap_targets(page, "violations")
    shot(page, screenshot_dir, "11-violations-recorded")
    violations = stored(app, inspection_id)["violations"]
    assert any(criminal for _, criminal, _ in violations), violations
    assert any(evidence for _, _, evidence in violations), violations

    # Complete before signing: the server's precise list of what is missing.
    page.goto(f"{base}/complete")
    missing = page.locator("[data-missing]")
    assert "签名" in missing.inner_text(), missing.inner_text()
    shot(page, screenshot_dir, "12-complete-missing")

    # Signatures: both officers by mouse and by finger, the party by finger.
    page.goto(f"{base}/sign")
    assert_tap_targets(page, "signatures")
    pads = page.locator("[data-sig-form]")
    assert pads.count() == 3
    for n in range(3):
        form = page.locator("[data-sig-form]").first
        stroke(page, form.locator("canvas[data-pad]"), touch=n > 0)
        if n == 0:
            shot(page, screenshot_dir, "13-signing")
        with page.expect_navigation():
            form.locator("[data-pad-save]").tap()
    assert page.locator(".sig-done").count() == 3
    shot(page, screenshot_dir, "14-signed")
    signatures = stored(app, inspection_id)["signatures"]
    assert [slot for slot, _, image in signatures if image] and len(signatures) == 3, signatures

    # Complete: the record is frozen and shows its SHA-256.
    page.goto(f"{base}/complete")
    with page.expect_navigation():
        page.locator("[data-complete-form] button").tap()
    page.wait_for_url(f"**{base}/record")
    final = stored(app, inspection_id)
    assert final["status"] == "completed"
    assert page.locator("[data-record-sha]").inner_text().strip() == final["record_sha256"]
    assert "只读" in visible_text(page)
    assert_no_horizontal_scroll(page, "the record")
    shot(page, screenshot_dir, "15-record")
    # a completed inspection's step pages show the record, not a form
    page.goto(f"{base}/checklist")
    page.wait_for_url(f"**{base}/record")

    # the only error answer was the server asking for the reason of a far check-in (portrait)
    expected = [r for r in page.traffic.bad_responses if r.startswith("422 ") and r.endswith("/check-in")]
    assert len(expected) == (1 if page.viewport_size["width"] < page.viewport_size["height"] else 0)
    page.traffic.bad_responses[:] = [r for r in page.traffic.bad_responses if r not in expected]
    assert_closed_network(page, live_server)
    with capsys.disabled():
        print(f"\nfield inspection screenshots: {screenshot_dir}")


def test_planner_creates_a_single_inspection(page, app, live_server, make_user, screenshot_dir):
    from inspect_app.extensions import db
    from inspect_app.inspection.models import Inspection

    make_user("liu.hrss", full_name="刘人社", roles=("inspector",), department="hrss", region="140602")
    make_user("chen.samr", full_name="陈市监", roles=("inspector",), department="samr", region="140602")
    make_user("wang.plan", full_name="王策划", roles=("planner",), department="hrss", region="140600")
    make_entity(app, name="朔州市新起点职业介绍所")
    sign_in(page, "wang.plan")
    page.goto("/inspections/new")
    page.fill("input[name=q]", "新起点")
    with page.expect_navigation():
        page.locator("form[role=search] button").tap()
    with page.expect_navigation():
        page.locator("table a.btn").first.tap()
    page.locator("label:has-text('刘人社') input").check()
    page.locator("label:has-text('陈市监') input").check()
    page.fill("textarea[name=cause_note]", "群众举报：收取求职者押金。")
    shot(page, screenshot_dir, "20-new-inspection")
    with page.expect_navigation():
        page.locator("main form[method=post] button[type=submit]").tap()
    with app.app_context():
        rows = db.session.scalars(sa.select(Inspection)).all()
        assert len(rows) == 1 and {m.user.username for m in rows[0].members} == {"liu.hrss", "chen.samr"}
        assert rows[0].cause_note == "群众举报：收取求职者押金。"
    assert not live_server.errors, live_server.errors

"""Today's pages on a tablet that loses its connection (static/js/field-sw.js).

An inspector opens /today online; the service worker keeps the pages of the day's inspections. Offline, the
step pages open from those copies with the banner "offline copy from HH:MM"; an answer given on a copy waits in
the outbox and reaches the server when the connection returns. Signing out deletes the copies, so the next
person on the tablet cannot open them. Without service workers the pages work as before.
"""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser.test_field_inspection import answer_current, sign_in, stored, wait_saved
from tests.browser.test_shell import assert_closed_network, visible_text
from tests.inspection_helpers import make_entity, make_inspection

pytestmark = pytest.mark.browser

FIRST, SECOND = "朔州市众诚人力资源服务有限公司", "朔州市新起点职业介绍所"
BANNER = re.compile(r"^离线副本（保存于 \d\d:\d\d）$")
CACHE_NAMES = "async () => await caches.keys()"


@pytest.fixture
def context_options():
    return {"has_touch": True, "service_workers": "allow"}


@pytest.fixture
def day_of_two(app, make_user):
    """Two inspections today for the same team: one in progress (its checklists pinned), one planned."""
    from inspect_app.auth.models import User
    from inspect_app.extensions import db
    from inspect_app.inspection import services
    from inspect_app.inspection.models import Inspection

    lead = make_user("liu.hrss", full_name="刘人社", roles=("inspector",), department="hrss", region="140602")
    partner = make_user("chen.samr", full_name="陈市监", roles=("inspector",), department="samr", region="140602")
    planner = make_user("wang.plan", full_name="王策划", roles=("planner",), department="hrss", region="140600")
    started = make_inspection(app, make_entity(app, name=FIRST), [lead, partner], creator=planner)
    planned = make_inspection(app, make_entity(app, name=SECOND), [lead, partner], creator=planner)
    with app.test_request_context():
        services.start_inspection(db.session.get(Inspection, started), db.session.get(User, lead))
        db.session.commit()
    return {"lead": lead, "started": started, "planned": planned}


def page_caches(page) -> list[str]:
    return sorted(name for name in page.evaluate(CACHE_NAMES) if name.startswith("field-pages-"))


def copy_made_at(page, origin, path) -> int:
    """When the worker made its copy of ``path`` (ms since the epoch; 0 when there is none)."""
    return page.evaluate("""async (url) => {
      for (const name of await caches.keys()) {
        const kept = name.startsWith('field-pages-') && await (await caches.open(name)).match(url);
        if (kept) { return Number(kept.headers.get('X-Field-Copy-At')); }
      }
      return 0;
    }""", origin + path)


def wait_until(check, timeout=10.0):
    """Poll a condition read through the page (the CSP forbids the eval that wait_for_function needs)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def banner_text(page) -> str:
    banner = page.locator("[data-offline-banner]")
    banner.wait_for()
    return banner.locator("[data-offline-text]").inner_text().strip()


def test_todays_pages_open_offline_and_answers_wait_in_the_outbox(page, app, live_server, day_of_two,
                                                                  screenshot_dir, capsys):
    timings = {}
    clock = time.monotonic()
    started, planned = day_of_two["started"], day_of_two["planned"]
    base = f"/inspections/{started}"

    # Online: /today asks the worker to keep the day's pages and says how many it kept.
    sign_in(page, "liu.hrss")
    assert page.url.endswith("/today")
    status = page.locator("[data-offline-status][data-pages]")
    status.wait_for()
    timings["precache"] = int(status.get_attribute("data-ms"))
    pages, size = int(status.get_attribute("data-pages")), int(status.get_attribute("data-bytes"))
    # /today, the six steps of the one in progress, the five open steps of the planned one (its workspace and
    # checklist are kept as redirects to its start, and so is the workspace of the one in progress)
    assert pages == 1 + 6 + 5, pages
    assert status.inner_text().strip() == f"已保存在本平板上、无网络时也能打开的页面：{pages} 个"
    assert page.locator("[data-offline-banner]").is_hidden(), "an online page is not a copy"
    assert page_caches(page) == [f"field-pages-{day_of_two['lead']}"], page.evaluate(CACHE_NAMES)

    # Offline: another step page of today's inspection opens from the copy, with the banner, styled.
    page.context.set_offline(True)
    page.goto(f"{base}/checklist")
    assert BANNER.match(banner_text(page)), banner_text(page)
    assert FIRST in visible_text(page)
    assert page.evaluate("getComputedStyle(document.querySelector('.ws-sticky')).position") == "sticky", \
        "the field pages' CSS comes from the worker's cache too"
    page.locator("[data-sync].sync-offline-none").wait_for()
    page.screenshot(path=str(screenshot_dir / "field-offline-checklist.png"))

    # An answer on the copy waits in the outbox; the server has nothing yet.
    code = answer_current(page)
    page.locator("[data-sync].sync-offline[data-count='1']").wait_for()
    assert code not in stored(app, started)["answers"]
    page.screenshot(path=str(screenshot_dir / "field-offline-checklist-waiting.png"))

    # Moving between steps offline: every step is a copy, and the waiting answer is back on its card.
    page.locator(".steps a[href$='/violations']").tap()
    page.wait_for_url(f"**{base}/violations")
    assert BANNER.match(banner_text(page))
    page.locator(".steps a[href$='/checklist']").tap()
    page.wait_for_url(f"**{base}/checklist")
    page.locator(f"[data-item='{code}'] [data-item-saved].is-waiting").wait_for()
    # /today and its buttons too: the planned inspection opens at its first step (a kept redirect)
    page.goto("/today")
    assert BANNER.match(banner_text(page))
    page.locator(f".stop:has-text('{SECOND}') .btn-go").tap()
    page.wait_for_url(f"**/inspections/{planned}/start")
    assert BANNER.match(banner_text(page)) and SECOND in visible_text(page)
    # a step that must reach the server (not through the outbox) says so instead of the browser's error page
    page.fill("input[name=start-party_name]", "王芳")
    page.fill("input[name=start-party_role]", "店长")
    page.locator("input[name=start-attest]").check()
    page.locator("button[name=action][value=start]").tap()
    note = page.locator("[data-offline-note]")
    note.wait_for()
    assert note.inner_text().startswith("没有网络连接：这一步必须提交到服务器"), note.inner_text()
    assert page.url.endswith(f"/inspections/{planned}/start")
    page.screenshot(path=str(screenshot_dir / "field-offline-start.png"))
    timings["offline walk"] = round(time.monotonic() - clock, 1)

    # Back online: the outbox sends the answer (the tablet's "online" event), the server has it.
    page.goto(f"{base}/checklist")
    copied_at = page.locator("[data-offline-banner]").get_attribute("data-offline-copy")
    page.context.set_offline(False)
    wait_saved(page)
    assert stored(app, started)["answers"][code][0] == "pass"
    # a few seconds later the copy of the page is made again: offline, the answer is there as the server's
    renewed = wait_until(lambda: copy_made_at(page, live_server.url, f"{base}/checklist") > int(copied_at))
    assert renewed, "the copy of the page was not made again after the answer reached the server"
    page.context.set_offline(True)
    page.reload()
    assert BANNER.match(banner_text(page))
    card = page.locator(f"[data-item='{code}']")
    assert card.get_attribute("data-answered") == "true"
    assert card.locator("button[data-result=pass]").first.get_attribute("aria-pressed") == "true"
    assert page.locator("[data-sync]").get_attribute("data-count") == "0", "nothing waits: it came from the server"
    page.context.set_offline(False)
    before = page.evaluate("Date.now()")
    page.goto(f"{base}/violations")  # a page opened online is kept as the server answered it
    assert page.locator("[data-offline-banner]").is_hidden()
    assert wait_until(lambda: copy_made_at(page, live_server.url, f"{base}/violations") >= before)

    # Signing out deletes the copies: the next person on the tablet cannot open them offline.
    with page.expect_navigation():
        page.locator("header form[action='/logout'] button").tap()
    assert page.url.endswith("/login")
    assert wait_until(lambda: not page_caches(page)), page.evaluate(CACHE_NAMES)
    assert copy_made_at(page, live_server.url, f"{base}/checklist") == 0
    page.context.set_offline(True)
    with pytest.raises(PlaywrightError, match="ERR_INTERNET_DISCONNECTED|ERR_FAILED"):
        page.goto(f"{base}/checklist")  # the browser's own error page: no copy to show
    page.context.set_offline(False)
    timings["total"] = round(time.monotonic() - clock, 1)

    # the requests refused while offline are the test's doing, not faults of the page
    page.traffic.failed.clear()
    page.traffic.console_errors[:] = [m for m in page.traffic.console_errors
                                      if "ERR_INTERNET_DISCONNECTED" not in m and "ERR_FAILED" not in m]
    assert_closed_network(page, live_server)
    with capsys.disabled():
        print(f"\noffline copies: {pages} pages, {size} bytes for 2 inspections; timings (s, precache ms): "
              f"{timings}; screenshots in {screenshot_dir}")


def test_a_new_version_keeps_the_copies_usable(page, app, live_server, day_of_two, monkeypatch):
    """A deployment changes the static files: the tablet installs the new worker, which drops the old files;
    a copy kept before still opens offline, styled and with its banner (the older file's name, today's file)."""
    base = f"/inspections/{day_of_two['started']}"
    sign_in(page, "liu.hrss")
    page.locator("[data-offline-status][data-pages]").wait_for()
    page.goto(f"{base}/checklist")  # not /today: nothing asks for new copies after the update
    old = [name for name in page.evaluate(CACHE_NAMES) if name.startswith("field-static-")]
    assert len(old) == 1, old

    import inspect_app.assets
    monkeypatch.setattr(inspect_app.assets, "static_version", lambda filename: "0000000000ff")
    page.evaluate("navigator.serviceWorker.getRegistration().then((registration) => registration.update())")
    new = wait_until(lambda: [name for name in page.evaluate(CACHE_NAMES)
                              if name.startswith("field-static-") and name not in old])
    assert new and wait_until(lambda: old[0] not in page.evaluate(CACHE_NAMES)), page.evaluate(CACHE_NAMES)

    page.context.set_offline(True)
    page.goto(f"{base}/sign")
    assert BANNER.match(banner_text(page))
    assert 'field.css?v=0000000000ff' not in page.content(), "this copy was kept before the update"
    assert page.evaluate("getComputedStyle(document.querySelector('.ws-sticky')).position") == "sticky"
    page.context.set_offline(False)


@pytest.fixture
def no_service_workers(page):
    """A browser without service workers."""
    page.context.add_init_script("delete Navigator.prototype.serviceWorker;")
    return page


def test_without_service_workers_the_pages_work_online(no_service_workers, app, live_server, day_of_two):
    page = no_service_workers
    sign_in(page, "liu.hrss")
    assert page.evaluate("'serviceWorker' in navigator") is False
    assert FIRST in visible_text(page)
    page.goto(f"/inspections/{day_of_two['started']}/checklist")
    code = answer_current(page)
    wait_saved(page)
    assert stored(app, day_of_two["started"])["answers"][code][0] == "pass"
    assert page.locator("[data-offline-banner]").is_hidden()
    assert not [url for url in page.traffic.requests if url.endswith("/field-sw.js")]
    assert_closed_network(page, live_server)

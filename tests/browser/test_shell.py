"""The page shell on the field tablets: sign-in, Chinese by default, tap targets, layout, closed network."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser

TABLETS = {
    "landscape": {"width": 1024, "height": 768},
    "portrait": {"width": 768, "height": 1024},
}
MIN_TAP = 44  # px (CSS), the --tap size in app.css and WCAG 2.5.5's 44 x 44


@pytest.fixture(params=list(TABLETS), ids=list(TABLETS))
def viewport(request):
    return TABLETS[request.param]


@pytest.fixture
def admin(make_user):
    make_user(username="admin.sz", full_name="张建国", roles=("admin",), department="samr", region="140600")
    return "admin.sz"


def sign_in(page, live_server, username, password=DEMO_PASSWORD):
    """Open the home page, get sent to the sign-in form, fill it in and land on the home page."""
    page.goto("/")
    assert urlsplit(page.url).path == "/login", f"/ did not redirect to the sign-in page but to {page.url}"
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form:has(input[name=password]) button[type=submit]")
    assert page.url == live_server.url + "/", (
        f"signing in as {username} landed on {page.url}, not the home page; it says:\n{visible_text(page)}")


def visible_text(page) -> str:
    return page.inner_text("body")


def screenshot(page, directory, backend, name):
    size = page.viewport_size
    path = directory / f"{name}-{size['width']}x{size['height']}-{backend}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_closed_network(page, live_server):
    """Every request went to the live server, nothing failed, no script error, no server exception."""
    traffic = page.traffic
    own = live_server.url + "/"
    outside = [url for url in traffic.requests if not url.startswith(own) and not url.startswith(("data:", "blob:"))]
    assert not outside, f"requests outside the live server (the product must work on a closed network): {outside}"
    # net::ERR_ABORTED is the browser dropping a request of a page it navigates away from (a favicon
    # still loading when the test clicks on): not a fault. Refused outside requests are reported above.
    failed = [failure for failure in traffic.failed if not failure.endswith("net::ERR_ABORTED")]
    assert not failed, f"failed requests: {failed}"
    assert not traffic.bad_responses, f"error responses: {traffic.bad_responses}"
    assert not traffic.page_errors, f"uncaught JavaScript errors: {traffic.page_errors}"
    assert not traffic.console_errors, f"console errors (CSP violations show up here): {traffic.console_errors}"
    assert not live_server.errors, f"exceptions in the application: {live_server.errors}"


def test_sign_in_lands_on_chinese_home(page, live_server, admin, backend, screenshot_dir):
    page.goto("/")
    assert urlsplit(page.url).path == "/login"
    assert page.get_attribute("html", "lang") == "zh-CN"
    login_text = visible_text(page)
    assert "登录" in login_text, login_text
    screenshot(page, screenshot_dir, backend, "login")

    sign_in(page, live_server, admin)
    assert page.get_attribute("html", "lang") == "zh-CN"
    text = visible_text(page)
    for expected in ("朔州市联合执法检查系统", "退出登录", "欢迎", "张建国", "用户管理", "审计日志"):
        assert expected in text, f"{expected!r} is not on the home page; its text is:\n{text}"
    assert "朔州市联合执法检查系统" in page.title()
    screenshot(page, screenshot_dir, backend, "home")
    assert_closed_network(page, live_server)


# Tap targets. Every visible control inside header, nav and main must be at least 44 x 44 CSS px.
# Exempt (WCAG 2.5.8's "inline" exception): a link laid out inline (computed display: inline) inside
# running text -- a paragraph, a table cell, a definition -- whose size is set by the line height of
# the text around it; enlarging it would break the text. Links in header/nav are never exempt, nor are
# links given a box (inline-block, flex, block: the product chose a size, so it must be big enough),
# nor buttons and form fields. A checkbox or radio button is measured by its enclosing <label>,
# since tapping the label toggles it. Half a pixel of tolerance absorbs sub-pixel rounding.
TAP_TARGETS_JS = """
(minTap) => {
  const controls = ':is(header, nav, main) :is(a[href], button, input:not([type=hidden]), select, textarea, '
                 + 'summary, [role=button])';
  const describe = (el) => {
    let name = el.tagName.toLowerCase();
    if (el.id) name += '#' + el.id;
    for (const c of el.classList) name += '.' + c;
    if (el.getAttribute('name')) name += `[name=${el.getAttribute('name')}]`;
    const region = el.closest('header, nav, main');
    const label = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' ');
    return `${region.tagName.toLowerCase()} ${name} "${label.slice(0, 40)}"`;
  };
  const problems = [];
  for (const el of document.querySelectorAll(controls)) {
    if (!el.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    let box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (box.right <= 0 || box.bottom <= 0) continue;  // parked off-screen (e.g. a skip link)
    const display = getComputedStyle(el).display;
    if (el.tagName === 'A' && display === 'inline' && !el.closest('header, nav')
        && el.closest('p, td, th, dd, figcaption')) continue;
    if (el.matches('input[type=checkbox], input[type=radio]') && el.closest('label')) {
      box = el.closest('label').getBoundingClientRect();
    }
    if (box.height < minTap - 0.5 || box.width < minTap - 0.5) {
      problems.push(`${describe(el)}: ${box.width.toFixed(1)} x ${box.height.toFixed(1)} px (display ${display})`);
    }
  }
  return problems;
}
"""


def test_tap_targets(page, live_server, admin):
    page.goto("/login")
    login_problems = page.evaluate(TAP_TARGETS_JS, MIN_TAP)
    sign_in(page, live_server, admin)
    home_problems = page.evaluate(TAP_TARGETS_JS, MIN_TAP)
    assert not login_problems + home_problems, (
        f"tap targets smaller than {MIN_TAP} x {MIN_TAP} px at {page.viewport_size}:\n"
        + "\n".join([f"/login  {p}" for p in login_problems] + [f"/  {p}" for p in home_problems]))
    assert_closed_network(page, live_server)


# For a failure message: elements that stick out past the right edge of the viewport, outside any
# horizontally scrolling container (a scrolling nav bar or table is allowed to be wider).
OVERFLOW_JS = """
() => {
  const width = window.innerWidth;
  const found = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.right <= width + 0.5 || box.width === 0) continue;
    let scroller = el.parentElement, inScroller = false;
    while (scroller && scroller !== document.body) {
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(scroller).overflowX)) { inScroller = true; break; }
      scroller = scroller.parentElement;
    }
    if (inScroller) continue;
    let name = el.tagName.toLowerCase();
    for (const c of el.classList) name += '.' + c;
    found.push(`${name} right edge at ${box.right.toFixed(1)} px`);
  }
  return found.slice(0, 20);
}
"""


def assert_no_horizontal_scroll(page, where):
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width, (
        f"{where} scrolls sideways at {page.viewport_size}: scrollWidth {scroll_width} > innerWidth "
        f"{inner_width}; sticking out: {page.evaluate(OVERFLOW_JS)}")


def test_no_horizontal_scroll(page, live_server, admin):
    page.goto("/login")
    assert_no_horizontal_scroll(page, "the sign-in page")
    sign_in(page, live_server, admin)
    assert_no_horizontal_scroll(page, "the home page")
    assert_closed_network(page, live_server)


def test_language_switch_in_header(page, live_server, admin, backend, screenshot_dir):
    sign_in(page, live_server, admin)
    assert page.get_attribute("html", "lang") == "zh-CN"

    switch = page.locator("header button[name=locale]")
    assert switch.inner_text().strip() == "English"
    with page.expect_navigation():
        switch.click()
    assert urlsplit(page.url).path == "/", "the language switch should come back to the same page"
    assert page.get_attribute("html", "lang") == "en"
    text = visible_text(page)
    for expected in ("Shuozhou Joint Inspection", "Sign out", "Welcome, 张建国", "Users", "Audit log"):
        assert expected in text, f"{expected!r} is not on the English home page; its text is:\n{text}"
    assert_no_horizontal_scroll(page, "the English home page")
    screenshot(page, screenshot_dir, backend, "home-en")

    switch = page.locator("header button[name=locale]")
    assert switch.inner_text().strip() == "中文"
    with page.expect_navigation():
        switch.click()
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert "退出登录" in visible_text(page)
    assert_closed_network(page, live_server)

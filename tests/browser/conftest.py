"""Browser fixtures: the app served on a real socket, driven by Debian's chromium through Playwright.

No browser is ever downloaded: Playwright launches /usr/bin/chromium (`make test` installs the
Debian package). A missing chromium fails the browser tests; it never skips them.
"""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# The field tablets: Chinese locale, China Standard Time.
BROWSER_LOCALE = "zh-CN"
BROWSER_TIMEZONE = "Asia/Shanghai"


@dataclass
class LiveServer:
    url: str  # origin without a trailing slash, e.g. http://127.0.0.1:41234
    errors: list = field(default_factory=list)  # exceptions raised while handling requests


def _read_whole(file, buffer_size=8192):
    """A ``wsgi.file_wrapper`` that reads the file at once and closes it.

    The development server leaves a static file open when the browser drops the connection
    half-way (chromium does so for favicons); under ``filterwarnings = error`` the resulting
    ResourceWarning would fail whichever test the garbage collector happens to run in.
    """
    try:
        return [file.read()]
    finally:
        file.close()


def _files_read_whole(app):
    def served(environ, start_response):
        environ["wsgi.file_wrapper"] = _read_whole
        return app(environ, start_response)
    return served


@pytest.fixture
def live_server(app):
    """The test's `app` (and its database) served on 127.0.0.1, a free port, in a background thread."""
    from flask import got_request_exception

    server = make_server("127.0.0.1", 0, _files_read_whole(app), threaded=True)
    live = LiveServer(url=f"http://127.0.0.1:{server.server_port}")

    def record(sender, exception, **extra):
        live.errors.append(repr(exception))

    got_request_exception.connect(record, app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-server", daemon=True)
    thread.start()
    try:
        yield live
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        got_request_exception.disconnect(record, app)


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    manager = sync_playwright().start()
    yield manager
    manager.stop()


@pytest.fixture(scope="session")
def browser(playwright_instance):
    """One headless Debian chromium for the whole session."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests drive Debian's chromium "
                    "(`make test` installs it; as root: apt-get install chromium)", pytrace=False)
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Traffic:
    """Everything the page asked the network for, and what went wrong in the page."""
    requests: list = field(default_factory=list)
    bad_responses: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)


@pytest.fixture
def viewport():
    """Overridden by the tests (parametrised); a landscape tablet by default."""
    return {"width": 1024, "height": 768}


@pytest.fixture
def context_options() -> dict:
    """Extra options of the browser context, overridden by tests (e.g. has_touch, geolocation)."""
    return {}


@pytest.fixture
def page(browser, live_server, viewport, context_options):
    """A fresh context (cookies, storage) per test at the requested viewport.

    It depends on `live_server` so that the context closes before the server stops. `page.traffic`
    records every request (from any page of the context), error responses, failures and JS errors.
    """
    options = {"service_workers": "block", **context_options}  # the offline tests let the worker in
    context = browser.new_context(viewport=viewport, locale=BROWSER_LOCALE, timezone_id=BROWSER_TIMEZONE,
                                  base_url=live_server.url, **options)
    context.set_default_timeout(10_000)
    # A closed network: anything not addressed to the live server is recorded, then refused at once
    # (rather than left to time out on a machine without internet access).
    context.route(re.compile("^(?!" + re.escape(live_server.url + "/") + ")"),
                  lambda route: route.abort("blockedbyclient"))
    traffic = Traffic()
    context.on("request", lambda request: traffic.requests.append(request.url))
    context.on("requestfailed", lambda request: traffic.failed.append(f"{request.url}: {request.failure}"))
    context.on("response", lambda response: response.status >= 400
               and traffic.bad_responses.append(f"{response.status} {response.url}"))
    page = context.new_page()
    page.on("console", lambda message: message.type == "error"
            and traffic.console_errors.append(message.text))
    page.on("pageerror", lambda error: traffic.page_errors.append(str(error)))
    page.traffic = traffic
    yield page
    context.close()


@pytest.fixture
def screenshot_dir(tmp_path) -> Path:
    """Where screenshots go: $INSPECT_SCREENSHOT_DIR when set (for a human to look at), else tmp_path."""
    directory = Path(os.environ.get("INSPECT_SCREENSHOT_DIR") or tmp_path / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory

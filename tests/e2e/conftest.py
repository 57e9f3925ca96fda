"""Fixtures of the browser tests: the app over real HTTP, Chromium, and axe-core checks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.browser import (
    AXE_PATH,
    CHROMIUM_ARGS,
    LiveServer,
    axe_violations,
    chromium_path,
    describe_violations,
)
from tests.support import need

TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def live_server(app) -> Iterator[LiveServer]:
    """The session's app over real HTTP. Links in emails and on pages point at it."""
    server = LiveServer(app).start()
    previous = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = server.url
    yield server
    app.config["PUBLIC_BASE_URL"] = previous
    server.stop()


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    need(path is not None, "Chromium not found: install it or set CHROMIUM_PATH")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser tab (own cookies) on the live server. The test fails on a JavaScript error,
    a console error (which includes any Content-Security-Policy violation) or a failed subresource
    (stylesheet, image...)."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message) -> None:
        # HTTP errors are logged as "Failed to load resource"; on_response judges those.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console error: {message.text}")

    def on_response(response) -> None:
        # Pages may answer 4xx on purpose (422 for a form with errors); their resources may not.
        if response.status >= 400 and response.request.resource_type != "document":
            problems.append(
                f"{response.status} for {response.request.resource_type} {response.url}"
            )

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("response", on_response)
    yield page
    context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def axe():
    """Collects axe-core violations page by page; the test asserts none at its end."""
    need(AXE_PATH.exists(), f"axe-core not found at {AXE_PATH}: run `npm ci`")
    return AxeChecks()


class AxeChecks:
    def __init__(self) -> None:
        self.report: list[str] = []
        self.pages: list[str] = []

    def check(self, page, label: str) -> None:
        self.pages.append(label)
        violations = axe_violations(page)
        if violations:
            self.report.append(describe_violations(violations, f"{label} ({page.url})"))

    def assert_clean(self) -> None:
        assert self.pages, "axe ran on no page"
        assert not self.report, "\n\n".join(self.report)

"""Helpers for the browser tests: the app on a real HTTP server, Chromium, and axe-core."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from tests.support import REPO_ROOT

AXE_PATH = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"

# What the site promises (DESIGN.md, quality bars): WCAG 2.2 AA, plus axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

# Debian's Chromium, driven by Playwright; browsers are never downloaded (`playwright install`).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # the tests may run as root (containers), where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """The Chromium to drive: $CHROMIUM_PATH, else the first one on PATH."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class LiveServer:
    """The Flask app served over real HTTP by werkzeug, in a daemon thread, on a free port."""

    def __init__(self, app: Flask, host: str = "127.0.0.1") -> None:
        # Port 0: the OS picks a free port, with no race between choosing and binding it.
        self._server: BaseWSGIServer = make_server(host, 0, app, threaded=True)
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="live-server", daemon=True
        )

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def axe_violations(page) -> list[dict]:
    """Run axe-core on the page as it is now and return its violations."""
    # `evaluate` goes through the DevTools protocol, which the page's CSP (script-src 'self', no
    # inline script) does not apply to; so no `bypass_csp` is needed, and the site's own CSP
    # stays in force for everything else the page does.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_PATH.read_text(encoding="utf-8"))
    options = {
        "runOnly": {"type": "tag", "values": AXE_TAGS},
        # Off by default in axe 4 (it is WCAG 2.2 AA, "target size minimum"): we want it.
        "rules": {"target-size": {"enabled": True}},
        "resultTypes": ["violations"],
    }
    result = page.evaluate("options => axe.run(document, options)", options)
    return result["violations"]


def describe_violations(violations: list[dict], label: str = "") -> str:
    """axe's violations, readable in a test failure."""
    lines = [f"{len(violations)} accessibility violation(s){' on ' + label if label else ''}:"]
    for violation in violations:
        lines.append(
            f"\n[{violation['impact']}] {violation['id']}: {violation['help']}\n"
            f"  {violation['helpUrl']}"
        )
        for node in violation["nodes"]:
            target = " > ".join(
                json.dumps(t) if not isinstance(t, str) else t for t in node["target"]
            )
            lines.append(f"  - {target}\n    {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").strip().replace("\n", "\n      ")
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


def watched_page(browser, base_url: str, timeout_ms: int, **context_options):
    """A new tab on `base_url` and the list its JavaScript errors and console errors go to
    (but "Failed to load resource": an HTTP error the test itself expects, a 403 or a 503)."""
    context = browser.new_context(base_url=base_url, **context_options)
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    return page, errors

"""The embeddable form in Chromium, on a member network's page served from another site, with
third-party cookies blocked: sign inside the frame, confirm by the emailed link (a real Celery
worker sends it) and see the signature counted for that network. The frame fits its content
(embed-resize.js), axe-core finds nothing in it, and a page on an origin the network did not
register cannot frame the form at all.

"Another site" for cookies: the app listens on 127.0.0.1 and the network's pages are opened as
http://localhost:<port>, a different host and so a different site; inside the frame the app is a
third party, as it is on a real network's site.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions.embed_views import embed_code
from campaigns.petitions.models import Petition, Signature, SignatureStatus
from campaigns.petitions.tallies.services import current_tally
from tests.e2e.browser import CHROMIUM_ARGS, chromium_path
from tests.support import links_in, need

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SLUG = "naloxone-in-every-pocket"
TIMEOUT_MS = 15_000
# Chromium's setting "Block third-party cookies" (chrome://settings/cookies): 1 blocks them,
# 0 allows them. Set explicitly, so the test does not depend on this build's default.
BLOCK_THIRD_PARTY, ALLOW_THIRD_PARTY = 1, 0
# A cookie that a third party could keep if the browser let it: SameSite=None needs Secure,
# which Chromium grants to http://127.0.0.1 as a potentially trustworthy origin.
PROBE = """() => {
  document.cookie = "probe=1; SameSite=None; Secure; Path=/";
  return document.cookie;
}"""


class NetworkSite:
    """A member network's website: one page holding the snippet, on its own port of localhost."""

    def __init__(self, snippet: str = "") -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = (
                    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
                    '<title>ASUD: our campaigns</title><link rel="icon" href="data:,"></head>'
                    f"<body><h1>Our campaigns</h1>{site.snippet}<p>Thanks!</p></body></html>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.snippet = snippet
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://localhost:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def network_sites() -> Iterator[tuple[NetworkSite, NetworkSite]]:
    """(the origin the network registered, one it did not)."""
    sites = (NetworkSite(), NetworkSite())
    yield sites
    for site in sites:
        site.stop()


@pytest.fixture
def chromium(tmp_path: Path):
    """Open Chromium with a profile of its own whose third-party cookie setting is given:
    `with chromium(BLOCK_THIRD_PARTY) as context: ...`. Console errors fail the test unless
    the test expects them (`context.console_errors`)."""
    path = chromium_path()
    need(path is not None, "Chromium not found: install it or set CHROMIUM_PATH")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the playwright package is not installed (pip install -e '.[dev]')")

    @contextmanager
    def open_profile(cookie_controls_mode: int):
        profile = tmp_path / f"profile-{cookie_controls_mode}"
        (profile / "Default").mkdir(parents=True)
        preferences = {"profile": {"cookie_controls_mode": cookie_controls_mode}}
        (profile / "Default" / "Preferences").write_text(json.dumps(preferences))
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(profile), executable_path=path, args=CHROMIUM_ARGS
            )
            context.set_default_timeout(TIMEOUT_MS)
            context.console_errors = []
            context.on(
                "console",
                lambda message: (
                    message.type == "error"
                    and not message.text.startswith("Failed to load resource")
                    and context.console_errors.append(message.text)
                ),
            )
            context.on("weberror", lambda error: context.console_errors.append(str(error.error)))
            try:
                yield context
            finally:
                context.close()

    return open_profile


def our_frame(page, app_url: str):
    """The frame showing our page (the snippet's iframe loads lazily, after the host page)."""
    for _attempt in range(TIMEOUT_MS // 100):
        frame = next((f for f in page.frames if f.url.startswith(app_url)), None)
        if frame is not None:
            frame.wait_for_load_state()
            return frame
        page.wait_for_timeout(100)
    raise AssertionError(f"our page never loaded in a frame: {[f.url for f in page.frames]}")


def wait_until_frame_fits(page, frame) -> int:
    """Wait for the iframe to take the height of its document; that height, in px."""
    page.wait_for_function(
        """height => {
          const frame = document.querySelector("iframe");
          return Math.abs(frame.getBoundingClientRect().height - height) <= 1;
        }""",
        arg=frame.evaluate("() => document.documentElement.getBoundingClientRect().height"),
    )
    return round(page.evaluate('document.querySelector("iframe").getBoundingClientRect().height'))


def test_a_browser_blocking_third_party_cookies_lets_the_probe_through_only_when_allowed(
    app, live_server, demo, network_sites, chromium
):
    """The proof the main test relies on: with third-party cookies allowed, the probe cookie
    sticks in the frame; with them blocked, it does not."""
    registered, _other = network_sites
    db.session.scalar(select(Network).where(Network.slug == "asud")).embed_origins = [
        registered.origin
    ]
    db.session.commit()
    registered.snippet = embed_code("asud", SLUG, "en", "Naloxone in every pocket")

    for mode, kept in ((ALLOW_THIRD_PARTY, True), (BLOCK_THIRD_PARTY, False)):
        with chromium(mode) as context:
            page = context.new_page()
            page.goto(registered.origin)
            frame = our_frame(page, live_server.url)
            frame.get_by_role("heading", level=1, name="Naloxone in every pocket").wait_for()
            assert ("probe=1" in frame.evaluate(PROBE)) is kept, mode
            assert bool(context.cookies(live_server.url)) is kept, mode
            assert context.console_errors == []


def test_sign_in_the_frame_confirm_by_mail_and_count_for_the_network(
    app, live_server, demo, mailbox, start_worker, network_sites, chromium, axe
):
    start_worker(PUBLIC_BASE_URL=live_server.url)
    registered, _other = network_sites
    db.session.scalar(select(Network).where(Network.slug == "asud")).embed_origins = [
        registered.origin
    ]
    db.session.commit()
    asud_id = db.session.scalar(select(Network.id).where(Network.slug == "asud"))
    petition_id = db.session.scalar(select(Petition.id))
    registered.snippet = embed_code("asud", SLUG, "en", "Naloxone in every pocket")
    assert 'height="900"' in registered.snippet

    with chromium(BLOCK_THIRD_PARTY) as context:
        page = context.new_page()
        page.goto(registered.origin)
        frame = our_frame(page, live_server.url)
        embed = page.frame_locator("iframe")
        embed.get_by_role("heading", level=1, name="Naloxone in every pocket").wait_for()
        # No cookie can live in this frame: the form must work without one.
        assert frame.evaluate(PROBE) == ""
        before = int(re.sub(r"\D", "", embed.locator(".count strong").inner_text()))

        # The resize script fits the frame to the form, which is taller than the snippet says.
        form_height = wait_until_frame_fits(page, frame)
        assert form_height > 900
        axe.check(frame, "embedded form")

        # A mistake first: the form comes back in the frame with what was typed, still framed.
        embed.get_by_label("Your name").fill("Ada Frame")
        embed.get_by_label("Your email address").fill("not an address")
        embed.get_by_role("button", name="Sign").click()
        embed.locator(".error-summary").wait_for()
        assert embed.get_by_label("Your name").input_value() == "Ada Frame"
        frame = our_frame(page, live_server.url)
        wait_until_frame_fits(page, frame)
        axe.check(frame, "embedded form with errors")

        embed.get_by_label("Your email address").fill("ada.frame@example.org")
        embed.get_by_label("Your country").select_option("FR")
        embed.get_by_role("button", name="Sign").click()
        embed.get_by_role("heading", level=1, name="Check your email").wait_for()
        assert page.url.startswith(registered.origin)  # the network's page stayed
        frame = our_frame(page, live_server.url)
        assert frame.url.endswith(f"/en/embed/asud/{SLUG}/check-email")
        # The shorter page shrinks the frame again.
        assert wait_until_frame_fits(page, frame) < form_height
        axe.check(frame, "embedded check-email page")
        assert context.cookies(live_server.url) == []

        # The worker sends the confirmation; its link opens our site in a tab of its own.
        messages = mailbox.wait_for(1)
        assert len(messages) == 1, "no confirmation email arrived"
        assert "ada.frame@example.org" in str(messages[0]["To"])
        confirm = next(link for link in links_in(messages[0]) if "/confirm/" in link)
        assert confirm.startswith(f"{live_server.url}/en/confirm/")
        tab = context.new_page()
        tab.goto(confirm)
        tab.get_by_role("button", name="Confirm my signature").click()
        tab.get_by_role("heading", level=1, name="Thank you: your signature counts").wait_for()

        db.session.rollback()  # a fresh snapshot: the server thread committed
        signature = db.session.scalars(select(Signature)).one()
        assert (signature.email, signature.country) == ("ada.frame@example.org", "FR")
        assert signature.status == SignatureStatus.CONFIRMED
        assert signature.source_network_id == asud_id
        assert current_tally(petition_id).by_network.get(asud_id) == 1

        # Back on the network's page, the frame counts the new signature.
        page.reload()
        embed = page.frame_locator("iframe")
        count = embed.locator(".count strong").inner_text()
        assert int(re.sub(r"\D", "", count)) == before + 1
        assert context.console_errors == []
    axe.assert_clean()


def test_a_page_on_an_unregistered_origin_cannot_frame_the_form(
    app, live_server, demo, network_sites, chromium
):
    registered, unregistered = network_sites
    db.session.scalar(select(Network).where(Network.slug == "asud")).embed_origins = [
        registered.origin
    ]
    db.session.commit()
    unregistered.snippet = embed_code("asud", SLUG, "en", "Naloxone in every pocket")

    with chromium(BLOCK_THIRD_PARTY) as context:
        page = context.new_page()
        page.goto(unregistered.origin)
        page.get_by_role("heading", level=1, name="Our campaigns").wait_for()
        page.wait_for_function(
            "() => document.querySelector('iframe').contentWindow !== null", timeout=TIMEOUT_MS
        )
        page.wait_for_timeout(500)  # let the frame's navigation end, refused or not

        # Chromium refused to show the form: the frame holds its error page, not ours.
        frames = [f for f in page.frames if f is not page.main_frame]
        assert len(frames) == 1
        assert frames[0].url.startswith(("chrome-error://", "about:blank")), frames[0].url
        assert page.frame_locator("iframe").locator("form").count() == 0
        refused = [e for e in context.console_errors if "frame-ancestors" in e]
        assert refused, context.console_errors
        assert registered.origin in refused[0]

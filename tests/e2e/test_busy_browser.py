"""The busy page in Chromium: a visitor whose signature arrives in a surge sees, in their language,
that nothing they typed is lost, reaches "Try again" by keyboard, and signs with it once the
surge is over. axe finds nothing on the page.

The surge is told to the app the way a proxy in front of it tells it: an `X-Request-Start` header
from long ago (SHED_TRUST_X_REQUEST_START, campaigns/serving/shedding.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from campaigns.extensions import db
from campaigns.petitions.models import Signature
from tests.e2e.browser import LiveServer, watched_page
from tests.e2e.conftest import TIMEOUT_MS

pytestmark = pytest.mark.e2e

PETITION = "/fr/c/naloxone-in-every-pocket"


@pytest.fixture
def server_behind_a_proxy(other_app, demo) -> Iterator[LiveServer]:
    server = LiveServer(other_app(SHED_TRUST_X_REQUEST_START=True)).start()
    yield server
    server.stop()


def test_a_signature_refused_in_a_surge_is_kept_on_the_busy_page_and_signs_afterwards(
    browser, server_behind_a_proxy, app, axe
):
    # The 503 itself is logged as "Failed to load resource": it is what this test expects.
    page, errors = watched_page(browser, server_behind_a_proxy.url, TIMEOUT_MS)

    page.goto(PETITION)
    page.locator("#name").fill("Zoë Müller-Lefèvre")
    page.locator("#email").fill("zoe.busy@example.org")
    page.locator("#country").select_option("DE")
    page.locator("#comment").fill("Ligne un\nLigne deux")

    # The POST reaches the app ten seconds after it reached the proxy: refused before any work.
    page.set_extra_http_headers({"X-Request-Start": f"t={time.time() - 10:.3f}"})
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        page.get_by_role("button", name="Signer", exact=True).click()
    assert refused.value.status == 503
    assert refused.value.headers["retry-after"] == "5"
    page.get_by_role("heading", name="Nous sommes très sollicités en ce moment").wait_for()
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert "Rien de ce que vous avez saisi n’est perdu" in page.inner_text("main")
    axe.check(page, "busy page after a refused signature (fr)")
    with app.app_context():
        assert "zoe.busy@example.org" not in db.session.scalars(db.select(Signature.email)).all()

    # The surge is over. By keyboard alone: Tab until "Try again", then Enter.
    page.set_extra_http_headers({})
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Réessayer":
            break
    else:
        pytest.fail("Tab never reached the Try again button")
    assert page.evaluate("document.activeElement.matches(':focus-visible')")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/fr/c/naloxone-in-every-pocket/check-email"))

    with app.app_context():
        db.session.rollback()
        signature = db.session.scalar(
            db.select(Signature).where(Signature.email == "zoe.busy@example.org")
        )
        assert signature is not None
        assert signature.name == "Zoë Müller-Lefèvre"
        assert signature.comment.replace("\r\n", "\n") == "Ligne un\nLigne deux"
    page.context.close()
    assert errors == []
    axe.assert_clean()

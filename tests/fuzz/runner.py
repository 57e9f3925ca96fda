"""One fuzzing step as a browser takes it: open the form's page, fill the form, send it, and
check the answer (and the page a redirect leads to, which shows what was stored)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from hypothesis import strategies as st

from tests.fuzz.forms import assert_nothing_lost, assert_sound, encode, filled, find_form
from tests.support import csrf_token

FORM_BODY = "application/x-www-form-urlencoded"


@dataclass
class Case:
    """A form: the page it is on (`{name}` filled from the records fixture), the address it
    posts to if not that page, values a person would type (`seeds`), fields left out, and
    what the form does to a value that is no loss (`same`: e.g. a slug lowercased)."""

    page: str
    action: str | None = None
    seeds: dict[str, str] = field(default_factory=dict)
    skip: tuple[str, ...] = ()
    same: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.page + (f" -> {self.action}" if self.action else "")


def fuzz_form(client, data: st.DataObject, case: Case, records: dict | None = None) -> None:
    page = case.page.format_map(records or {})
    action = case.action.format_map(records or {}) if case.action else None
    response = client.get(page)
    assert_sound(response, f"GET {page}")
    assert response.status_code == 200, f"GET {page}: {response.status_code}"
    html = response.get_data(as_text=True)
    form = find_form(html, page, action)
    pairs = data.draw(filled(form, case.seeds, case.skip), label="fields")
    # A form without a token is exempt (the one-click unsubscribe, RFC 8058).
    token = [("csrf_token", csrf_token(html).encode())] if "csrf_token" in form.fields else []
    body = encode([*token, *pairs])
    answer = client.post(form.action, data=body, content_type=FORM_BODY)
    assert_sound(answer, f"POST {form.action}")
    if answer.status_code in {200, 400, 422}:
        assert_nothing_lost(answer.get_data(as_text=True), form, pairs, page, case.same)
    elif answer.status_code in {301, 302, 303}:
        location = urlsplit(answer.headers["Location"])
        target = location.path + (f"?{location.query}" if location.query else "")
        assert_sound(client.get(target), f"GET {target} after POST {form.action}")

"""One fuzzing step as a browser takes it: open the form's page, fill the form, send it, and
check the answer (and the page a redirect leads to, which shows what was stored)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from hypothesis import event
from hypothesis import strategies as st

from tests.fuzz import strategies as fuzz
from tests.fuzz.forms import Form, assert_nothing_lost, assert_sound, encode, filled, find_form
from tests.support import csrf_token

FORM_BODY = "application/x-www-form-urlencoded"


@dataclass
class Case:
    """A form: the page it is on (`{name}` filled from the records fixture), the address it
    posts to if not that page, values a person would type (`seeds`), fields left out, and
    what the form does to a value that is no loss (`same`: e.g. a slug lowercased).

    `query`: parameters of the page's address drawn too (a `next` the form carries on).
    `extra`: fields the form lacks that a hostile client adds, with a plausible value each.
    `via`: the form fuzzed is on the answer to the page's form sent first, as it is but for
    these values (and the seeds): a preview, or a question asked before acting.
    `framed`: a page shown in another site's frame, whose answers set no cookie at all."""

    page: str
    action: str | None = None
    seeds: dict[str, str] = field(default_factory=dict)
    skip: tuple[str, ...] = ()
    same: dict[str, object] = field(default_factory=dict)
    query: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
    via: dict[str, str] | None = None
    framed: bool = False

    def __str__(self) -> str:
        steps = [self.page, *([self.action] if self.action else [])]
        if self.via is not None:
            steps.append("then " + (",".join(f"{k}={v}" for k, v in self.via.items()) or "asked"))
        return " -> ".join(steps) + (f" ?{','.join(self.query)}" if self.query else "")


def fuzz_form(client, data: st.DataObject, case: Case, records: dict | None = None) -> None:
    page = case.page.format_map(records or {})
    if case.query:
        values = data.draw(st.tuples(*map(fuzz.query_value, case.query)), label="query")
        pairs = list(zip(case.query, values, strict=True))
        page += ("&" if "?" in page else "?") + encode(pairs).decode()
        if b"\x00" in b"".join(values):  # refused before any view (core.security): no form
            answer = client.get(page)
            _sound(case, answer, f"GET {page}")
            assert answer.status_code == 400, f"GET {page}: {answer.status_code}"
            return
    html, form = _open(client, case, page, records)
    pairs = data.draw(filled(form, case.seeds, case.skip, case.extra), label="fields")
    # A form without a token is exempt (the one-click unsubscribe, RFC 8058).
    token = [("csrf_token", csrf_token(html).encode())] if "csrf_token" in form.fields else []
    answer = _send(client, case, page, form, [*token, *pairs])
    # Seen with --hypothesis-show-statistics: whether the examples got past validation at all.
    event("answer", str(answer.status_code))


def send_as_is(client, case: Case, records: dict, values: dict[str, str]) -> None:
    """The form sent as a person leaves it but for `values` (e.g. one day at the end of the
    calendar), with the same checks as a fuzzed one."""
    page = case.page.format_map(records)
    html, form = _open(client, case, page, records)
    pairs = _as_sent(html, form, {**case.seeds, **values})
    _send(client, case, page, form, pairs, note=f" with {values}")


def _sound(case: Case, response, request: str) -> None:
    assert_sound(response, request)
    if case.framed:
        assert "Set-Cookie" not in response.headers, f"{request}: a cookie set in a frame"


def _open(client, case: Case, page: str, records: dict | None) -> tuple[str, Form]:
    """The page's HTML and the form to send (the one `via` reaches, if given)."""
    action = case.action.format_map(records or {}) if case.action else None
    response = client.get(page)
    _sound(case, response, f"GET {page}")
    assert response.status_code == 200, f"GET {page}: {response.status_code}"
    html = response.get_data(as_text=True)
    form = find_form(html, page, action)
    if case.via is not None:
        pairs = _as_sent(html, form, {**case.seeds, **case.via})
        response = client.post(form.action, data=encode(pairs), content_type=FORM_BODY)
        _sound(case, response, f"POST {form.action} (to reach the form)")
        assert response.status_code == 200, f"POST {form.action}: {response.status_code}"
        html = response.get_data(as_text=True)
        form = find_form(html, form.action, form.action)
    return html, form


def _send(client, case: Case, page: str, form: Form, pairs: list[tuple[str, bytes]], note=""):
    answer = client.post(form.action, data=encode(pairs), content_type=FORM_BODY)
    _sound(case, answer, f"POST {form.action}{note}")
    if answer.status_code in {200, 400, 422}:
        assert_nothing_lost(answer.get_data(as_text=True), form, pairs, page, case.same)
    elif answer.status_code in {301, 302, 303}:
        location = urlsplit(answer.headers["Location"])
        target = location.path + (f"?{location.query}" if location.query else "")
        _sound(case, client.get(target), f"GET {target} after POST {form.action}")
    return answer


def _as_sent(html: str, form: Form, values: dict[str, str]) -> list[tuple[str, bytes]]:
    """The form as a person sends it to go on: what it holds (the boxes ticked), but for
    `values`."""
    sent = [("csrf_token", csrf_token(html))]
    for f in form.fields.values():
        if f.name in values or f.name == "csrf_token" or f.kind == "file":
            continue
        if f.kind == "checkbox":
            sent.extend((f.name, value) for value in f.checked)
        else:
            sent.append((f.name, f.value))
    sent.extend(values.items())
    return [(name, value.encode()) for name, value in sent]

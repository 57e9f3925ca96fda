"""Forms as a browser sees them, filled with what the fuzz tests type, and the properties every
answer must have.

A form is read from the page its GET returns (its fields, their options and their current
values), so that a field added later is fuzzed too. Its submission is encoded by hand, so that a
value can be bytes that are no UTF-8 at all, as a hostile client may send."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote_from_bytes, urlsplit

import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" codec error handler
from hypothesis import strategies as st

from tests.fuzz import strategies as fuzz

# Inputs that hold what a person types (and that a re-rendered form must give back).
TYPED = {"text", "email", "url", "search", "tel", "number", "date", "datetime-local", "textarea"}
# Cookies any page may set: the session and the language choice.
COOKIES = {"__Host-session", "session", "lang"}


@dataclass
class Field:
    name: str
    kind: str  # an input's type, "textarea", "select", or "button"
    value: str = ""
    options: list[str] = field(default_factory=list)
    multiple: bool = False
    checked: list[str] = field(default_factory=list)  # a group of checkboxes: those ticked


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, Field] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self, page_path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._textarea: Field | None = None
        self._select: Field | None = None
        self._option: list[str] | None = None  # [value or None, text so far]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v if v is not None else "" for k, v in attrs}
        if tag == "form":
            action = a.get("action") or self.page_path
            self._form = Form(action=action, method=(a.get("method") or "get").lower())
            self.forms.append(self._form)
            return
        form, name = self._form, a.get("name")
        if form is None:
            return
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in {"checkbox", "radio"}:
                group = form.fields.setdefault(name, Field(name, kind, multiple=kind == "checkbox"))
                group.options.append(a.get("value", "on"))
                if "checked" in a:
                    group.value = a.get("value", "on")
                    group.checked.append(group.value)
            elif kind in {"submit", "button", "image", "reset"}:
                form.buttons.append((name, a.get("value", "")))
            else:
                form.fields[name] = Field(name, kind, a.get("value", ""))
        elif tag == "button" and name:
            form.buttons.append((name, a.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea = form.fields[name] = Field(name, "textarea")
        elif tag == "select" and name:
            self._select = form.fields[name] = Field(name, "select", multiple="multiple" in a)
        elif tag == "option" and self._select is not None:
            self._option = [a.get("value"), ""]
            if "selected" in a:
                self._select.value = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data
        if self._option is not None:
            self._option[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None:
            # The one line break a textarea's content may start with is not part of its value.
            value = self._textarea.value
            self._textarea.value = value[2:] if value.startswith("\r\n") else value
            self._textarea.value = value[1:] if value.startswith("\n") else self._textarea.value
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "option" and self._option is not None and self._select is not None:
            value, text = self._option
            self._select.options.append(value if value is not None else text.strip())
            self._option = None


def forms_on(html: str, page_path: str) -> list[Form]:
    parser = _FormParser(page_path)
    parser.feed(html)
    parser.close()
    return parser.forms


def find_form(html: str, page_path: str, action: str | None = None) -> Form:
    """The form of the page that posts to `action` (the page itself unless given)."""
    wanted = urlsplit(action or page_path).path
    for form in forms_on(html, page_path):
        if form.method == "post" and urlsplit(form.action).path == wanted:
            return form
    raise AssertionError(f"no form posting to {wanted} on {page_path}")


def encode(pairs: list[tuple[str, bytes]]) -> bytes:
    """An application/x-www-form-urlencoded body (or query string), byte for byte."""
    return b"&".join(
        quote_from_bytes(name.encode(), safe="").encode()
        + b"="
        + quote_from_bytes(value, safe="").encode()
        for name, value in pairs
    )


@st.composite
def filled(
    draw: st.DrawFn,
    form: Form,
    seeds: dict[str, str] | None = None,
    skip: tuple[str, ...] = (),
    extra: dict[str, str] | None = None,
) -> list[tuple[str, bytes]]:
    """The form's fields with values drawn for each (the CSRF token is added when sending), and
    perhaps `extra` fields the form does not have, which a hostile client adds (a `confirmed`
    that skips a question)."""
    seeds = seeds or {}
    pairs: list[tuple[str, bytes]] = []
    for f in form.fields.values():
        if f.name == "csrf_token" or f.name in skip:
            continue
        seed = seeds.get(f.name, f.value)
        if f.kind in {"checkbox"} or (f.kind == "select" and f.multiple):
            if len(f.options) == 1 and not f.multiple:  # a single box: ticked or not
                values = draw(st.sampled_from([[], [f.options[0].encode()], [b"\xff"]]))
            else:
                values = draw(fuzz.checklist_values(f.options))
            pairs.extend((f.name, value) for value in values)
        elif f.kind in {"radio", "select"}:
            pairs.append((f.name, draw(fuzz.choice_value(f.options))))
        elif f.kind == "file":
            continue
        else:
            pairs.append((f.name, draw(fuzz.input_value(f.kind, f.name, seed))))
    for name, seed in (extra or {}).items():
        value = draw(st.one_of(st.none(), fuzz.field_value(seed)))
        if value is not None:
            pairs.append((name, value))
    if form.buttons:
        name, value = draw(st.sampled_from(form.buttons))
        pairs.append((name, value.encode()))
    return pairs


# --- The properties ---------------------------------------------------------------------------


def assert_sound(response, request: str) -> None:
    """No server error; no line break in any header; no cookie but ours; no redirect away."""
    assert response.status_code < 500, f"{request}: {response.status_code}"
    names: list[str] = []
    for name, value in response.headers.items():
        assert not re.search(r"[\r\n\x00]", name + value), f"{request}: header {name}: {value!r}"
        if name.lower() == "set-cookie":
            names.append(value.split("=", 1)[0])
    assert set(names) <= COOKIES, f"{request}: cookies set: {names}"
    assert len(names) == len(set(names)), f"{request}: a cookie set twice: {names}"
    location = response.headers.get("Location")
    if location is not None:
        parts = urlsplit(location)
        assert parts.netloc in {"", "localhost"}, f"{request}: redirect to {location!r}"
        assert not re.search(r"[\x00-\x20\x7f]", location), f"{request}: redirect {location!r}"


def _normalised(value: str) -> str:
    """What a form keeps of a typed value: line breaks as one character, no surrounding space."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def assert_nothing_lost(
    html: str,
    sent: Form,
    pairs: list[tuple[str, bytes]],
    page_path: str,
    same: dict[str, object] | None = None,
) -> None:
    """When the answer shows the form again (a validation error), every text field holds what
    was typed, as the server decoded it. `same` maps a field to the function its form applies
    (e.g. lowercasing a slug), which is no loss. A hidden field sent (a preview carries what was
    typed so) is checked too where the answer shows it to type in again."""
    try:
        shown = find_form(html, page_path, sent.action)
    except AssertionError:
        return  # not the form again: a page of its own (a preview, a notice)
    typed = dict(pairs)
    for f in sent.fields.values():
        if f.kind not in TYPED | {"hidden"} or f.name not in typed or f.name not in shown.fields:
            continue
        if shown.fields[f.name].kind not in TYPED:
            continue
        # Werkzeug keeps a byte that is no UTF-8 as its %XX escape.
        expected = _normalised(typed[f.name].decode("utf-8", "werkzeug.url_quote"))
        transform = (same or {}).get(f.name)
        if transform is not None:
            expected = transform(expected)
        actual = _normalised(shown.fields[f.name].value)
        assert actual == expected, (
            f"{page_path}: field {f.name!r} shown again as {actual[:200]!r}, "
            f"typed {expected[:200]!r}"
        )

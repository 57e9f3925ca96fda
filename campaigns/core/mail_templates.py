"""A mail's three templates (subject, text, HTML) rendered once per wording, not once per mail.

A batch of confirmation mails says the same words to every recipient but for a few values, the
links that carry each signature's own token. Rendering the three templates cost a fifth of a
confirmation mail's CPU in the worker (measured with `python -m bench.journey_cpu`), so
`render_parts` renders them with a placeholder where each recipient's own values go, keeps the
result per template, language and shared values, and puts each mail's values in: escaped where
the template would have escaped them (HTML), as they are elsewhere.

The first time a wording is rendered, the mail is also rendered the plain way and the two are
compared; a template that transforms such a value (a filter, a test on its content) therefore
never gets a kept copy, only the plain rendering, every time.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

from flask import current_app, render_template
from flask_babel import force_locale
from markupsafe import escape

from campaigns.core.page_cache import PageCache

# Kept long enough to serve a burst of sign-ups; a changed wording (a new title) has a new key.
KEEP_SECONDS = 600.0
_UNUSABLE = "unusable"  # kept in place of the parts where the comparison failed


def render_parts(
    template: str, locale: str, context: Mapping[str, object], per_mail: Mapping[str, str]
) -> tuple[str, str, str]:
    """(subject, text, HTML) of `emails/<template>` in `locale`, with `context` and `per_mail`
    (values that differ from one recipient to the next: each a non-empty string)."""
    if not per_mail or current_app.jinja_env.auto_reload:  # while templates are being edited
        return _render(template, locale, {**context, **per_mail})
    # A value's type is part of the key: Markup("A & B") equals "A & B" but renders otherwise.
    shared = tuple(sorted((name, type(value).__name__, value) for name, value in context.items()))
    key: Hashable = (template, locale, shared, tuple(sorted(per_mail)))
    try:
        hash(key)
    except TypeError:  # a shared value that cannot be a key: render as usual
        return _render(template, locale, {**context, **per_mail})
    cache = _cache()
    kept = cache.get(key)
    if kept == _UNUSABLE:
        return _render(template, locale, {**context, **per_mail})
    if kept is None:
        placeholders = {name: f"__mail-value-{name}__" for name in per_mail}
        kept = _render(template, locale, {**context, **placeholders})
        plain = _render(template, locale, {**context, **per_mail})
        usable = all(per_mail.values()) and _fill(template, kept, per_mail) == plain
        cache.put(key, kept if usable else _UNUSABLE, KEEP_SECONDS)
        return plain
    return _fill(template, kept, per_mail)


def _render(template: str, locale: str, context: Mapping[str, object]) -> tuple[str, str, str]:
    with force_locale(locale):
        return (
            render_template(f"emails/{template}.subject.txt", **context),
            render_template(f"emails/{template}.txt", **context),
            render_template(f"emails/{template}.html", locale=locale, **context),
        )


def _fill(
    template: str, parts: tuple[str, str, str], per_mail: Mapping[str, str]
) -> tuple[str, str, str]:
    """The kept parts with each placeholder replaced by its value, escaped as the template's
    own autoescaping would have (Flask decides it by the file name)."""
    names = (f"emails/{template}.subject.txt", f"emails/{template}.txt", f"emails/{template}.html")
    filled = []
    for name, part in zip(names, parts, strict=True):
        escaped = current_app.select_jinja_autoescape(name)
        for field, value in per_mail.items():
            part = part.replace(f"__mail-value-{field}__", str(escape(value)) if escaped else value)
        filled.append(part)
    subject, text, html = filled
    return subject, text, html


def _cache() -> PageCache:
    return current_app.extensions.setdefault("mail_parts", PageCache(max_entries=256))

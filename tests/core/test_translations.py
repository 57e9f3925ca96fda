"""Every user-facing string is translated into French and German, and the committed .mo files match.

The extraction mirrors the Makefile's `translations` target (same babel.cfg, keywords and input
folders): keep the two in step. When a test here fails after adding or changing a string, run
`make translations`, translate the new or fuzzy entries in campaigns/translations/<lang>/
LC_MESSAGES/messages.po, then compile again (`.venv/bin/pybabel compile -d campaigns/translations`).
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "campaigns" / "translations"
# Every language but the source language (English) must be complete.
REQUIRED_LOCALES = ("fr", "de")
PLURAL_FORMS = {
    "fr": "nplurals=2; plural=(n > 1);",
    "de": "nplurals=2; plural=(n != 1);",
}
EXTRACT_ARGS = [
    "extract",
    "-F",
    "babel.cfg",
    "-k",
    "_l",
    "-k",
    "lazy_gettext",
    "-k",
    "lazy_ngettext:1,2",
    "--add-comments=TRANSLATORS:",
]
SOURCE_DIRS = ["campaigns", "workers", "templates"]

# A printf-style directive as Python's `%` operator reads it: "%(name)s", "%(max)d", "%%", "%s".
# Jinja's gettext (newstyle, as Flask-Babel installs it) always applies `%`, so a stray "%" in a
# translation breaks the page even where the msgid has no placeholder.
DIRECTIVE = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def _po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def _read_po(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, abort_invalid=True)


def _forms(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _key(message: Message) -> tuple[str | None, str]:
    return message.context, _forms(message.id)[0]


def _label(message: Message) -> str:
    context = f" (context {message.context!r})" if message.context else ""
    return f"{_forms(message.id)[0]!r}{context}"


def _is_translated(message: Message) -> bool:
    forms = _forms(message.string)
    return bool(forms) and all(form.strip() for form in forms) and not message.fuzzy


def _extract(tmp_path: Path) -> Catalog:
    pot = tmp_path / "messages.pot"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            *EXTRACT_ARGS,
            "-o",
            str(pot),
            *SOURCE_DIRS,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"pybabel extract failed:\n{result.stdout}\n{result.stderr}"
    return _read_po(pot)


def _directives(text: str) -> tuple[set[str], str]:
    """The directives in `text`, and what is left of it once they are taken out."""
    found = DIRECTIVE.findall(text)
    return set(found), DIRECTIVE.sub("", text)


def test_every_extracted_message_is_translated(tmp_path):
    extracted = [message for message in _extract(tmp_path) if message.id]
    assert extracted, "the extraction found no messages at all: is babel.cfg right?"

    problems = []
    for locale in REQUIRED_LOCALES:
        path = _po_path(locale)
        if not path.exists():
            problems.append(f"{locale}: {path.relative_to(ROOT)} is missing")
            continue
        catalog = _read_po(path)
        if catalog.fuzzy:
            problems.append(f"{locale}: the catalog header is marked fuzzy")
        for message in extracted:
            translated = catalog.get(_forms(message.id)[0], context=message.context)
            if translated is None:
                problems.append(f"{locale}: not in the catalog: {_label(message)}")
            elif message.pluralizable and not translated.pluralizable:
                problems.append(
                    f"{locale}: the catalog lacks the plural forms of {_label(message)}"
                )
            elif not _is_translated(translated):
                state = "fuzzy" if translated.fuzzy else "untranslated"
                problems.append(f"{locale}: {state}: {_label(message)}")
            elif len(_forms(translated.string)) != catalog.num_plurals and message.pluralizable:
                problems.append(
                    f"{locale}: {_label(message)} has {len(_forms(translated.string))} plural "
                    f"forms, the language has {catalog.num_plurals}"
                )
    if problems:
        pytest.fail(
            f"{len(problems)} translation problem(s); run `make translations` and translate:\n"
            + "\n".join(problems),
            pytrace=False,
        )


def test_catalog_headers():
    for locale in REQUIRED_LOCALES:
        catalog = _read_po(_po_path(locale))
        assert str(catalog.locale) == locale
        assert catalog.plural_forms == PLURAL_FORMS[locale]
        assert not catalog.fuzzy


def test_placeholders_match_the_source():
    problems = []
    for locale in REQUIRED_LOCALES:
        for message in _read_po(_po_path(locale)):
            if not message.id or not _is_translated(message):
                continue  # the completeness test reports these
            expected: set[str] = set()
            for source in _forms(message.id):
                expected |= _directives(source)[0]
            for form in _forms(message.string):
                found, rest = _directives(form)
                if found != expected:
                    problems.append(
                        f"{locale}: {_label(message)}: expected {sorted(expected)}, "
                        f"found {sorted(found)} in {form!r}"
                    )
                if "%" in rest:
                    problems.append(f"{locale}: {_label(message)}: a stray '%' in {form!r}")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_compiled_catalogs_match_their_sources():
    po_files = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
    assert {path.parts[-3] for path in po_files} >= set(REQUIRED_LOCALES)
    stale = []
    for po_path in po_files:
        locale = po_path.parts[-3]
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists():
            stale.append(f"{locale}: {mo_path.relative_to(ROOT)} is missing")
            continue
        compiled = io.BytesIO()
        write_mo(compiled, _read_po(po_path))
        compiled.seek(0)
        expected = read_mo(compiled)
        with mo_path.open("rb") as fh:
            committed = read_mo(fh)
        want = {_key(m): _forms(m.string) for m in expected if m.id}
        have = {_key(m): _forms(m.string) for m in committed if m.id}
        if want != have:
            changed = sorted(
                repr(key[1]) for key in want.keys() | have.keys() if want.get(key) != have.get(key)
            )
            stale.append(
                f"{locale}: differs for {len(changed)} message(s): {', '.join(changed[:5])}"
            )
        if committed.plural_forms != expected.plural_forms:
            stale.append(
                f"{locale}: Plural-Forms {committed.plural_forms!r} != {expected.plural_forms!r}"
            )
    if stale:
        pytest.fail(
            "compiled catalogs are out of date; run "
            "`.venv/bin/pybabel compile -d campaigns/translations`:\n" + "\n".join(stale),
            pytrace=False,
        )


def test_sign_buttons():
    sign = {"fr": "Signer", "de": "Unterschreiben"}
    for locale, expected in sign.items():
        assert _read_po(_po_path(locale)).get("Sign").string == expected

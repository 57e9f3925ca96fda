"""What the editor refuses in Markdown: exactly what sanitising would silently drop."""

from __future__ import annotations

import pytest

from campaigns.campaign.markup import disallowed_markup


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Sign <script>alert(1)</script>", "<script>"),
        ("<SCRIPT>alert(1)</SCRIPT>", "<script>"),
        ('<img src="x.png" onerror="alert(1)">', "onerror"),
        ('<p onclick="steal()">Hello</p>', "onclick"),
        ('<div style="position:fixed">x</div>', "style"),
        ("<iframe src='https://example.org'></iframe>", "<iframe>"),
        ("[Click](javascript:alert(1))", 'href="javascript:alert(1)"'),
        ('<a href="java&#x09;script:alert(1)">x</a>', 'href="java\tscript:alert(1)"'),
    ],
)
def test_unsafe_markup_is_named(text: str, found: str):
    assert disallowed_markup(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "**Bold**, *italic*, [a link](https://example.org), [mail](mailto:a@example.org)",
        "1. one\n2. two\n\n- a\n- b",
        "Code shows tags as text: `<script>`",
        '<p lang="fr" title="Bonjour">Un paragraphe</p>',
        "",
    ],
)
def test_ordinary_markdown_passes(text: str):
    assert disallowed_markup(text) is None

"""The filters and validators every form shares."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from wtforms.validators import ValidationError

from campaigns.core.forms import https_link, newlines, no_control_characters, single_line


@pytest.mark.parametrize(
    "typed",
    ["http://europa.eu/", "https://", "https://[", "https://eu rope.eu", "javascript:alert(1)"],
)
def test_a_link_must_be_https_to_a_host(app_ctx, typed):
    with pytest.raises(ValidationError, match="https://"):
        https_link(None, SimpleNamespace(data=typed))


def test_good_links_and_empty_pass(app_ctx):
    for typed in ("", None, "https://www.europarl.europa.eu/meps/en/197648"):
        https_link(None, SimpleNamespace(data=typed))


def test_line_breaks_are_counted_as_a_person_sees_them(app_ctx):
    assert newlines(" one\r\ntwo\rthree \n") == "one\ntwo\nthree"
    with pytest.raises(ValidationError, match="single line"):
        single_line(None, SimpleNamespace(data="Ana\r\nBcc: x@example.org"))
    with pytest.raises(ValidationError, match="control characters"):
        no_control_characters(None, SimpleNamespace(data="quote\x07"))
    no_control_characters(None, SimpleNamespace(data="a quote\n\twith a tab"))

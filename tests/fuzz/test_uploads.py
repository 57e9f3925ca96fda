"""The one upload form, a network's logo, given any file under any name and content type: no
server error, a good image taken, anything else refused saying why (see uploads.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.network_directory.logo import MAX_BYTES
from tests.fuzz.uploads import KINDS, fuzz_upload


# Each kind of file a quarter of the profile's examples: eleven kinds, so about twice as many
# uploads in all as a form gets examples.
@pytest.mark.parametrize("kind", KINDS)
# Pillow warns on opening a header that claims a huge size; the logo's own check refuses it next.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@settings(max_examples=max(5, settings().max_examples // 4))
@given(data=st.data())
def test_a_logo_upload_holds_against_any_file(admin, records, kind, data):
    page = "/staff/networks/{network}/logo".format_map(records)
    fuzz_upload(admin, data, page, "logo", kind, MAX_BYTES // 1024)

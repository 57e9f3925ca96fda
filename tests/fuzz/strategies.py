"""What the fuzz tests type: random text and the hostile kinds a probe tries first (huge, empty,
control characters, line breaks that could start a header, invalid UTF-8, other scripts, dates
at the ends of the calendar, numbers past every integer type).

A value is bytes, as it travels in the request body or query string: most are text encoded as
UTF-8, some are bytes that are no UTF-8 at all."""

from __future__ import annotations

from hypothesis import strategies as st

# What a careful probe types into any field before trying random text.
HOSTILE_TEXT = [
    "",
    " ",
    "\t",
    "\r\n",
    "a\r\nSet-Cookie: fuzz=1",
    "x\rLocation: https://evil.example/",
    "/staff/\r\nSet-Cookie:x=1",
    "\x1b[31mred\x1b[0m",
    "\x07\x08\x0b\x0c\x7f",
    "\u200b\u200c\u200d\ufeff",  # zero-width characters, a byte-order mark
    "\u202eevil\u202c",  # right-to-left override
    "مرحبا بالعالم",  # Arabic, right to left
    "שלום עולם",
    "中文字符 日本語 한국어",
    "👩‍👩‍👧‍👦🏳️‍🌈",
    "e\u0301\u0301\u0301",  # combining marks
    "Z̷̢͉̈́a̶̧̛l̵̰̿g̸̱͝o̴͇͋",
    "\U0001d54f\U0001d550",  # outside the basic multilingual plane
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR 1=1 --",
    "{{ 7 * 7 }} {% raw %}",
    "%(max)d %s {0}",
    "&amp; &lt; &#0; &#x110000;",
    "../../etc/passwd",
    "//evil.example",
    "javascript:alert(1)",
    "https://[::1",
    "https://user:pw@127.0.0.1/",
    "0001-01-01",
    "9999-12-31",
    "0000-00-00",
    "2026-02-30",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "-1",
    "0",
    "2147483648",
    "9223372036854775808",
    "100000000000000000000000000",
    "1e309",
    "NaN",
    "\uff11\uff12\uff13",  # fullwidth digits
    "٣٤٥",  # Arabic-Indic digits
    "10 000",
    "a@b",
    "ada@example.org",
    "ada@exämple.org",
    '"quoted"@example.org',
    "a" * 64 + "@" + "b" * 250 + ".org",
]

# Bytes a browser never sends: none of them decodes as UTF-8.
INVALID_UTF8 = [
    b"\xff",
    b"\xfe\xff",
    b"\xc3",  # a sequence cut short
    b"\xc0\xaf",  # an overlong slash
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xf4\x90\x80\x80",  # past U+10FFFF
    b"abc\x80def",
]


def _huge(n: int) -> str:
    return ("Ünïcødé 中 " * (n // 11 + 1))[:n]


text_values = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40),
    st.integers(min_value=1_000, max_value=60_000).map(_huge),
)

hostile_bytes = st.one_of(
    text_values.map(lambda text: text.encode()),
    st.sampled_from(INVALID_UTF8),
    st.binary(max_size=40),
)


# Days at the ends of what the filters take (2000-01-01 to 9998-12-31) and of what a date type
# holds (a day after 9999-12-31 does not exist; a day before year 1 in UTC neither), beside days
# of every year in between and days written in ways a date input never sends.
DAY_EDGES = [
    "0001-01-01",
    "0001-01-02",
    "1999-12-31",
    "2000-01-01",
    "9998-12-31",
    "9999-12-31",
    "0000-01-01",
    "10000-01-01",
    "99999-01-01",
    "2026-02-29",
    "2028-02-29",
    "2026-13-01",
    "-2026-01-01",
    "2026-1-1",
    " 2026-01-01 ",
    "2026-01-01T00:00",
    "\uff12\uff10\uff12\uff16-01-01",  # fullwidth digits
]

day_values = st.one_of(
    st.sampled_from(DAY_EDGES).map(str.encode),
    st.dates().map(lambda day: day.isoformat().encode()),
    hostile_bytes,
)

# A date and time as a datetime-local input sends it, at the ends of the calendar too.
MOMENT_EDGES = [
    "0001-01-01T00:00",
    "0001-01-01T00:30",
    "1999-12-31T23:59",
    "9999-12-31T23:59",
    "2026-02-30T12:00",
    "2026-03-29T02:30",  # a time that does not exist where the clocks go forward
    "2026-10-25T02:30",  # one that exists twice where they go back
]

moment_values = st.one_of(
    st.sampled_from(MOMENT_EDGES).map(str.encode),
    st.datetimes().map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M").encode()),
    hostile_bytes,
)

# `next` addresses a probe tries first: a path with each control character (one could split
# the Location header), addresses off the site, and a broken IPv6 host (urlsplit raises on it:
# a server error wherever that is not caught).
NEXT_EDGES = [
    *(f"/staff/{chr(code)}x" for code in [*range(0x20), 0x7F]),
    "/staff/\r\nSet-Cookie: x=1",
    "/staff/team/",
    "//evil.example/",
    "/\\evil.example/",
    "https://evil.example/",
    "javascript:alert(1)",
    "https://[::1",
    "//[",
    "/[",
]

# An address on this site as a `next` parameter carries it: mostly a path, followed by anything
# (ASCII text has a control character in one in four), else anything at all.
path_values = st.one_of(
    st.text(alphabet=st.characters(max_codepoint=0x7F), min_size=1, max_size=12).map(
        lambda text: ("/staff/" + text).encode()
    ),
    text_values.map(lambda text: ("/staff/" + text).encode()),
    st.sampled_from(NEXT_EDGES).map(str.encode),
    hostile_bytes,
)


# Query parameters whose value is a day, or an address to go to next.
DAY_NAMES = {"from", "to", "date_from", "date_to", "deadline"}
PATH_NAMES = {"next"}


def query_value(name: str) -> st.SearchStrategy[bytes]:
    """What a query parameter gets: hostile input of the kind its name says it holds."""
    if name in DAY_NAMES:
        return day_values
    if name in PATH_NAMES:
        return path_values
    return hostile_bytes


def field_value(seed: str | None) -> st.SearchStrategy[bytes]:
    """What one text field gets: often what a person would type there (`seed`, so that the
    other fields' checks are reached too), else something hostile."""
    if seed is None or seed == "":
        return hostile_bytes
    return st.one_of(st.just(seed.encode()), hostile_bytes)


def input_value(kind: str, name: str, seed: str | None) -> st.SearchStrategy[bytes]:
    """What an input gets, by its type (or, for a text input holding a day, its name): a date
    input days at the ends of the calendar, a datetime-local input moments, others text."""
    if kind == "date" or name in DAY_NAMES:
        values = day_values
    elif kind == "datetime-local":
        values = moment_values
    else:
        return field_value(seed)
    # What the field holds first, even empty: an optional day left out is what most people send.
    return st.one_of(st.just((seed or "").encode()), values)


def choice_value(options: list[str]) -> st.SearchStrategy[bytes]:
    """A select's or a radio group's value: one of its options, mostly, or anything at all."""
    if not options:
        return hostile_bytes
    return st.one_of(
        st.sampled_from(options).map(str.encode),
        st.sampled_from(options).map(str.encode),
        hostile_bytes,
    )


def checklist_values(options: list[str]) -> st.SearchStrategy[list[bytes]]:
    """A group of checkboxes: some of its options, perhaps with values it never offered."""
    chosen = st.lists(st.sampled_from(options), unique=True, max_size=4) if options else st.just([])
    return st.tuples(chosen, st.lists(hostile_bytes, max_size=2)).map(
        lambda both: [value.encode() for value in both[0]] + both[1]
    )


# The ids a route could be given: past a 32-bit and a 64-bit integer, past both, and digits
# that are not ASCII (fullwidth, Arabic-Indic, Devanagari), percent-encoded as a browser would.
BAD_IDS = [
    str(2**31),
    str(2**63),
    str(10**26),
    "%EF%BC%91",  # fullwidth 1
    "%D9%A1",  # Arabic-Indic 1
    "%E0%A5%A7",  # Devanagari 1
    "%C2%B9",  # superscript 1
]

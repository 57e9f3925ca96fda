"""Every route with an id, given ids past every integer type or in digits that are not ASCII,
is a 404 (GET and POST), never a server error; query strings and the staff language switch's
`next` with hostile values answer without a server error or an injected header."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.routing import IntegerConverter

from tests.fuzz.forms import assert_sound, encode
from tests.fuzz.strategies import BAD_IDS, NEXT_EDGES, path_values, query_value
from tests.support import csrf_token

FILLERS = {"locale": "en", "sha256": "0" * 64, "lang": "en"}


def _id_routes(app) -> list[tuple[str, list[str]]]:
    found = []
    for rule in app.url_map.iter_rules():
        # Every integer converter (the app's own, or werkzeug's were it put back).
        ints = [n for n, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]
        if ints:
            found.append((rule.rule, ints))
    return found


def test_an_id_out_of_range_or_not_in_ascii_digits_is_not_found_on_every_route(admin, records):
    routes = _id_routes(admin.application)
    assert len(routes) > 40  # every staff record page, and the public logo
    token = csrf_token(admin.get("/staff/account").get_data(as_text=True))
    for rule, ints in routes:
        for bad in BAD_IDS:
            for wrong in ints:
                path = rule
                for name in ints:
                    path = path.replace(f"<int:{name}>", bad if name == wrong else "1")
                for name, value in FILLERS.items():
                    path = path.replace(f"<{name}>", value)
                for method in ("GET", "POST"):
                    answer = admin.open(path, method=method, data={"csrf_token": token})
                    assert_sound(answer, f"{method} {path}")
                    assert answer.status_code in {404, 405}, (
                        f"{method} {path}: {answer.status_code}"
                    )


QUERIES = [
    ("/staff/audit/", ("from", "to", "action", "actor", "campaign", "q", "page")),
    ("/staff/targets/", ("country", "group", "committee", "kind", "status", "page")),
    ("/staff/campaigns/", ("q", "sort", "order", "page")),
    ("/staff/mailings/", ("q", "sort", "order", "page")),
    ("/staff/team/", ("q", "sort", "order", "page")),
    ("/staff/networks/", ("q", "sort", "order", "page")),
    ("/staff/alerts/", ("network", "topic", "before")),
    ("/staff/mailings/recipients.json", ("campaign_ids", "countries", "locales", "network_ids")),
    ("/staff/campaigns/{petition}/report", ("text", "names")),
    ("/staff/networks/{network}/supporters", ("page",)),
    ("/staff/language/en", ("next",)),
    ("/staff/login", ("next", "expired")),
    ("/en/c/{petition_slug}", ("source",)),
    ("/en/write/{letter_slug}", ("source", "country")),
    ("/en/write/{letter_slug}/recipients", ("country",)),
]


@pytest.mark.parametrize(("page", "names"), QUERIES, ids=[q[0] for q in QUERIES])
@given(data=st.data())
def test_a_query_string_holds_against_any_input(admin, records, page, names, data):
    path = page.format_map(records)
    # Each parameter hostile in the way of what it holds (a day, an address to go to next).
    pair = st.sampled_from(names).flatmap(lambda name: st.tuples(st.just(name), query_value(name)))
    pairs = data.draw(st.lists(pair, min_size=1, max_size=4))
    query = encode(pairs).decode()
    assert_sound(admin.get(f"{path}?{query}"), f"GET {path}?{query[:200]}")


@given(next_url=st.one_of(path_values, st.just(b"/staff/\r\nSet-Cookie:x=1")))
def test_the_language_switch_never_puts_what_it_is_given_into_a_header(client, next_url):
    query = encode([("next", next_url)]).decode()
    answer = client.get(f"/staff/language/en?{query}")
    assert_sound(answer, f"GET /staff/language/en?{query[:200]}")


# Not left to chance either: every page that goes to a `next` address, given each edge in turn.
@pytest.mark.parametrize("page", ["/staff/language/en", "/staff/login", "/staff/login/code"])
def test_every_next_address_at_the_edge_stays_out_of_the_headers(admin, page):
    for next_url in NEXT_EDGES:
        answer = admin.get(page, query_string={"next": next_url})
        assert_sound(answer, f"GET {page}?next={next_url!r}")
        # A NUL is refused before any view (core.security); the rest are sent on somewhere.
        expected = {400} if "\x00" in next_url else {302, 303}
        assert answer.status_code in expected, f"{page}?next={next_url!r}: {answer.status_code}"

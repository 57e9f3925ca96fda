"""What the signing journey keeps in memory to save CPU (the "check your email" page, the words of
the confirmation mail) must never show one signer what belongs to another."""

from __future__ import annotations

import re

from campaigns.core.mail_templates import render_parts
from tests.support import links_in, run_outbox, sign

SLUG = "naloxone-in-every-pocket"


def test_check_email_page_names_each_signer_their_own_address(app, demo, mailbox):
    pages = {}
    for email in ("ada@example.org", "o'brien&co@example.org"):
        visitor = app.test_client()  # a browser of their own
        response = sign(visitor, email=email)
        assert response.status_code == 303
        pages[email] = visitor.get(response.location).get_data(as_text=True)

    assert "We are sending an email to ada@example.org." in pages["ada@example.org"]
    other = pages["o'brien&co@example.org"]
    assert "ada@example.org" not in other
    # Escaped as the template escapes it: no markup from what a visitor typed.
    assert "o'brien&co" not in other
    assert "o&#39;brien&amp;co@example.org" in other
    assert "__signed-with-address__" not in other


def test_check_email_page_shows_the_address_once(client, demo, mailbox):
    response = sign(client, email="ada@example.org")
    first = client.get(response.location).get_data(as_text=True)
    again = client.get(response.location).get_data(as_text=True)
    assert "ada@example.org" in first
    assert "ada@example.org" not in again
    assert "We have sent you an email." in again


def test_check_email_page_of_an_unknown_petition_is_not_found(client, demo):
    assert client.get("/en/c/no-such-petition/check-email").status_code == 404


def test_each_confirmation_mail_carries_its_own_links(app, demo, mailbox):
    for email in ("ada@example.org", "bea@example.org", "cem@example.org"):
        assert sign(app.test_client(), email=email).status_code == 303
    run_outbox(app)

    tokens = set()
    for email in ("ada@example.org", "bea@example.org", "cem@example.org"):
        [message] = mailbox.to(email)
        html = message.get_body(preferencelist=("html",)).get_content()
        links = links_in(message)
        assert len(links) == 4
        for link in links:
            assert "__mail-value-" not in link
            if "/c/" not in link:  # the signer's own links are in the HTML part too
                assert f'href="{link}"' in html
        tokens.update(re.sub(r".*/", "", link) for link in links if "/c/" not in link)
    assert len(tokens) == 9  # confirm, "it wasn't me" and preferences, for each signer


def test_kept_mail_words_match_a_plain_rendering_for_every_recipient(app):
    """Per-mail values are put in where the templates print them, escaped in the HTML part; a
    value the kept copy could not stand for (an empty one, which the layout tests) is rendered
    the plain way."""
    shared = {"confirm_url": "https://example.org/c", "reject_url": "https://example.org/r"}
    shared |= {"petition_url": "https://example.org/p", "valid_days": 7}
    with app.app_context():
        first = render_parts("petitions/confirm", "en", shared, {"title": "One & two"})
        second = render_parts("petitions/confirm", "en", shared, {"title": "Three <four>"})
        empty = render_parts("petitions/confirm", "en", shared, {"preferences_url": ""})
        later = render_parts(
            "petitions/confirm", "en", shared, {"preferences_url": "https://x.test/pref"}
        )
    assert "One & two" in first[0]
    assert "One &amp; two" in first[2]
    assert "Three <four>" in second[0]
    assert "Three &lt;four&gt;" in second[2]
    assert "One" not in "".join(second)
    assert "Your preferences" not in empty[2]
    assert 'href="https://x.test/pref"' in later[2]
    assert "https://x.test/pref" in later[1]

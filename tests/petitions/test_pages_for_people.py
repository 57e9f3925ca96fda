"""What a supporter reads after signing: the address the mail goes to and when it may come again,
a goal that shows the way, plain words to withdraw a confirmed signature; and before signing, how
their data is used in a few points, with the full notice one tap away."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.petitions.models import ConsentRecord
from campaigns.petitions.services import stepped_goal
from tests.petitions.test_signing import confirmation_links, path_of
from tests.support import csrf_token, run_outbox, sign


def test_check_your_email_names_the_address_and_when_the_mail_may_come_again(client, demo):
    response = sign(client, email="  Mia@Example.org ")
    page = client.get(response.location).get_data(as_text=True)
    assert "We are sending an email to mia@example.org." in page
    assert "at most once every 10 minutes" in page
    assert "Sign again with the right one" in page
    # Shown once: the address does not stay on the page for whoever uses the browser next.
    assert "mia@example.org" not in client.get(response.location).get_data(as_text=True)


@pytest.mark.parametrize(
    ("total", "shown"),
    [(0, 100), (99, 100), (100, 200), (250, 500), (999, 1000), (4_999, 5_000), (9_000, 10_000)],
)
def test_the_goal_shown_steps_up_with_the_count_to_the_petitions_own(total, shown):
    assert stepped_goal(total, 10_000) == shown


def test_the_goal_shown_never_passes_the_petitions_own():
    assert stepped_goal(50, 80) == 80
    assert stepped_goal(12_000, 10_000) == 10_000


def test_a_petition_with_few_signatures_shows_its_next_goal(client, demo):
    page = client.get("/en/c/naloxone-in-every-pocket").get_data(as_text=True)
    assert "Next goal: 100, on the way to 10,000" in page
    assert '<progress max="100" value="0"' in page


def test_a_confirmed_signer_withdraws_in_plain_words(app, client, demo, mailbox):
    sign(client, email="lou@example.org")
    run_outbox(app)
    confirm, reject = confirmation_links(mailbox.messages[0])
    page = client.get(path_of(confirm)).get_data(as_text=True)
    client.post(path_of(confirm), data={"csrf_token": csrf_token(page)})

    asked = client.get(path_of(reject)).get_data(as_text=True)
    assert "Withdraw your signature?" in asked
    assert "If you have changed your mind" in asked
    assert "Did someone sign with your email address?" not in asked

    done = client.post(path_of(reject), data={"csrf_token": csrf_token(asked)})
    text = done.get_data(as_text=True)
    assert "Signature withdrawn" in text
    assert "Sorry for the trouble" not in text


def test_a_pending_signature_is_still_removed_as_someone_elses(app, client, demo, mailbox):
    sign(client, email="not-me@example.org")
    run_outbox(app)
    _confirm, reject = confirmation_links(mailbox.messages[0])
    asked = client.get(path_of(reject)).get_data(as_text=True)
    assert "Did someone sign with your email address?" in asked


def data_use_as_shown(page: str) -> tuple[list[str], str, bool]:
    """The points, the full notice and whether the notice is open, as the form shows them."""
    section = re.search(r'<section class="data-use".*?</section>', page, re.S).group(0)
    points = [html.unescape(p) for p in re.findall(r"<li>(.*?)</li>", section, re.S)]
    details = re.search(r"<details( open)?>.*?<p>(.*?)</p>", section, re.S)
    return points, html.unescape(details.group(2)), bool(details.group(1))


@pytest.mark.parametrize(("lang", "opening"), [("en", "We use your"), ("fr", "Nous utilisons")])
def test_the_data_notice_is_a_few_points_and_the_record_keeps_every_word_shown(
    client, demo, lang, opening
):
    page = client.get(f"/{lang}/c/naloxone-in-every-pocket").get_data(as_text=True)
    points, full, is_open = data_use_as_shown(page)
    assert 3 <= len(points) <= 4
    assert all(len(point.split()) <= 20 for point in points)  # short enough for a phone
    assert points[0].startswith(opening)
    assert not is_open  # the full notice is one tap away, not in the way
    assert len(full.split()) > 100

    sign(client, lang=lang)

    record = db.session.scalar(
        select(ConsentRecord).where(ConsentRecord.granted).join(ConsentRecord.consent_text)
    )
    stored = record.consent_text
    assert (stored.purpose, stored.locale) == ("signature", lang)
    assert stored.text == "\n".join(f"- {point}" for point in points) + "\n\n" + full

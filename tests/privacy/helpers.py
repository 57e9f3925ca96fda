"""What the preferences tests share: finding the page's link in a mail, pressing its buttons as
a browser would, and consents given to a member network."""

from __future__ import annotations

import hashlib
import html
import re
from email.message import EmailMessage

from sqlalchemy import select

from campaigns.core.db import utcnow
from campaigns.extensions import db
from campaigns.networks.models import Network
from campaigns.petitions.models import ConsentRecord, ConsentText, Signature
from tests.support import csrf_token, text_part

NALOXONE = "naloxone-in-every-pocket"
CHECKING = "test-dont-guess"


def preferences_link(message: EmailMessage) -> str:
    """The path of the preferences link, found in the text part and in the HTML part alike."""
    text = text_part(message)
    found = re.findall(r"https?://[^/\s]+(/[a-z]{2}/preferences/\S+)", text)
    assert len(found) == 1, f"one preferences link expected in:\n{text}"
    page = message.get_body(preferencelist=("html",)).get_content()
    assert re.search(r'href="https?://[^/"]+' + re.escape(found[0]) + '"', page)
    return found[0]


def visible(page: str) -> str:
    """The page's text, its markup and hidden context dropped, its entities resolved."""
    main = page.split("<main", 1)[1].split(">", 1)[1].split("</main>", 1)[0]
    main = re.sub(r'<span class="visually-hidden">.*?</span>', "", main, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", main)))


def headings(page: str, level: int = 3) -> list[str]:
    return [
        html.unescape(h.strip()) for h in re.findall(rf"<h{level}>(.*?)</h{level}>", page, re.S)
    ]


def press(client, path: str, name: str, value: object):
    """Open the page and press the button that sends `name=value`, as a supporter would."""
    page = client.get(path).get_data(as_text=True)
    button = f'name="{name}" value="{value}"'
    assert button in page, f"no button {button} on the page"
    form = page.split(button)[0].rsplit("<form", 1)[1]
    action = html.unescape(re.search(r'action="([^"]+)"', form).group(1))
    return client.post(action, data={"csrf_token": csrf_token(page), name: str(value)})


def network(slug: str, name: str) -> Network:
    found = db.session.scalar(select(Network).where(Network.slug == slug))
    if found is None:
        found = Network(slug=slug, name=name, countries=["DE"], languages=["de"])
        db.session.add(found)
        db.session.commit()
    return found


def give_network_consent(signature: Signature, to: Network, granted: bool = True) -> int:
    """A "<network> may contact me" record on `signature`, as signing stores one (purpose
    "network:<id>", the network's id beside it); returns its id."""
    purpose = f"network:{to.id}"
    text = db.session.scalar(select(ConsentText).where(ConsentText.purpose == purpose))
    if text is None:
        wording = f"{to.name} may contact me by email about its work."
        text = ConsentText(
            purpose=purpose,
            locale="en",
            version=1,
            text=wording,
            text_sha256=hashlib.sha256(wording.encode()).hexdigest(),
        )
        db.session.add(text)
        db.session.flush()
    now = utcnow()
    record = ConsentRecord(
        signature_id=signature.id,
        consent_text_id=text.id,
        granted=granted,
        recorded_at=now,
        confirmed_at=now,
        network_id=to.id,
    )
    db.session.add(record)
    db.session.commit()
    return record.id

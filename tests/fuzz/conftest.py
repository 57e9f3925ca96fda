"""Hypothesis profiles for the fuzz tests, and the records their forms need.

`ci` (the default): a few dozen examples per form, derandomized so that a failure in CI comes back
the same on a developer's machine, and no example database written into the repository.
`long`: many more, random each run (remembered in .hypothesis/ so a failure found is tried
first next time): `HYPOTHESIS_PROFILE=long .venv/bin/pytest tests/fuzz`.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import select

from campaigns.core.db import utcnow

# The state of one example stays for the next (a campaign saved by one is edited by the next):
# the fuzzing then also renders what earlier examples stored.
_SHARED = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
}
settings.register_profile("ci", max_examples=20, derandomize=True, database=None, **_SHARED)
settings.register_profile("long", max_examples=500, **_SHARED)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


STAFF_PASSWORD = "violet tractor summer piano"  # as tests/conftest.py's


@pytest.fixture(scope="session")
def password_hash() -> str:
    """The staff password hashed once: argon2 and the password policy cost ~0.3 s an account."""
    from campaigns.staff.passwords import hash_password

    return hash_password(STAFF_PASSWORD)


@pytest.fixture
def add_staff(demo, password_hash):
    """A staff account stored directly (the team form itself is fuzzed on its own)."""
    from campaigns.extensions import db
    from campaigns.staff.models import Role, StaffUser

    def add(email: str, role: str = "admin", **fields: object) -> StaffUser:
        user = StaffUser(email=email, role=Role(role), password_hash=password_hash, **fields)
        db.session.add(user)
        db.session.commit()
        return user

    return add


@pytest.fixture
def admin(client, add_staff, staff_login):
    """A signed-in administrator's browser, over the demo content."""
    staff_login(add_staff("admin@staff.example.org"))
    return client


class Records(dict):
    """Ids and link tokens by name, for the addresses of the pages fuzzed. The demo's letter
    action (with its ~700 MEPs to import) and its letters are made only when a test first asks
    for one of them."""

    LETTERS = ("letter", "letter_slug", "target", "letter_confirm", "letter_reject")

    def __missing__(self, key: str) -> object:
        if key not in self.LETTERS:
            raise KeyError(key)
        self._letters()
        return self[key]

    def _letters(self) -> None:
        from campaigns.campaign.models import Campaign, CampaignKind
        from campaigns.devstack.demo_letters import load_demo_letter_action
        from campaigns.extensions import db
        from campaigns.lobbying import delivery
        from campaigns.lobbying import services as lobbying
        from campaigns.lobbying.models import Letter, LetterDelivery, LetterStatus, Target

        load_demo_letter_action()
        db.session.commit()
        campaign = db.session.scalar(select(Campaign).where(Campaign.kind == CampaignKind.LETTER))
        target = db.session.scalar(select(Target).order_by(Target.id))
        letters = []
        for n in range(2):  # one confirmed (staff may log its target's answer), one pending
            letter = Letter(
                action_id=campaign.letter_action.id,
                email=f"writer{n}@example.org",
                email_digest=f"writer-digest-{n}",
                name=f"Writer {n}",
                country="FR",
                locale="en",
                status=LetterStatus.PENDING,
            )
            letter.deliveries = [LetterDelivery(target_id=target.id)]
            db.session.add(letter)
            db.session.flush()
            letters.append(letter)
        lobbying.confirm(letters[0])
        delivery.schedule_letter(letters[0].id)
        db.session.commit()
        self["letter"], self["letter_slug"], self["target"] = campaign.id, campaign.slug, target.id
        self["letter_confirm"] = lobbying.make_token(letters[1].id, "confirm")
        self["letter_reject"] = lobbying.make_token(letters[1].id, "reject")


@pytest.fixture
def records(app, demo, add_staff) -> Records:
    """Ids of what the pages are about: the demo's campaigns and networks, plus a mailing (sent
    to one address), a webhook endpoint with a failed and a cancelled message, a member network
    subscribed to urgent actions, a colleague with two-factor sign-in, a pending signature and
    the tokens of its links."""
    from campaigns.alerts.models import AlertSubscription, Channel, Topic
    from campaigns.campaign.models import Campaign, CampaignKind
    from campaigns.extensions import db
    from campaigns.mailings.message import unsubscribe_token
    from campaigns.mailings.models import Delivery, Mailing, MailingVersion
    from campaigns.networks.models import Network
    from campaigns.petitions import services as petitions
    from campaigns.petitions.models import Signature
    from tests.fuzz.states import add_endpoint
    from tests.support import confirm_by_link, sign

    petition = db.session.scalar(
        select(Campaign).where(Campaign.kind == CampaignKind.PETITION).order_by(Campaign.id)
    )
    member = db.session.scalar(
        select(Network).where(Network.is_umbrella.is_(False)).order_by(Network.id)
    )
    mailing = Mailing(name="Fuzz", audience={}, default_locale="en")
    mailing.versions.append(MailingVersion(locale="en", subject="Hi", body_markdown="Hello"))
    # The urgent action's preview can then go on to its question ("send to 1 network?").
    urgent = AlertSubscription(
        network_id=member.id, topic=Topic.URGENT_ACTION, channel=Channel.EMAIL
    )
    db.session.add_all([mailing, urgent])
    db.session.flush()
    sent = Delivery(mailing_id=mailing.id, email="reader@example.org", locale="en")
    db.session.add(sent)
    db.session.commit()
    endpoint, failed = add_endpoint(member.id)
    colleague = add_staff(
        "colleague@staff.example.org",
        "campaigner",
        totp_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",  # 160 bits, as set up
        totp_enabled_at=utcnow(),
    )
    # A supporter who agreed that the member network may contact them (its coordinator's
    # list), and one who has not confirmed yet (whose links the public forms are fuzzed on).
    browser = app.test_client()
    consented = {
        "source": member.slug,
        "network_consent": "y",
        "network_consent_for": str(member.id),
    }
    sign(browser, petition.slug, email="ada@example.org", **consented)
    signature = db.session.scalar(select(Signature).order_by(Signature.id.desc()))
    confirm_by_link(browser, f"/en/confirm/{petitions.make_token(signature.id, 'confirm')}")
    sign(browser, petition.slug, email="grace@example.org")
    signature = db.session.scalar(select(Signature).order_by(Signature.id.desc()))
    return Records(
        petition=petition.id,
        petition_slug=petition.slug,
        network=member.id,
        network_slug=member.slug,
        mailing=mailing.id,
        endpoint=endpoint,
        webhook_delivery=failed,
        colleague=colleague.id,
        confirm=petitions.make_token(signature.id, "confirm"),
        reject=petitions.make_token(signature.id, "reject"),
        preferences=petitions.make_token(signature.id, "preferences"),
        unsubscribe=unsubscribe_token(sent.id),
    )

"""Recording a signature through the API, as a member network's server does it and as its signer
lives it: the confirmation mail, nothing counted before the link is confirmed, then counted for
the network; Idempotency-Key; the same answer whatever the address did before; the consent
"<network> may contact me" recorded with the wording the form shows."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from campaigns.api.idempotency import fingerprint, idempotent
from campaigns.api_keys.models import ApiKey
from campaigns.campaign.models import Campaign
from campaigns.extensions import db
from campaigns.network_directory.services import signatures_by_petition
from campaigns.petitions.consent import network_wording
from campaigns.petitions.models import ConsentRecord, Petition, Signature, SignatureStatus
from tests.api.signing_support import BODY, NOTHING, SLUG, body, key_for, network, post, stored
from tests.petitions.test_signing import confirmation_links
from tests.support import confirm_by_link, run_outbox, sign, text_part


def counted(client) -> int:
    return client.get(f"/api/v1/petitions/{SLUG}/counts").json["total"]


def petition_id() -> int:
    return db.session.scalar(select(Petition.id).join(Campaign).where(Campaign.slug == SLUG))


@pytest.fixture
def resend_at_once(app):
    """A second mail to an address would be due at once: only idempotency can prevent one."""
    app.config["CONFIRMATION_RESEND_INTERVAL"] = 0
    yield
    app.config["CONFIRMATION_RESEND_INTERVAL"] = 600


def test_a_network_records_a_signature_that_counts_for_it_once_its_signer_confirms(
    app, client, demo, mailbox
):
    token = key_for("asud")
    before = counted(client)

    answer = post(client, token)

    assert answer.status_code == 202
    assert answer.content_type == "application/json"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["RateLimit"].startswith('"api";')
    assert answer.json == {
        "status": "awaiting_confirmation",
        "detail": "A confirmation mail is on its way to the address given. The signature "
        "counts once its owner confirms it with the link in that mail.",
        "petition": SLUG,
        "language": "de",
        "_links": {
            "osdi:petition": {"href": f"http://localhost/api/v1/petitions/{SLUG}"},
            "counts": {"href": f"http://localhost/api/v1/petitions/{SLUG}/counts"},
        },
    }
    assert "ada@example.org" not in answer.get_data(as_text=True)
    signature = db.session.scalar(select(Signature))
    assert (signature.status, signature.name, signature.email, signature.country) == (
        SignatureStatus.PENDING,
        "Ada Lovelace",
        "ada@example.org",
        "DE",
    )
    assert (signature.locale, signature.comment) == ("de", "Harm reduction saves lives.")
    assert signature.source_network_id == network("asud").id
    assert counted(client) == before  # nothing counts before the signer confirms

    run_outbox(app)
    [mail] = mailbox.to("ada@example.org")
    assert mail["Content-Language"] == "de"
    assert "Lovelace" not in text_part(mail)  # a typed name is never echoed to an address
    assert counted(client) == before
    assert signatures_by_petition(network("asud").id) == {}

    confirm, _reject = confirmation_links(mail)
    assert confirm_by_link(client, confirm).status_code == 303
    assert counted(client) == before + 1
    assert signatures_by_petition(network("asud").id) == {petition_id(): 1}


def test_the_choices_are_recorded_as_the_form_records_them(client, demo, mailbox):
    payload = body(email="bea@example.org", languages_spoken=["fr-BE"])
    payload["consents"] = {"public_name": True, "newsletter": True}
    assert post(client, key_for("asud"), payload).status_code == 202
    sign(client, lang="fr", email="cleo@example.org", show_name="y", newsletter="y")

    def consents_of(email: str) -> dict[str, tuple[bool, str]]:
        records = db.session.scalars(
            select(ConsentRecord).join(Signature).where(Signature.email == email)
        )
        return {
            r.consent_text.purpose: (r.granted, r.consent_text.locale, r.consent_text.id)
            for r in records
        }

    assert consents_of("bea@example.org") == consents_of("cleo@example.org")
    assert {p: c[:2] for p, c in consents_of("bea@example.org").items()} == {
        "signature": (True, "fr"),
        "public_name": (True, "fr"),
        "newsletter": (True, "fr"),
    }
    assert db.session.scalar(
        select(Signature.show_name).where(Signature.email == "bea@example.org")
    )


def test_of_several_addresses_the_primary_one_is_used(client, demo, mailbox):
    payload = body()
    payload["person"]["email_addresses"] = [
        {"address": "old@example.org", "primary": False},
        {"address": "main@example.org", "primary": True},
    ]
    payload["person"]["postal_addresses"] = [{"country": "FR"}, {"country": "PT", "primary": True}]
    payload["person"]["phone_numbers"] = [{"number": "+49 30 1234567"}]  # OSDI's, not kept
    assert post(client, key_for("asud"), payload).status_code == 202
    assert db.session.execute(select(Signature.email, Signature.country)).one() == (
        "main@example.org",
        "PT",
    )


def test_a_language_the_platform_does_not_speak_falls_back_to_the_campaigns(client, demo):
    answer = post(client, key_for("asud"), body(languages_spoken=["es"]))
    assert answer.json["language"] == "en"
    assert db.session.scalar(select(Signature.locale)) == "en"
    nothing_said = body(email="dan@example.org")
    del nothing_said["person"]["languages_spoken"]
    assert post(client, key_for("asud"), nothing_said).json["language"] == "en"


def test_an_address_that_signed_before_gets_the_same_answer_and_its_mail(
    app, client, demo, mailbox, resend_at_once
):
    token = key_for("asud")
    first = post(client, token)
    run_outbox(app)
    again_pending = post(client, token, body(email="  ADA@example.org "))
    run_outbox(app)
    assert again_pending.json == first.json
    assert [m["Subject"] for m in mailbox.to("ada@example.org")] == [
        "Bitte bestätige deine Unterschrift: Naloxon in jede Tasche"
    ] * 2

    confirm_by_link(client, confirmation_links(mailbox.messages[-1])[0])
    signed = post(client, token)
    run_outbox(app)
    assert (signed.status_code, signed.json) == (202, first.json)
    assert len(mailbox.to("ada@example.org")) == 3
    assert mailbox.messages[-1]["Subject"] == "Du hast schon unterschrieben: Naloxon in jede Tasche"
    assert db.session.scalar(select(Signature.status)) == SignatureStatus.CONFIRMED
    assert counted(client) == 1


def test_the_same_idempotency_key_twice_signs_and_mails_once(
    app, client, demo, mailbox, resend_at_once
):
    token = key_for("asud")
    first = post(client, token, Idempotency_Key="order-1")
    # The same content with its fields in another order is the same request.
    reordered = {
        "consents": BODY["consents"],
        "comments": BODY["comments"],
        "person": BODY["person"],
    }
    again = post(client, token, reordered, Idempotency_Key="order-1")
    run_outbox(app)

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(mailbox.to("ada@example.org")) == 1
    assert stored() == {"Signature": 1, "ConsentRecord": 3, "Event": 1}
    # Without the key the platform's own deduplication answers: the same, and one more mail
    # (the resend interval is 0 here).
    assert post(client, token).json == first.json
    run_outbox(app)
    assert len(mailbox.to("ada@example.org")) == 2


def test_the_same_idempotency_key_with_another_body_is_a_409(app, client, demo, mailbox):
    token = key_for("asud")
    assert post(client, token, Idempotency_Key="k-1").status_code == 202
    other = post(client, token, body(email="eve@example.org"), Idempotency_Key="k-1")
    assert other.status_code == 409
    assert other.content_type == "application/problem+json"
    assert "different request" in other.json["detail"]
    assert "eve@example.org" not in other.get_data(as_text=True)
    assert db.session.scalars(select(Signature.email)).all() == ["ada@example.org"]
    # Another petition with the same body is another request too.
    elsewhere = post(
        client,
        token,
        url="/api/v1/petitions/health-not-handcuffs/signatures",
        Idempotency_Key="k-1",
    )
    assert elsewhere.status_code == 409
    # Keys are per API key: another key may use the same value.
    assert (
        post(
            client, key_for("asud"), body(email="eve@example.org"), Idempotency_Key="k-1"
        ).status_code
        == 202
    )


def test_a_request_arriving_while_the_same_key_is_in_flight_is_told_to_retry(
    app, client, demo, mailbox
):
    token = key_for("asud")
    key_id = db.session.scalar(select(ApiKey.id))
    with app.test_request_context():
        with idempotent(key_id, "k-2", fingerprint(SLUG, BODY)):  # the first, still running
            busy = post(client, token, Idempotency_Key="k-2")
        # The first failed without an answer: the key is free again.
        assert post(client, token, Idempotency_Key="k-2").status_code == 202
    assert busy.status_code == 409
    assert busy.headers["Retry-After"] == "1"
    assert "still being handled" in busy.json["detail"]


def test_requests_racing_with_the_same_key_sign_and_mail_once(app, demo, mailbox, resend_at_once):
    token = key_for("asud")
    start = threading.Barrier(4)

    def post_now(_n: int):
        client = app.test_client()
        start.wait()
        return post(client, token, Idempotency_Key="race")

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(post_now, range(4)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(202) >= 1
    assert set(statuses) <= {202, 409}, statuses
    for busy in (a for a in answers if a.status_code == 409):
        assert "still being handled" in busy.json["detail"]
    # Asked again, a refused one gets the first answer.
    accepted = next(a for a in answers if a.status_code == 202)
    again = post(app.test_client(), token, Idempotency_Key="race")
    assert (again.status_code, again.json) == (202, accepted.json)
    run_outbox(app)
    assert len(mailbox.to("ada@example.org")) == 1
    assert stored()["Signature"] == 1


def test_the_redis_outage_leaves_signing_deduplicated(other_app, demo, mailbox):
    """Without Redis the key cannot be checked: the request still goes through, and the
    platform's own deduplication keeps one signature."""
    token = key_for("asud")
    client = other_app(REDIS_URL="redis://127.0.0.1:9/0").test_client()
    answers = [post(client, token, Idempotency_Key="k-3") for _ in range(2)]
    assert [a.status_code for a in answers] == [202, 202]
    assert stored()["Signature"] == 1


def test_the_network_contact_consent_is_recorded_with_the_forms_wording(client, demo, mailbox):
    asud = network("asud")
    ticked = body(email="fr@example.org", languages_spoken=["fr"])
    ticked["consents"]["network_contact"] = True
    declined = body(email="no@example.org")
    declined["consents"]["network_contact"] = False
    silent = body(email="silent@example.org")
    for payload in (ticked, declined, silent):
        assert post(client, key_for("asud"), payload).status_code == 202

    records = db.session.execute(
        select(Signature.email, ConsentRecord)
        .join(ConsentRecord.signature)
        .where(ConsentRecord.network_id.is_not(None))
        .order_by(Signature.email)
    ).all()
    assert [(email, r.network_id, r.granted) for email, r in records] == [
        ("fr@example.org", asud.id, True),
        ("no@example.org", asud.id, False),
    ]  # left out: no box was shown, nothing recorded
    french = records[0][1].consent_text
    assert (french.locale, french.text) == ("fr", network_wording(asud.name, "fr"))
    assert french.purpose == f"network:{asud.id}"
    assert records[1][1].consent_text.text == network_wording(asud.name, "de")


def test_the_umbrella_network_takes_no_contact_consent_of_its_own(client, demo, mailbox):
    token = key_for("euronpud")
    wants = body()
    wants["consents"]["network_contact"] = True
    refused = post(client, token, wants)
    assert refused.status_code == 422
    assert list(refused.json["errors"]) == ["consents"]
    assert "network_contact" in refused.json["errors"]["consents"]
    assert stored() == NOTHING

    wants["consents"]["network_contact"] = False
    assert post(client, token, wants).status_code == 202
    assert db.session.scalar(select(Signature.source_network_id)) == network("euronpud").id
    assert stored()["ConsentRecord"] == 3  # the form's three; no box of a network

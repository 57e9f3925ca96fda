"""Signatures by the Standard Webhooks specification, checked with its own library as a
receiver checks them, before, during and after a secret's rotation."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from campaigns.webhooks.endpoints import rotate_secret
from campaigns.webhooks.outgoing import message_body, new_message_id
from campaigns.webhooks.signing import EndpointKeys, headers, new_secret, sign
from tests.webhooks.conftest import add_endpoint

BODY = message_body("campaign.launched", {"campaign": {"slug": "housing-first"}})


def verified(secret: str, body: str, sent: dict[str, str]) -> dict:
    return Webhook(secret).verify(body, sent)


def test_a_secret_is_whsec_and_24_random_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert new_secret() != secret


def test_the_signature_matches_the_specifications_example():
    # The example of the Standard Webhooks specification's reference libraries.
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        '{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_headers_verify_with_the_standard_webhooks_library():
    keys = EndpointKeys(new_secret())
    message_id = new_message_id()
    sent = headers(keys, message_id, BODY, datetime.now(UTC))

    assert sent["webhook-id"] == message_id
    assert sent["Content-Type"] == "application/json"
    assert "EuroNPUD" in sent["User-Agent"]
    assert verified(keys.secret, BODY, sent)["type"] == "campaign.launched"
    assert verified(keys.secret, BODY, sent)["version"] == 1
    with pytest.raises(WebhookVerificationError):
        verified(new_secret(), BODY, sent)  # another secret
    with pytest.raises(WebhookVerificationError):
        verified(keys.secret, BODY.replace("housing", "h0using"), sent)  # a changed body


def test_both_secrets_sign_during_a_rotation_then_only_the_new_one(app_ctx, network):
    endpoint = add_endpoint(network, "https://93.184.215.14/hooks")
    old = endpoint.secret
    now = datetime.now(UTC)
    new = rotate_secret(endpoint, now)
    overlap = timedelta(seconds=app_ctx.config["WEBHOOK_SECRET_OVERLAP"])
    assert new == endpoint.secret != old
    assert endpoint.previous_secret == old
    assert endpoint.previous_secret_until == now + overlap

    during = headers(endpoint, "msg_rotation", BODY, datetime.now(UTC))
    assert len(during["webhook-signature"].split(" ")) == 2
    # A receiver still holding the old secret and one updated to the new both accept it.
    assert verified(old, BODY, during)
    assert verified(new, BODY, during)

    endpoint.previous_secret_until = datetime.now(UTC) - timedelta(seconds=1)  # overlap over
    after = headers(endpoint, "msg_rotation", BODY, datetime.now(UTC))
    assert len(after["webhook-signature"].split(" ")) == 1
    assert verified(new, BODY, after)
    with pytest.raises(WebhookVerificationError):
        verified(old, BODY, after)

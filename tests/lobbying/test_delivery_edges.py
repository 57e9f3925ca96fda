"""What could go wrong between a confirmed letter and a policymaker's inbox: a name built to forge a
sender, an address in another script, a draft translation, a policy changed after confirming, a
server refusing the message rather than the address, one target's backlog, a paused campaign, a
bounce fixed later, a target switched to a daily digest."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from campaigns.campaign.models import CampaignStatus, TranslationStatus
from campaigns.extensions import db
from campaigns.lobbying import delivery
from campaigns.lobbying.models import (
    EditPolicy,
    Letter,
    LetterDelivery,
    LetterDeliveryStatus,
)
from tests.lobbying.test_letter_journey import confirm, write
from tests.lobbying.test_pacing import confirmed_letters
from tests.support import csrf_token, run_outbox, text_part


def deliver(app, client, office_clock, mailbox, **fields):
    """Write (as Ana, from France), confirm, and let beat deliver for a while."""
    write(client, **fields)
    run_outbox(app)
    confirm(client, mailbox.messages[-1])
    run_outbox(app)
    mailbox.clear()
    for _ in range(4):
        office_clock.now += timedelta(minutes=5)
        delivery.tick()
    return [m for m in mailbox.messages if m["X-Original-To"]]


def test_a_name_cannot_add_a_sender_or_an_answer_address(
    app, client, action, office_clock, mailbox
):
    forged = 'Eve" <commissioner@ec.example.eu>, "x'
    letters = deliver(app, client, office_clock, mailbox, name=forged)
    assert letters
    for message in letters:
        assert len(message["From"].addresses) == 1
        assert message["From"].addresses[0].addr_spec.startswith("campaigns@")
        (reply_to,) = message["Reply-To"].addresses
        assert reply_to.addr_spec == "ana@example.org"


def test_an_address_in_another_script_still_gets_its_letters_answered(
    app, client, action, office_clock, mailbox
):
    refused = write(client, email="анна@example.org")  # the policymakers' servers may not take it
    assert refused.status_code == 422
    letters = deliver(app, client, office_clock, mailbox, email="ana@münchen.example")
    assert len(letters) == 3
    assert letters[0]["Reply-To"].addresses[0].domain == "xn--mnchen-3ya.example"


def test_a_draft_translation_never_reaches_a_policymaker(
    app, client, action, directory, office_clock, mailbox
):
    french = next(t for t in action.campaign.translations if t.locale == "fr")
    french.status = TranslationStatus.DRAFT
    db.session.commit()
    letters = deliver(app, client, office_clock, mailbox)
    marc = next(m for m in letters if m["X-Original-To"] == directory["marc"].email)
    assert marc["Subject"] == "Harm reduction in the EU Drugs Strategy"  # the English version


def test_what_a_supporter_confirmed_is_sent_even_if_the_policy_changed(
    app, client, action, office_clock, mailbox
):
    write(client)
    run_outbox(app)
    confirm(client, mailbox.messages[-1])
    run_outbox(app)
    action.edit_policy = EditPolicy.FIXED  # staff change their mind after Ana confirmed
    db.session.commit()
    office_clock.now += timedelta(minutes=5)
    delivery.tick()
    letters = [m for m in mailbox.messages if m["X-Original-To"]]
    assert letters
    assert all("I lost a friend to an overdose." in text_part(m) for m in letters)


def test_a_refused_message_fails_alone_and_flags_no_target(
    action, directory, office_clock, mailbox
):
    confirmed_letters(action, [directory["marc"]], 1)
    mailbox.reply = "554 5.6.0 Message content rejected"
    office_clock.now += timedelta(minutes=1)
    delivery.tick()
    db.session.refresh(directory["marc"])
    assert directory["marc"].bounced_at is None
    assert db.session.scalar(select(LetterDelivery.status)) == LetterDeliveryStatus.FAILED


def test_one_targets_backlog_does_not_hide_anothers_letter(
    app, action, directory, office_clock, mailbox
):
    app.config["LOBBYING_BATCH_SIZE"], batch = 5, app.config["LOBBYING_BATCH_SIZE"]
    try:
        confirmed_letters(action, [directory["marc"]], 12)
        confirmed_letters_from(action, [directory["jonas"]], start=100)
        office_clock.now += timedelta(hours=3)  # all overdue, Marc's first
        delivery.tick()
        delivery.tick()
    finally:
        app.config["LOBBYING_BATCH_SIZE"] = batch
    reached = {m["X-Original-To"] for m in mailbox.messages if m["X-Original-To"]}
    assert reached == {directory["marc"].email, directory["jonas"].email}


def confirmed_letters_from(action, targets, start: int) -> None:
    """One more confirmed letter, from a supporter numbered `start` (addresses stay unique)."""
    from campaigns.lobbying.services import confirm as confirm_letter

    letter = Letter(
        action_id=action.id,
        email=f"supporter{start}@example.org",
        email_digest=f"digest-{start}",
        name=f"Supporter {start}",
        country="DE",
        locale="en",
    )
    letter.deliveries = [LetterDelivery(target_id=t.id) for t in targets]
    db.session.add(letter)
    db.session.flush()
    confirm_letter(letter)
    delivery.schedule_letter(letter.id)
    db.session.commit()


def test_a_paused_campaign_sends_nothing_until_it_is_resumed(
    action, directory, office_clock, mailbox
):
    confirmed_letters(action, [directory["marc"]], 1)
    action.campaign.status = CampaignStatus.PAUSED
    db.session.commit()
    office_clock.now += timedelta(minutes=5)
    delivery.tick()
    assert mailbox.messages == []
    action.campaign.status = CampaignStatus.LIVE
    db.session.commit()
    delivery.tick()
    assert len(mailbox.messages) == 1


def test_letters_skipped_for_a_bounce_go_once_the_bounce_is_cleared(
    app, action, directory, office_clock, mailbox, make_staff, staff_login
):
    marc = directory["marc"]
    app.config["LOBBYING_DELIVERY"] = "live"
    action.live = True
    db.session.commit()
    try:
        mailbox.rcpt_replies = {marc.email: "550 5.1.1 No such user"}
        confirmed_letters(action, [marc], 3)
        office_clock.now += timedelta(minutes=1)
        delivery.tick()
        assert sorted(db.session.scalars(select(LetterDelivery.status))) == [
            "bounced",
            "skipped",
            "skipped",
        ]
        mailbox.rcpt_replies = {}  # the office fixed its mailbox
        client = staff_login(make_staff("campaigner"))
        page = client.get(f"/staff/targets/{marc.id}").get_data(as_text=True)
        client.post(f"/staff/targets/{marc.id}/clear-bounce", data={"csrf_token": csrf_token(page)})
        for _ in range(3):
            office_clock.now += timedelta(minutes=5)
            delivery.tick()
    finally:
        app.config["LOBBYING_DELIVERY"] = "test"
    assert sorted(db.session.scalars(select(LetterDelivery.status))) == ["bounced", "sent", "sent"]
    assert [m["To"] for m in mailbox.messages] == [marc.email, marc.email]


def test_switching_a_target_to_the_digest_moves_its_waiting_letters(
    action, directory, office_clock, mailbox
):
    marc = directory["marc"]
    confirmed_letters(action, [marc], 4)
    marc.daily_digest = True
    assert delivery.switch_digest(marc.id, on=True) == 4
    db.session.commit()
    office_clock.now += timedelta(hours=1)
    delivery.tick()
    assert mailbox.messages == []  # nothing one by one any more: tomorrow's digest has them
    statuses = set(db.session.scalars(select(LetterDelivery.status)))
    assert statuses == {LetterDeliveryStatus.IN_DIGEST}


def test_a_target_without_a_version_in_its_language_gets_the_campaigns_own(
    app, client, action, directory, office_clock, mailbox
):
    """Jonas reads German, which this letter lacks: English, the campaign's language, whoever
    writes; not French because this writer used the French page."""
    letters = deliver(app, client, office_clock, mailbox, lang="fr", country="DE")
    (jonas,) = letters
    assert jonas["X-Original-To"] == directory["jonas"].email
    assert jonas["Subject"] == "Harm reduction in the EU Drugs Strategy"
    assert "I lost a friend to an overdose." in text_part(jonas)  # her words, as she wrote them


def test_letters_written_in_test_mode_reach_the_policymakers_once_an_admin_says_so(
    app, action, directory, office_clock, mailbox, make_staff, staff_login
):
    marc = directory["marc"]
    confirmed_letters(action, [marc], 2)
    for _ in range(2):
        office_clock.now += timedelta(minutes=5)
        delivery.tick()
    assert [m["To"] for m in mailbox.messages] == [app.config["LOBBYING_TEST_INBOX"]] * 2
    mailbox.clear()

    app.config["LOBBYING_DELIVERY"] = "live"
    action.live = True
    db.session.commit()
    try:
        admin = staff_login(make_staff("admin"))
        url = f"/staff/campaigns/{action.campaign_id}/letter/"
        page = admin.get(url).get_data(as_text=True)
        assert "Send the 2 letters written in test mode to the policymakers" in page
        token = csrf_token(page)
        question = admin.post(f"{url}test-letters-live", data={"csrf_token": token})
        assert "2 letters (2 messages)" in question.get_data(as_text=True)
        done = admin.post(f"{url}test-letters-live", data={"csrf_token": token, "confirmed": "yes"})
        assert done.status_code == 303
        for _ in range(3):
            office_clock.now += timedelta(minutes=5)
            delivery.tick()
        assert "letters written in test mode" not in admin.get(url).get_data(as_text=True)
    finally:
        app.config["LOBBYING_DELIVERY"] = "test"
    assert [m["To"] for m in mailbox.messages] == [marc.email, marc.email]  # once each

"""Every event of the outbox (see events.py): when it fires, what it carries, what handles it,
and the queue its handlers run on. An event type not listed here cannot be recorded or handled.
"""

from __future__ import annotations

from campaigns.core.tasks import DEFAULT, TRANSACTIONAL

EVENT_TYPES: dict[str, str] = {
    "signature.created": "A supporter signed a petition; the signature is pending. "
    "Payload: signature_id. Sends the confirmation mail.",
    "signature.confirmation_requested": "A supporter signed again while pending and may receive "
    "the confirmation mail once more. Payload: signature_id.",
    "signature.signed_again": "Someone signed again with the address of a confirmed signature. "
    "Payload: signature_id. Tells the address's owner, by email, that their signature counts.",
    "signature.confirmed": "A supporter confirmed with the link in the mail. Payload: signature_id. "
    "Updates the counters and checks milestones.",
    "signature.rejected": "Someone said 'it wasn't me'; the address was removed. "
    "Payload: signature_id, was_confirmed. Corrects the counters.",
    "petition.milestone_reached": "A petition's confirmed count reached a milestone for the first "
    "time. Payload: petition_id, threshold, kind ('count' or 'goal'). Alerts the member networks "
    "subscribed to milestones (campaigns.alerts.handlers).",
    "campaign.launched": "Staff launched a campaign: its page is live and takes signatures. "
    "Payload: campaign_id, staff_user_id. Alerts the member networks subscribed to launches.",
    "urgent_action.published": "Staff sent an urgent action to the member networks. "
    "Payload: urgent_action_id. Alerts the networks subscribed to urgent actions.",
    "mailing.send_now": "Staff scheduled a mailing for now. Payload: mailing_id. Starts it at "
    "once (beat's tick would start it within MAILING_TICK_INTERVAL).",
    "mailing.sent": "A mailing finished sending: every recipient is done. Payload: mailing_id. "
    "Alerts the networks subscribed to mailings (its subject and how many it reached).",
    "letter.created": "A supporter wrote a letter to policymakers; it is pending. "
    "Payload: letter_id. Sends the confirmation mail.",
    "letter.confirmation_requested": "A supporter wrote again while pending and may receive the "
    "confirmation mail once more. Payload: letter_id.",
    "letter.written_again": "Someone wrote again with the address of a confirmed letter. "
    "Payload: letter_id. Tells the address's owner that their letter is on its way.",
    "letter.confirmed": "A supporter confirmed their letter. Payload: letter_id. Schedules its "
    "deliveries (one per target, paced) and mails the supporter who receives it.",
    "network_consent.withdrawn": "A supporter's consent that a member network may contact them "
    "ended: withdrawn on the preferences page, or erased with the signature that carried it "
    "(withdrawn there or rejected with 'it wasn't me'). "
    "Only a consent the network could have read (confirmed, on a confirmed signature) and that "
    "no other standing consent of the address still covers. Payload: network_id, email, "
    "withdrawn_at (ISO 8601), reason ('withdrawn' or 'erased'). Tells the network to delete the "
    "person: a supporter.consent_withdrawn webhook, or the daily email of withdrawals "
    "(campaigns.alerts.withdrawals).",
    "staff.password_reset_requested": "Someone asked for a staff password reset. Payload: "
    "email (as typed, normalised), locale, ip_address. If an active account has the address, "
    "sends it the reset link and records the request in the audit log.",
}

# Which Celery queue an event's handlers run on: mail to supporters never waits behind bulk work.
EVENT_QUEUES: dict[str, str] = {
    "signature.created": TRANSACTIONAL,
    "signature.confirmation_requested": TRANSACTIONAL,
    "signature.signed_again": TRANSACTIONAL,
    "staff.password_reset_requested": TRANSACTIONAL,
    "letter.created": TRANSACTIONAL,
    "letter.confirmation_requested": TRANSACTIONAL,
    "letter.written_again": TRANSACTIONAL,
    "letter.confirmed": TRANSACTIONAL,
    # Alerts to member networks: made in a moment, sent by their own tasks; no supporter waits.
    "campaign.launched": DEFAULT,
    "petition.milestone_reached": DEFAULT,
    "urgent_action.published": DEFAULT,
    "mailing.sent": DEFAULT,
    "mailing.send_now": DEFAULT,
    "network_consent.withdrawn": DEFAULT,
}

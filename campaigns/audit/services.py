"""Writing to the audit log. Call `record()` in the same transaction as the change it describes,
so the change and its entry are committed (or rolled back) together."""

from __future__ import annotations

from flask import g, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect

from campaigns.audit.models import AuditEntry
from campaigns.extensions import db

# Every action the log knows, with what it means (the filter on the audit page lists them).
ACTIONS: dict[str, str] = {
    "staff.login": _l("Signed in"),
    "staff.login_failed": _l("A sign-in failed (wrong password or code) for an existing account"),
    "staff.logout": _l("Signed out"),
    "staff.password_reset_requested": _l("Asked for a password reset link"),
    "staff.password_changed": _l("Changed or reset their password"),
    "staff.two_factor_enabled": _l("Turned on two-factor sign-in"),
    "staff.two_factor_disabled": _l("Turned off two-factor sign-in"),
    "staff.created": _l("Created a staff account"),
    "staff.updated": _l("Changed a staff account (role, network, name, active)"),
    "settings.changed": _l("Changed a site setting"),
    "campaign.created": _l("Created a campaign"),
    "campaign.updated": _l("Edited a campaign or one of its translations"),
    "campaign.state_changed": _l("Changed a campaign's state (launch, pause, close, deliver)"),
    "mailing.saved": _l("Created or edited a mailing"),
    "mailing.test_sent": _l("Sent a test of a mailing to staff addresses"),
    "mailing.state_changed": _l("Scheduled, paused, resumed or cancelled a mailing"),
    "supporters.viewed": _l(
        "Saw supporters' personal data (a list or a delivery report with names)"
    ),
    "signatures.exported": _l("Exported signatures as CSV"),
    "mail_catcher.viewed": _l("Read a message in the built-in mail catcher"),
    "letter_action.updated": _l(
        "Saved a letter action's settings (who receives the letters, what supporters may change)"
    ),
    "letter_action.live_changed": _l(
        "Switched a letter action's letters live (to the policymakers) or back to test mode"
    ),
    "letter_action.test_letters_sent_live": _l(
        "Sent the letters written during an action's test mode to the policymakers"
    ),
    "target.created": _l("Added a policymaker to the directory of targets"),
    "target.updated": _l("Edited a policymaker in the directory of targets"),
    "target.state_changed": _l(
        "Switched a target's daily digest, cleared its bounce, or deactivated or reactivated it"
    ),
    "targets.imported": _l("Imported the Members of the European Parliament from a file"),
    "target.response_logged": _l("Logged a policymaker's answer to a letter action"),
    "webhook_endpoint.created": _l("Added a webhook endpoint to a member network"),
    "webhook_endpoint.secret_rotated": _l("Gave a webhook endpoint a new signing secret"),
    "webhook_endpoint.state_changed": _l("Switched a webhook endpoint off or on"),
    "webhook_endpoint.deleted": _l("Deleted a webhook endpoint and its delivery log"),
    "network.created": _l("Added a member network to the directory"),
    "network.updated": _l(
        "Edited a member network (profile, alert contacts, slug or sites that may embed forms)"
    ),
    "network.deactivated": _l(
        "Deactivated a member network (no alerts, embeds, public page or new attribution)"
    ),
    "network.reactivated": _l("Reactivated a member network"),
    "network.logo_changed": _l("Uploaded or removed a member network's logo"),
    "alerts.subscriptions_changed": _l("Changed a network's alert subscriptions"),
    "alerts.urgent_action_sent": _l("Sent an urgent action to the member networks"),
    "alerts.contact_unsubscribed": _l(
        "A member network's alert contact stopped its alert mails (from the link in one)"
    ),
    "alerts.contact_resubscribed": _l(
        "A member network's alert contact chose to receive its alert mails again"
    ),
    "shared_supporters.viewed": _l(
        "Saw the supporters who agreed that a member network may contact them"
    ),
    "shared_supporters.exported": _l(
        "Downloaded as CSV the supporters who agreed that a member network may contact them"
    ),
    "api_key.created": _l("Made a key for the JSON API"),
    "api_key.revoked": _l("Revoked a key of the JSON API"),
    "api.personal_data_read": _l(
        "A key of the JSON API read supporters' personal data (a network's consenting supporters)"
    ),
}


# The actor of what someone not signed in did (a failed sign-in, a reset request): the entry
# names the account concerned as its target, never as the one who acted.
NOBODY = object()


def _describe_target(target: object | None) -> tuple[str | None, int | None]:
    if target is None:
        return None, None
    return type(target).__tablename__, inspect(target).identity[0]


def record(
    action: str,
    *,
    target: object | None = None,
    campaign_id: int | None = None,
    detail: dict | None = None,
    actor: object | None = None,
) -> AuditEntry:
    """Add an entry for `action` done by `actor` (default: the signed-in staff member; NOBODY for
    someone not signed in)."""
    if action not in ACTIONS:
        raise ValueError(f"undocumented audit action {action!r}")
    if actor is NOBODY:
        actor = None
    elif actor is None:
        actor = g.get("staff_user")
    target_type, target_id = _describe_target(target)
    entry = AuditEntry(
        action=action,
        actor_id=actor.id if actor is not None else None,
        actor_email=actor.email if actor is not None else None,
        target_type=target_type,
        target_id=target_id,
        campaign_id=campaign_id,
        detail=detail or {},
    )
    if has_request_context():
        entry.ip_address = request.remote_addr
        entry.user_agent = (request.user_agent.string or "")[:200] or None
    db.session.add(entry)
    return entry

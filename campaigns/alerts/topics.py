"""What each topic and channel is called, which email template tells it, and the occasion key
that makes an alert once per network: a campaign's launch, a petition's milestone, a week."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from campaigns.alerts.models import Channel, Topic

TOPIC_LABELS = {
    Topic.CAMPAIGN_LAUNCHED: _l("A campaign is launched"),
    Topic.MILESTONE_REACHED: _l("A petition reaches a milestone (such as 1,000 or its goal)"),
    Topic.URGENT_ACTION: _l("Urgent action written by the staff"),
    Topic.MAILING_SENT: _l("A mailing went out to supporters"),
    Topic.WEEKLY_DIGEST: _l("Weekly digest of the signatures the network brought"),
}

# Shorter, for the alert log's columns and filter.
TOPIC_NAMES = {
    Topic.CAMPAIGN_LAUNCHED: _l("Campaign launched"),
    Topic.MILESTONE_REACHED: _l("Milestone reached"),
    Topic.URGENT_ACTION: _l("Urgent action"),
    Topic.MAILING_SENT: _l("Mailing sent"),
    Topic.WEEKLY_DIGEST: _l("Weekly digest"),
}

CHANNEL_LABELS = {
    Channel.EMAIL: _l("Email to the network's contacts"),
    Channel.WEBHOOK: _l("Webhook to the network's endpoints"),
}

CHANNEL_NAMES = {Channel.EMAIL: _l("Email"), Channel.WEBHOOK: _l("Webhook")}

# emails/alerts/<name>.{subject.txt,txt,html}: file names without the dots of the topic values.
EMAIL_TEMPLATES = {
    Topic.CAMPAIGN_LAUNCHED: "alerts/campaign_launched",
    Topic.MILESTONE_REACHED: "alerts/milestone_reached",
    Topic.URGENT_ACTION: "alerts/urgent_action",
    Topic.MAILING_SENT: "alerts/mailing_sent",
    Topic.WEEKLY_DIGEST: "alerts/weekly_digest",
}


def topic_label(topic: Topic | str) -> str:
    return str(TOPIC_LABELS[Topic(topic)])


def topic_name(topic: Topic | str) -> str:
    return str(TOPIC_NAMES[Topic(topic)])


def channel_name(channel: Channel | str) -> str:
    return str(CHANNEL_NAMES[Channel(channel)])


# --- Occasions: the key that makes an alert once per network --------------------------------


def launch_occasion(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


def milestone_occasion(petition_id: int, threshold: int) -> str:
    return f"milestone:{petition_id}:{threshold}"


def urgent_occasion(urgent_action_id: int) -> str:
    return f"urgent:{urgent_action_id}"


def mailing_occasion(mailing_id: int) -> str:
    return f"mailing:{mailing_id}"


def week_label(monday: date) -> str:
    """The ISO week of a day, as "2026-W07"."""
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}"


def digest_occasion(monday: date) -> str:
    return f"week:{week_label(monday)}"

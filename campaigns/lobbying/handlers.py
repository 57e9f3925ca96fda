"""Event handlers of the lobbying domain: the confirmation mail (double opt-in), scheduling a
confirmed letter's deliveries with the receipt that says who receives it, and the note to an
address that wrote before."""

from __future__ import annotations

from flask import current_app

from campaigns.core.events import Event, handles
from campaigns.core.mail import first_name, render_email, send_once
from campaigns.core.urls import public_url
from campaigns.extensions import db
from campaigns.lobbying.delivery import schedule_letter
from campaigns.lobbying.models import Letter, LetterStatus
from campaigns.lobbying.services import delivered_to, make_token


def _links(letter: Letter) -> dict[str, str]:
    lang, slug = letter.locale, letter.action.campaign.slug
    return {
        "action_url": public_url("lobbying.write", lang=lang, slug=slug),
        "reject_url": public_url(
            "lobbying.reject", lang=lang, token=make_token(letter.id, "reject")
        ),
        # The supporter's preferences page (campaigns.privacy), which every mail to them links
        # to: there they withdraw this letter, or anything else they gave us, at any time.
        "preferences_url": public_url(
            "privacy.preferences", lang=lang, token=make_token(letter.id, "preferences")
        ),
    }


def _title(letter: Letter) -> str:
    return letter.action.campaign.translation_for(letter.locale).title


@handles("letter.created")
@handles("letter.confirmation_requested")
def send_confirmation_mail(event: Event) -> None:
    letter = db.session.get(Letter, event.payload["letter_id"])
    if letter is None or letter.status != LetterStatus.PENDING or not letter.email:
        return
    send_once(
        f"letter-confirm:{event.id}",
        "lobbying/confirm",
        lambda: render_email(
            "lobbying/confirm",
            letter.locale,
            letter.email,
            title=_title(letter),
            targets=[d.target for d in delivered_to(letter)],
            confirm_url=public_url(
                "lobbying.confirm", lang=letter.locale, token=make_token(letter.id, "confirm")
            ),
            valid_days=max(1, current_app.config["CONFIRMATION_MAX_AGE"] // 86400),
            **_links(letter),
        ),
    )


@handles("letter.confirmed")
def schedule_and_send_receipt(event: Event) -> None:
    """Schedule the deliveries (idempotent), then tell the supporter who receives the letter."""
    letter = db.session.get(Letter, event.payload["letter_id"])
    if letter is None or letter.status != LetterStatus.CONFIRMED or not letter.email:
        return
    schedule_letter(letter.id)
    send_once(
        f"letter-receipt:{letter.id}",
        "lobbying/receipt",
        lambda: render_email(
            "lobbying/receipt",
            letter.locale,
            letter.email,
            name=first_name(letter.name),
            title=_title(letter),
            deliveries=delivered_to(letter),
            **_links(letter),
        ),
    )


@handles("letter.written_again")
def send_already_written_mail(event: Event) -> None:
    letter = db.session.get(Letter, event.payload["letter_id"])
    if letter is None or letter.status != LetterStatus.CONFIRMED or not letter.email:
        return
    send_once(
        f"letter-again:{event.id}",
        "lobbying/already_written",
        lambda: render_email(
            "lobbying/already_written",
            letter.locale,
            letter.email,
            name=first_name(letter.name),
            title=_title(letter),
            deliveries=delivered_to(letter),
            **_links(letter),
        ),
    )

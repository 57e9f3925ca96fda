"""Staff pages of a letter action: who receives it, what supporters may change, test or live."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _

from campaigns.campaign.models import Campaign, CampaignKind
from campaigns.campaign.services import language_label, staff_title
from campaigns.extensions import db
from campaigns.lobbying import action_services as services
from campaigns.lobbying.action_forms import LetterActionForm
from campaigns.lobbying.mode import deployment_is_live
from campaigns.lobbying.models import EditPolicy, LetterAction, SelectionRule
from campaigns.staff.auth import current_staff, staff_required
from campaigns.staff.confirmation import Question, ask, confirmed
from campaigns.staff.models import Capability, StaffUser

bp = Blueprint("letter_action", __name__, url_prefix="/staff/campaigns/<int:campaign_id>/letter")
EDIT = Capability.EDIT_CAMPAIGNS
LIVE = Capability.SEND_LETTERS_LIVE


def action_or_404(campaign_id: int, for_update: bool = False) -> tuple[Campaign, LetterAction]:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.kind != CampaignKind.LETTER or campaign.letter_action is None:
        abort(404)
    action = campaign.letter_action
    if for_update:
        # Two admins pressing at once switch it once; the second sees the state the first left.
        action = db.session.get(
            LetterAction, action.id, with_for_update=True, populate_existing=True
        )
    return campaign, action


@bp.route("/", methods=["GET", "POST"])
@staff_required(EDIT)
def settings(campaign_id: int) -> ResponseReturnValue:
    # A save locks the action: two saves at once write their lists of targets one after the other.
    campaign, action = action_or_404(campaign_id, for_update=request.method == "POST")
    form = LetterActionForm(data=_form_data(action) if request.method == "GET" else None)
    _fill_choices(form, action)
    if form.is_submitted() and action.live and not current_staff().can(LIVE):
        # Letters of a live action reach real policymakers: who receives them is the admin's
        # to change, as switching live was.
        abort(403)
    if form.is_submitted() and _valid(form, campaign):
        changed = services.save_settings(action, _settings_from(form), current_staff())
        db.session.commit()
        flash(
            _("The letter settings are saved.") if changed else _("Saved: nothing was changed."),
            "success",
        )
        return redirect(url_for(".settings", campaign_id=campaign.id), 303)
    status = 422 if form.errors else 200
    rows = services.preview(action)
    return render_template(
        "lobbying/action/settings.html",
        campaign=campaign,
        action=action,
        title=staff_title(campaign),
        form=form,
        rows=rows,
        reachable=services.reachable(rows),
        mode=services.mode_of(action),
        changed_by=_changed_by(action),
        can_switch=current_staff().can(LIVE),
        counts=services.letter_counts(action),
        test_letters=services.sent_in_test_mode(action)[0],
    ), status


def _form_data(action: LetterAction) -> dict[str, object]:
    saved = services.settings_of(action)
    return {
        **vars(saved),
        "rule": saved.rule.value,
        "edit_policy": saved.edit_policy.value,
        "political_group": saved.political_group or "",
    }


def _fill_choices(form: LetterActionForm, action: LetterAction) -> None:
    form.committees.choices = [
        (
            code,
            ngettext(
                "%(code)s (%(count)s member)",
                "%(code)s (%(count)s members)",
                count,
                code=code,
                count=format_decimal(count),
            ),
        )
        for code, count in services.committee_choices(action.committee_list)
    ]
    form.political_group.choices = [("", _("Choose a group"))] + [
        (group, group) for group in services.group_choices(action.political_group)
    ]
    targets = [(t.id, services.target_label(t)) for t in services.target_choices(action)]
    form.named.choices = targets
    form.fallback.choices = targets


def _valid(form: LetterActionForm, campaign: Campaign) -> bool:
    """The form's own checks, then the one that needs the letters already written."""
    ok = form.validate()
    if form.edit_policy.data == EditPolicy.FULL.value and not form.body_max.errors:
        longest = max((len(t.letter_body) for t in campaign.translations), default=0)
        if form.body_max.data is not None and form.body_max.data < longest:
            form.body_max.errors.append(
                _(
                    "The letter's body is already %(length)s characters long in one language: "
                    "allow at least that.",
                    length=format_decimal(longest),
                )
            )
            ok = False
    return ok


def _settings_from(form: LetterActionForm) -> services.ActionSettings:
    return services.ActionSettings(
        rule=SelectionRule(form.rule.data),
        committees=list(dict.fromkeys(form.committees.data or [])),
        political_group=form.political_group.data or None,
        max_targets=form.max_targets.data,
        edit_policy=EditPolicy(form.edit_policy.data),
        note_max=form.note_max.data,
        body_max=form.body_max.data,
        named=list(form.named.data or []),
        fallback=list(form.fallback.data or []),
    )


def _changed_by(action: LetterAction) -> StaffUser | None:
    if action.live_changed_by_id is None:
        return None
    return db.session.get(StaffUser, action.live_changed_by_id)


# --- Test mode and live -------------------------------------------------------------------------


@bp.route("/live", methods=["POST"])
@staff_required(LIVE)
def go_live(campaign_id: int) -> ResponseReturnValue:
    campaign, action = action_or_404(campaign_id)
    back = url_for(".settings", campaign_id=campaign.id)
    if not deployment_is_live():
        flash(
            _(
                "The letters cannot go live: this deployment sends every letter in test mode "
                "(its setting LOBBYING_DELIVERY is not “live”). Whoever runs the server can "
                "change it."
            ),
            "error",
        )
        return redirect(back, 303)
    if not confirmed():
        if action.live:
            flash(_("This action's letters already go to the policymakers."), "success")
            return redirect(back, 303)
        return ask(_live_question(campaign, action, back))
    return _switch(campaign_id, live=True)


@bp.route("/test", methods=["POST"])
@staff_required(LIVE)
def back_to_test(campaign_id: int) -> ResponseReturnValue:
    """Always allowed, also when the deployment is not live: it only makes things safer."""
    campaign, action = action_or_404(campaign_id)
    back = url_for(".settings", campaign_id=campaign.id)
    if not confirmed():
        if not action.live:
            flash(_("This action is already in test mode."), "success")
            return redirect(back, 303)
        return ask(_test_question(campaign, action, back))
    return _switch(campaign_id, live=False)


@bp.route("/test-letters-live", methods=["POST"])
@staff_required(LIVE)
def send_test_letters_live(campaign_id: int) -> ResponseReturnValue:
    """Letters confirmed while the action was in test mode reached only the test inbox; once it
    is live, an admin may send them to the policymakers, as their writers asked."""
    campaign, action = action_or_404(campaign_id, for_update=confirmed())
    back = url_for(".settings", campaign_id=campaign.id)
    letters, messages = services.sent_in_test_mode(action)
    if not services.mode_of(action).live or not messages:
        db.session.rollback()
        flash(_("Nothing to send: the action is not live, or no letter waits."), "info")
        return redirect(back, 303)
    if not confirmed():
        return ask(
            Question(
                title=_("Send the letters written during the test to the policymakers?"),
                consequences=[
                    ngettext(
                        "%(count)s letter (%(messages)s messages) confirmed by its writer while "
                        "the action was in test mode reached only the test inbox. It goes to "
                        "its policymakers now, at each one's pace.",
                        "%(count)s letters (%(messages)s messages) confirmed by their writers "
                        "while the action was in test mode reached only the test inbox. They go "
                        "to their policymakers now, at each one's pace.",
                        letters,
                        count=format_decimal(letters),
                        messages=format_decimal(messages),
                    ),
                    _("Letters the team wrote to try the action are among them, if any."),
                ],
                button=_("Yes, send them to the policymakers"),
                back_url=back,
                danger=True,
            )
        )
    scheduled = services.send_test_letters_live(action, current_staff())
    db.session.commit()
    flash(
        ngettext(
            "%(count)s message is on its way to the policymakers.",
            "%(count)s messages are on their way to the policymakers.",
            scheduled,
            count=format_decimal(scheduled),
        ),
        "success",
    )
    return redirect(back, 303)


def _switch(campaign_id: int, live: bool) -> ResponseReturnValue:
    campaign, action = action_or_404(campaign_id, for_update=True)
    if live and not deployment_is_live():  # changed since the question was asked
        db.session.rollback()
        flash(_("The letters cannot go live: this deployment is in test mode."), "error")
    elif action.live != live:
        services.switch_live(action, live, current_staff())
        db.session.commit()
        flash(
            _("Letters now go to the policymakers themselves.")
            if live
            else _(
                "Test mode: letters now go to %(inbox)s.", inbox=services.mode_of(action).test_inbox
            ),
            "success",
        )
    else:
        db.session.rollback()
    return redirect(url_for(".settings", campaign_id=campaign.id), 303)


def _live_question(campaign: Campaign, action: LetterAction, back: str) -> Question:
    targets = services.reachable(services.preview(action))
    letters, messages = services.waiting(action)
    return Question(
        title=_(
            "Send the letters of “%(title)s” to the policymakers?", title=staff_title(campaign)
        ),
        consequences=[
            ngettext(
                "Letters will go to the policymakers themselves: %(count)s policymaker can "
                "receive them, in the network's name.",
                "Letters will go to the policymakers themselves: %(count)s policymakers can "
                "receive them, in the network's name.",
                targets,
                count=format_decimal(targets),
            ),
            ngettext(
                "%(count)s letter is waiting to be sent (%(messages)s messages): it goes to its "
                "policymakers, no longer to the test inbox.",
                "%(count)s letters are waiting to be sent (%(messages)s messages): they go to their "
                "policymakers, no longer to the test inbox.",
                letters,
                count=format_decimal(letters),
                messages=format_decimal(messages),
            ),
            _(
                "They are sent as written in the campaign's texts (%(languages)s): check them "
                "before you switch.",
                languages=", ".join(language_label(code) for code in campaign.ready_locales) or "–",
            ),
        ],
        button=_("Yes, send letters to the policymakers"),
        back_url=back,
        danger=True,
    )


def _test_question(campaign: Campaign, action: LetterAction, back: str) -> Question:
    letters, messages = services.waiting(action)
    inbox = services.mode_of(action).test_inbox
    return Question(
        title=_("Switch “%(title)s” back to test mode?", title=staff_title(campaign)),
        consequences=[
            _("From now on letters go to %(inbox)s, not to the policymakers.", inbox=inbox),
            ngettext(
                "%(count)s letter waiting to be sent (%(messages)s messages) goes there too.",
                "%(count)s letters waiting to be sent (%(messages)s messages) go there too.",
                letters,
                count=format_decimal(letters),
                messages=format_decimal(messages),
            ),
        ],
        button=_("Yes, switch to test mode"),
        back_url=back,
    )

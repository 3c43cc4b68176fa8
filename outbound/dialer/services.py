"""Running a campaign: start, pause, resume and stop; claiming due contacts and handing
their calls to the carrier; recording what the carrier reports; settling quiet calls."""

import datetime
import logging
import math
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Case, F, Max, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import AuditAction, audit_changes, audit_record
from accounts.roles import Role
from ops import metrics
from outbound import telephony
from outbound.contacts import acceptance
from outbound.contacts.selectors import excluded_numbers
from outbound.dialer import account, policy, windows
from outbound.models import (
    AccountPacing,
    CallAttempt,
    CallEvent,
    CampaignSettings,
    Contact,
    DialState,
    Outcome,
    WorkOrder,
)
from outbound.recordings.services import recording_status_url, vetted_status_params
from outbound.signals import campaign_state_changed_send

logger = logging.getLogger(__name__)
State = CampaignSettings.State
PLACE_TRIES = 5
# What pausing and stopping cancel at Twilio: pausing only the calls still waiting in the
# account's queue (one already ringing may be answered); stopping those ringing too.
# Twilio's Status=canceled leaves a call that is already in progress alone.
PAUSE_CANCELS = ("queued",)
STOP_CANCELS = ("queued", "initiated", "ringing")


def can_operate(*, user) -> bool:
    return bool(user.is_superuser or user.has_role(Role.OUTBOUND_ADMIN))


def _check_operator(user) -> None:
    if not can_operate(user=user):
        raise PermissionDenied(_("Only outbound administrators operate campaigns."))


# --- settings and run state ----------------------------------------------------------


def settings_for(*, campaign: WorkOrder) -> CampaignSettings:
    """The campaign's dialing settings, made from the order's hours and dates at first use."""
    try:
        return campaign.dialing
    except CampaignSettings.DoesNotExist:
        pass
    hours = [
        campaign.calling_hours_start.strftime("%H:%M")
        if hasattr(campaign.calling_hours_start, "strftime")
        else str(campaign.calling_hours_start)[:5],
        campaign.calling_hours_end.strftime("%H:%M")
        if hasattr(campaign.calling_hours_end, "strftime")
        else str(campaign.calling_hours_end)[:5],
    ]
    rules, _created = CampaignSettings.objects.get_or_create(
        campaign=campaign,
        defaults={
            "weekly_hours": {str(day): hours for day in range(1, 8)},
            "starts_on": campaign.planned_start,
            "ends_on": campaign.planned_end,
        },
    )
    campaign.dialing = rules
    return rules


def settings_update(*, campaign: WorkOrder, user, data: dict) -> CampaignSettings:
    _check_operator(user)
    rules = settings_for(campaign=campaign)
    changes = audit_changes(rules, data)
    for name, value in data.items():
        setattr(rules, name, value)
    rules.full_clean(exclude=["campaign"])
    rules.save()
    audit_record(
        user=user,
        action=AuditAction.CAMPAIGN_SETTINGS,
        target=campaign,
        details={"changed": changes},
    )
    return rules


def _change_state(
    *, campaign: WorkOrder, user, allowed_from: tuple, to: str, action: AuditAction, check=None
) -> CampaignSettings:
    _check_operator(user)
    if campaign.run_status != WorkOrder.RunStatus.READY:
        raise ValidationError(_("Only an approved order can run as a campaign."))
    rules = settings_for(campaign=campaign)
    if check is not None and rules.state in allowed_from:
        check(rules)
    # Whoever moves the campaign on clears the reason the account gave for a pause.
    changes = {
        "state": to,
        "state_changed_at": timezone.now(),
        "paused_reason": "",
        "paused_code": "",
        "paused_detail": "",
    }
    if to == State.RUNNING and rules.state == State.NOT_STARTED:
        changes.update(started_at=timezone.now(), started_by=user)
    changed = CampaignSettings.objects.filter(pk=rules.pk, state__in=allowed_from).update(**changes)
    if not changed:
        rules.refresh_from_db()
        raise ValidationError(
            _("The campaign is %(state)s: it cannot do that now.")
            % {"state": rules.get_state_display().lower()}
        )
    audit_record(user=user, action=action, target=campaign, details={"state": [rules.state, to]})
    campaign_state_changed_send(campaign.pk, rules.state, to)
    rules.refresh_from_db()
    return rules


def campaign_start(*, campaign: WorkOrder, user) -> CampaignSettings:
    """Starts the campaign once the account may call from its caller ID and Twilio can
    reach Waihu's public address."""
    rules = _change_state(
        campaign=campaign,
        user=user,
        allowed_from=(State.NOT_STARTED,),
        to=State.RUNNING,
        check=account.start_checks,
        action=AuditAction.CAMPAIGN_START,
    )
    contacts_enrol(campaign_id=campaign.pk)
    return rules


def _cancel_queued_calls(campaign_id: int, statuses: tuple[str, ...]) -> None:
    from outbound.dialer import tasks  # the tasks module imports this one

    transaction.on_commit(lambda: tasks.cancel_calls.delay(campaign_id, list(statuses)))


def campaign_pause(*, campaign: WorkOrder, user) -> CampaignSettings:
    """No new call is placed; the calls Twilio still holds in its queue are canceled, and
    those already ringing or answered go on."""
    with transaction.atomic():
        rules = _change_state(
            campaign=campaign,
            user=user,
            allowed_from=(State.RUNNING,),
            to=State.PAUSED,
            action=AuditAction.CAMPAIGN_PAUSE,
        )
        _cancel_queued_calls(campaign.pk, PAUSE_CANCELS)
    return rules


def campaign_resume(*, campaign: WorkOrder, user) -> CampaignSettings:
    return _change_state(
        campaign=campaign,
        user=user,
        allowed_from=(State.PAUSED,),
        to=State.RUNNING,
        check=account.start_checks,
        action=AuditAction.CAMPAIGN_RESUME,
    )


def campaign_stop(*, campaign: WorkOrder, user) -> CampaignSettings:
    """Ends the campaign; calls Twilio has queued or is still ringing are canceled."""
    with transaction.atomic():
        rules = _change_state(
            campaign=campaign,
            user=user,
            allowed_from=(State.RUNNING, State.PAUSED, State.NOT_STARTED),
            to=State.STOPPED,
            action=AuditAction.CAMPAIGN_STOP,
        )
        _cancel_queued_calls(campaign.pk, STOP_CANCELS)
    return rules


def contacts_enrol(*, campaign_id: int, limit: int = 5000) -> int:
    """Puts the campaign's contacts that are not yet queued into the dialing queue; those
    of a list still being imported, or held for the outbound administrator's acceptance,
    wait outside it. The dialer, the agents and the voice survey all take their contacts
    from this queue only."""
    now = timezone.now()
    total = 0
    waiting = acceptance.queueable(
        Contact.objects.filter(campaign_id=campaign_id, dial_state__isnull=True),
        campaign_id=campaign_id,
    )
    while True:
        ids = list(waiting.values_list("pk", flat=True)[:limit])
        if not ids:
            return total
        DialState.objects.bulk_create(
            [DialState(contact_id=pk, campaign_id=campaign_id, next_attempt_at=now) for pk in ids],
            ignore_conflicts=True,
            batch_size=1000,
        )
        total += len(ids)
        if len(ids) < limit:
            return total


def contact_set_callback(*, contact: Contact, at: datetime.datetime) -> None:
    """The contact asked to be called at `at`: this wins over the retry policy."""
    DialState.objects.filter(contact=contact).update(callback_at=at)
    DialState.objects.filter(contact=contact, status=DialState.Status.PENDING).update(
        next_attempt_at=at
    )


# --- claiming and placing ------------------------------------------------------------


def _twiml_url(attempt_id: int) -> str:
    return settings.PUBLIC_BASE_URL + reverse("telephony:twiml", args=[attempt_id])


def _status_url(attempt_id: int) -> str:
    return settings.PUBLIC_BASE_URL + reverse("telephony:status", args=[attempt_id])


class Pacing:
    """Call slots for one claim: spaced by the campaign's own calls per second and by the
    account's, which every campaign shares. Twilio's limit is per account, and what goes
    faster waits in Twilio's queue, ringing later than the calling window and the pacing
    assume. Slots are handed out up to now + the dialer's tick."""

    def __init__(self, rules: CampaignSettings, budget: AccountPacing, now: datetime.datetime):
        account_cps = settings.WAIHU_ACCOUNT_CPS
        self.campaign_step = 1 / min(rules.calls_per_second, account_cps)
        self.account_step = 1 / account_cps
        self.start = max(rules.paced_until or now, budget.paced_until or now, now)
        horizon = now + datetime.timedelta(seconds=settings.WAIHU_DIALER_TICK_SECONDS) - self.start
        self.available = max(0, math.ceil(horizon.total_seconds() / self.campaign_step))

    def slot(self, index: int) -> datetime.datetime:
        return self.start + datetime.timedelta(seconds=index * self.campaign_step)

    def campaign_until(self, count: int) -> datetime.datetime:
        return self.slot(count - 1) + datetime.timedelta(seconds=self.campaign_step)

    def account_until(self, count: int) -> datetime.datetime:
        return self.slot(count - 1) + datetime.timedelta(seconds=self.account_step)


def _account_budget() -> AccountPacing:
    """The account's pacing row, locked until the claim commits."""
    sid = telephony.account_sid()
    budget = AccountPacing.objects.select_for_update().filter(account_sid=sid).first()
    if budget is None:
        AccountPacing.objects.get_or_create(account_sid=sid)
        budget = AccountPacing.objects.select_for_update().get(account_sid=sid)
    return budget


def campaign_dial(*, campaign_id: int, now: datetime.datetime | None = None) -> list[int]:
    """Claims the campaign's due contacts that pacing allows, creates their attempts and
    queues the calls. Safe to run from any number of workers at once: the campaign's
    settings row and then the account's pacing row serialise the pacing, each contact row
    is claimed under a lock, and the database allows one open attempt per contact."""
    now = now or timezone.now()
    from outbound.dialer import tasks  # the tasks module imports this one

    with transaction.atomic():
        rules = (
            CampaignSettings.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .filter(pk=campaign_id, state=State.RUNNING)
            .first()
        )
        if rules is None or rules.campaign.run_status != WorkOrder.RunStatus.READY:
            return []
        campaign = rules.campaign
        active = CallAttempt.objects.filter(campaign_id=campaign_id, finished_at=None).count()
        if rules.max_concurrent - active <= 0:
            return []
        budget = _account_budget()
        pacing = Pacing(rules, budget, now)
        wanted = min(
            settings.WAIHU_DIALER_BATCH_SIZE, pacing.available, rules.max_concurrent - active
        )
        if wanted <= 0:
            return []
        due = DialState.objects.filter(
            campaign_id=campaign_id, status=DialState.Status.PENDING, next_attempt_at__lte=now
        )
        if campaign.kind == WorkOrder.Kind.COMPLAINT_CALLBACK:
            due = due.order_by(F("contact__deadline").asc(nulls_last=True), "next_attempt_at", "pk")
        else:
            # Served by the dial_state_due_order index, whatever the number of due contacts.
            due = due.order_by("next_attempt_at", "contact_id")
        rows = list(
            due.select_for_update(skip_locked=True, of=("self",)).values_list(
                "pk", "contact__phone", "attempts"
            )[:wanted]
        )
        if not rows:
            return []

        # Outside the contact's local calling hours: come back when they open.
        later: dict[datetime.datetime | None, list[int]] = defaultdict(list)
        callable_rows = []
        for pk, phone, attempts in rows:
            zone = windows.zone_for_number(phone)
            if windows.is_open(rules, now, zone):
                callable_rows.append((pk, phone, attempts))
            else:
                later[windows.next_opening(rules, now, zone)].append(pk)
        for when, pks in later.items():
            if when is None:
                DialState.objects.filter(pk__in=pks).update(
                    status=DialState.Status.FINISHED, next_attempt_at=None
                )
            else:
                DialState.objects.filter(pk__in=pks).update(next_attempt_at=when)

        excluded = excluded_numbers(
            campaign=campaign_id,
            phones=[phone for _pk, phone, _n in callable_rows],
            on_date=timezone.localdate(now),
        )
        by_reason: dict[str, list[int]] = defaultdict(list)
        claim = []
        for pk, phone, attempts in callable_rows:
            if phone in excluded:
                by_reason[excluded[phone]].append(pk)
            else:
                claim.append((pk, phone, attempts))
        for reason, pks in by_reason.items():
            DialState.objects.filter(pk__in=pks).update(
                status=DialState.Status.EXCLUDED, excluded_reason=reason, next_attempt_at=None
            )
        if not claim:
            return []

        claimed = DialState.objects.filter(
            pk__in=[pk for pk, _p, _n in claim], status=DialState.Status.PENDING
        ).update(
            status=DialState.Status.DIALING,
            attempts=F("attempts") + 1,
            next_attempt_at=None,
            callback_at=None,
        )
        if claimed != len(claim):  # impossible under the row locks; never dial on a doubt
            raise RuntimeError("contacts changed under the dialer's lock")
        caller_id = rules.caller_id or settings.WAIHU_CALLER_ID
        settle_at = now + datetime.timedelta(seconds=settings.WAIHU_SETTLE_AFTER_SECONDS)
        # Attempts that never reached the carrier are not counted (the contact's attempts
        # leave them out) but keep their numbers: the next one comes after them.
        numbered = dict(
            CallAttempt.objects.filter(contact_id__in=[pk for pk, _p, _n in claim])
            .values("contact_id")
            .annotate(last=Max("number"))
            .values_list("contact_id", "last")
        )
        attempts = CallAttempt.objects.bulk_create(
            [
                CallAttempt(
                    campaign_id=campaign_id,
                    contact_id=pk,
                    number=max(made, numbered.get(pk) or 0) + 1,
                    to=phone,
                    caller_id=caller_id,
                    settle_at=settle_at,
                )
                for pk, phone, made in claim
            ]
        )
        count = len(attempts)
        CampaignSettings.objects.filter(pk=campaign_id).update(
            paced_until=pacing.campaign_until(count)
        )
        AccountPacing.objects.filter(pk=budget.pk).update(paced_until=pacing.account_until(count))

        # One task per second of the clock, placing side by side, from the first slot of
        # that second, the calls whose slots fall in it: whatever the campaigns, no second
        # sees more calls than the account's calls per second.
        groups: dict[int, list[tuple[datetime.datetime, int]]] = defaultdict(list)
        for index, attempt in enumerate(attempts):
            at = pacing.slot(index)
            groups[math.floor(at.timestamp())].append((at, attempt.pk))
        for group in groups.values():
            wait = max(0.0, (group[0][0] - now).total_seconds())
            ids = [pk for _at, pk in group]
            transaction.on_commit(
                lambda ids=ids, wait=wait: tasks.place_calls.apply_async((ids,), countdown=wait)
            )
        return [attempt.pk for attempt in attempts]


def calls_place(*, attempt_ids: list[int], tries: int = 0) -> dict[str, list[int]]:
    """Hands the attempts' calls to the carrier, side by side. Returns the ids by result:
    placed, invalid, failed, retry (to try again later), dropped (campaign not running, or
    the account refused the call: the campaign pauses and the contact keeps its place)."""
    # Taken for placing first: settling leaves them alone until the carrier has answered,
    # and an attempt settling closed as not placed first is not placed at all.
    placing_until = timezone.now() + datetime.timedelta(seconds=settings.WAIHU_SETTLE_AFTER_SECONDS)
    CallAttempt.objects.filter(
        pk__in=attempt_ids, status=CallAttempt.Status.CREATED, finished_at=None, call_sid=None
    ).update(settle_at=placing_until)
    attempts = list(
        CallAttempt.objects.filter(
            pk__in=attempt_ids,
            status=CallAttempt.Status.CREATED,
            finished_at=None,
            settle_at=placing_until,
        ).select_related("campaign__dialing")
    )
    result: dict[str, list[int]] = {
        "placed": [],
        "invalid": [],
        "failed": [],
        "retry": [],
        "dropped": [],
    }
    running = [a for a in attempts if a.campaign.dialing.state == State.RUNNING]
    dropped = [a for a in attempts if a.campaign.dialing.state != State.RUNNING]
    if dropped:
        _drop_unplaced(dropped)
        result["dropped"] = [a.pk for a in dropped]
    if not running:
        return result

    def place(attempt: CallAttempt):
        rules = attempt.campaign.dialing
        try:
            return telephony.place_call(
                to=attempt.to,
                from_=attempt.caller_id,
                twiml_url=_twiml_url(attempt.pk),
                status_callback=_status_url(attempt.pk),
                machine_detection=rules.machine_detection,
                detect_message_end=rules.detect_message_end,
                record=rules.record,
                recording_status_callback=recording_status_url(attempt.pk),
            )
        except telephony.TelephonyError as error:
            return error

    threads = min(settings.WAIHU_DIALER_PLACE_THREADS, len(running))
    if threads > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            outcomes = list(pool.map(place, running))
    else:
        outcomes = [place(attempt) for attempt in running]

    now = timezone.now()
    placed = []
    refused: list[CallAttempt] = []
    for attempt, outcome in zip(running, outcomes, strict=True):
        if isinstance(outcome, str):
            attempt.call_sid = outcome
            attempt.placed_at = now
            placed.append(attempt)
            result["placed"].append(attempt.pk)
        elif isinstance(outcome, telephony.AccountRefusal):
            refused.append(attempt)
            result["dropped"].append(attempt.pk)
        elif isinstance(outcome, telephony.InvalidNumber):
            _finish_unplaced(attempt, Outcome.INVALID, outcome)
            result["invalid"].append(attempt.pk)
        elif isinstance(outcome, telephony.TransientError) and tries + 1 < PLACE_TRIES:
            result["retry"].append(attempt.pk)
        else:
            _finish_unplaced(attempt, Outcome.FAILED, outcome)
            result["failed"].append(attempt.pk)
    if placed:
        CallAttempt.objects.bulk_update(placed, ["call_sid", "placed_at"])
        ids = [attempt.pk for attempt in placed]
        CallAttempt.objects.filter(pk__in=ids, status_rank__lt=CallAttempt.RANK["queued"]).update(
            status=CallAttempt.Status.QUEUED, status_rank=CallAttempt.RANK["queued"]
        )
        CallEvent.objects.bulk_create(
            [
                CallEvent(
                    attempt_id=pk, status="queued", occurred_at=now, source=CallEvent.Source.DIALER
                )
                for pk in ids
            ],
            ignore_conflicts=True,
        )
    if refused:
        errors = {a.pk: o for a, o in zip(running, outcomes, strict=True)}
        for campaign_id in {attempt.campaign_id for attempt in refused}:
            first = next(a for a in refused if a.campaign_id == campaign_id)
            account.campaign_refuse(campaign_id=campaign_id, error=errors[first.pk])
        # The call never happened, so it costs the contact nothing.
        _drop_unplaced(refused)
    return result


def _drop_unplaced(attempts: list[CallAttempt]) -> None:
    """The campaign was paused or stopped before these calls went out: they never happened,
    and their contacts go back to the queue."""
    now = timezone.now()
    with transaction.atomic():
        for attempt in attempts:
            deleted, _rows = CallAttempt.objects.filter(
                pk=attempt.pk, status=CallAttempt.Status.CREATED, call_sid=None
            ).delete()
            if deleted:
                DialState.objects.filter(
                    pk=attempt.contact_id, status=DialState.Status.DIALING
                ).update(
                    status=DialState.Status.PENDING,
                    attempts=F("attempts") - 1,
                    next_attempt_at=now,
                )


def _finish_unplaced(attempt: CallAttempt, outcome: str, error: Exception) -> None:
    code = getattr(error, "code", None)
    attempt_finish(
        attempt_id=attempt.pk,
        status="failed",
        outcome=outcome,
        error_code=str(code or ""),
        error_message=str(error)[:255],
        source=CallEvent.Source.DIALER,
    )


# --- what the carrier reports ----------------------------------------------------------


def _occurred_at(params) -> datetime.datetime:
    stamp = params.get("Timestamp")
    if stamp:
        try:
            return parsedate_to_datetime(stamp)
        except (TypeError, ValueError):
            pass
    return timezone.now()


def relaxed_commit() -> None:
    """Inside a transaction on PostgreSQL: commit without waiting for the disk. Used where a
    crash losing the last moment's writes is made good elsewhere (a lost status is fetched
    from the carrier by the settling task)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _advance(status: str) -> dict:
    """The update that moves an attempt to `status` unless it is already further on."""
    rank = CallAttempt.RANK[status]
    return {
        "status": Case(When(status_rank__lt=rank, then=Value(status)), default=F("status")),
        "status_rank": Greatest(F("status_rank"), Value(rank)),
    }


def attempt_record_status(
    *, attempt_id: int, params, source: str = CallEvent.Source.CALLBACK
) -> bool:
    """Applies a status the carrier reported. A status only moves an attempt forward, so
    callbacks arriving out of order end in the true order; a repeated one changes nothing.
    Returns whether the attempt exists."""
    return attempt_record_callback(attempt_id=attempt_id, params=params, source=source)[0]


def attempt_record_callback(
    *, attempt_id: int, params, source: str = CallEvent.Source.CALLBACK
) -> tuple[bool, bool]:
    """attempt_record_status, returning (whether the attempt exists, whether a voice
    interview may still be open on it after a final status). A call that failed because
    of the account (a <Dial>'s geographic permissions, say) pauses its campaign."""
    params = vetted_status_params(params)
    result = _record_callback(attempt_id=attempt_id, params=params, source=source)
    code = params.get("ErrorCode") or ""
    if (
        result[0]
        and code.isdigit()
        and int(code) in telephony.ACCOUNT_REFUSAL_CODES
        and params.get("CallStatus") in CallAttempt.FINAL_STATUSES
    ):
        campaign_id = (
            CallAttempt.objects.filter(pk=attempt_id).values_list("campaign_id", flat=True).first()
        )
        error = telephony.AccountRefusal(
            params.get("ErrorMessage") or f"Twilio error {code}",
            kind=telephony.ACCOUNT_REFUSAL_CODES[int(code)],
            code=int(code),
        )
        account.campaign_refuse(campaign_id=campaign_id, error=error)
    return result


def _record_callback(*, attempt_id: int, params, source: str) -> tuple[bool, bool]:
    status = params.get("CallStatus", "")
    rank = CallAttempt.RANK.get(status)
    if rank is None:
        return CallAttempt.objects.filter(pk=attempt_id).exists(), False
    sequence = params.get("SequenceNumber")
    details = {
        key: params.get(key)
        for key in ("CallSid", "AnsweredBy", "CallDuration", "ErrorCode", "RecordingUrl")
        if params.get(key)
    }
    if connection.vendor == "postgresql":
        from outbound.dialer import status_sql

        return status_sql.record_status(
            attempt_id=attempt_id,
            status=status,
            rank=rank,
            params=params,
            details=details,
            occurred_at=_occurred_at(params),
            source=source,
        )
    final = status in CallAttempt.FINAL_STATUSES
    with transaction.atomic():
        relaxed_commit()
        changes = _advance(status)
        sid = params.get("CallSid") or None
        if sid:
            changes["call_sid"] = Coalesce(F("call_sid"), Value(sid))
        if not CallAttempt.objects.filter(pk=attempt_id).update(**changes):
            return False, False
        CallEvent.objects.bulk_create(
            [
                CallEvent(
                    attempt_id=attempt_id,
                    status=status,
                    sequence=int(sequence) if str(sequence or "").isdigit() else None,
                    occurred_at=_occurred_at(params),
                    source=source,
                    details=details,
                )
            ],
            ignore_conflicts=True,
        )
        if not final:
            return True, False
        answered_by = params.get("AnsweredBy", "")
        error_code = params.get("ErrorCode", "") or ""
        duration = params.get("CallDuration")
        attempt_finish(
            attempt_id=attempt_id,
            status=status,
            outcome=policy.outcome_for(
                status=status, answered_by=answered_by, error_code=error_code
            ),
            duration=int(duration) if str(duration or "").isdigit() else None,
            answered_by=answered_by,
            error_code=error_code,
            recording_url=params.get("RecordingUrl", "") or "",
            source=None,
        )
    return True, True


def attempt_finish(
    *,
    attempt_id: int,
    status: str,
    outcome: str,
    duration: int | None = None,
    answered_by: str = "",
    error_code: str = "",
    error_message: str = "",
    recording_url: str = "",
    source: str | None = CallEvent.Source.DIALER,
) -> bool:
    """Gives the attempt its final status and disposition, once, and schedules its contact:
    called again after the policy's delay (or at its callback time), or finished."""
    now = timezone.now()
    with transaction.atomic():
        finished = CallAttempt.objects.filter(pk=attempt_id, finished_at=None).update(
            **_advance(status),
            finished_at=now,
            outcome=outcome,
            duration=duration,
            answered_by=answered_by[:40],
            error_code=error_code[:10],
            error_message=error_message[:255],
            recording_url=recording_url[:500],
            settle_at=None,
        )
        if not finished:
            return False
        metrics.call_finished(outcome)
        if source is not None:
            CallEvent.objects.bulk_create(
                [
                    CallEvent(
                        attempt_id=attempt_id,
                        status=status,
                        occurred_at=now,
                        source=source,
                        details={"ErrorCode": error_code} if error_code else {},
                    )
                ],
                ignore_conflicts=True,
            )
        state = (
            DialState.objects.select_for_update(of=("self",))
            .select_related("campaign__dialing")
            .get(pk=CallAttempt.objects.filter(pk=attempt_id).values("contact_id")[:1])
        )
        step = policy.next_step(
            rules=state.campaign.dialing,
            outcome=outcome,
            attempts_made=state.attempts,
            callback_at=state.callback_at,
            now=now,
        )
        # A contact excluded during the call (a voice caller's opt-out) stays excluded.
        DialState.objects.filter(pk=state.pk).exclude(status=DialState.Status.EXCLUDED).update(
            status=step.status,
            next_attempt_at=step.next_attempt_at,
            callback_at=None,
            last_outcome=outcome,
        )
    return True


# --- settling quiet calls ------------------------------------------------------------


def attempts_settle(*, now: datetime.datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Asks the carrier about attempts that went quiet past their settle time: a call that
    ended gets its final status; one still going is asked about again later, until it has
    been open longer than the longest call (WAIHU_LONGEST_CALL_MINUTES), when it is finished
    as lost and its contact scheduled again; one the carrier never had is not placed, and
    costs its contact nothing."""
    now = now or timezone.now()
    counts = {"settled": 0, "lost": 0, "waiting": 0, "not_placed": 0}
    stale = list(
        CallAttempt.objects.filter(finished_at=None, settle_at__lte=now)
        .order_by("settle_at")
        .values_list("pk", "call_sid", "to", "caller_id", "created_at", "placed_at")[:limit]
    )
    later = now + datetime.timedelta(seconds=max(60, settings.WAIHU_SETTLE_AFTER_SECONDS // 3))
    longest = datetime.timedelta(minutes=settings.WAIHU_LONGEST_CALL_MINUTES)
    for pk, sid, to, caller_id, created_at, placed_at in stale:
        if not sid:
            try:
                sid = _adopt_call(pk, to=to, caller_id=caller_id, since=created_at)
            except telephony.TelephonyError:
                # Nobody can say whether the carrier has it: ask again later.
                CallAttempt.objects.filter(pk=pk).update(settle_at=later)
                counts["waiting"] += 1
                continue
            if not sid:
                # Not closed: a task is placing it right now, or its first callback came.
                counts["not_placed" if attempt_not_placed(attempt_id=pk) else "waiting"] += 1
                continue
        overdue = now - (placed_at or created_at) > longest
        try:
            call = telephony.fetch_call(sid)
        except (telephony.TransientError, telephony.AccountRefusal) as error:
            # Nobody can be asked now, the account included: ask again later, unless the
            # call would have ended long ago whatever became of it.
            if overdue:
                _finish_lost(pk, error)
                counts["lost"] += 1
            else:
                CallAttempt.objects.filter(pk=pk).update(settle_at=later)
                counts["waiting"] += 1
            continue
        except telephony.TelephonyError as error:
            _finish_lost(pk, error)
            counts["lost"] += 1
            continue
        if call.status in CallAttempt.FINAL_STATUSES:
            params = {"CallSid": call.sid, "CallStatus": call.status}
            if call.duration is not None:
                params["CallDuration"] = str(call.duration)
            if call.answered_by:
                params["AnsweredBy"] = call.answered_by
            attempt_record_status(attempt_id=pk, params=params, source=CallEvent.Source.SETTLE)
            counts["settled"] += 1
        elif overdue:
            _finish_lost(
                pk,
                None,
                _("Still %(status)s at the carrier past the longest call.")
                % {"status": call.status},
            )
            counts["lost"] += 1
        else:
            CallAttempt.objects.filter(pk=pk).update(settle_at=later)
            counts["waiting"] += 1
    return counts


def _finish_lost(attempt_id: int, error: Exception | None, message: str = "") -> None:
    code = getattr(error, "code", None)
    attempt_finish(
        attempt_id=attempt_id,
        status="failed",
        outcome=Outcome.LOST,
        error_code=str(code or ""),
        error_message=(message or str(error))[:255],
        source=CallEvent.Source.SETTLE,
    )


def _adopt_call(attempt_id: int, *, to: str, caller_id: str, since: datetime.datetime) -> str:
    """The SID of the carrier's call for an attempt that has none: a task that died after
    the carrier accepted the call but before the SID was stored leaves such an attempt, and
    the call's callbacks (addressed to the attempt) may all have been lost too. Found among
    the carrier's calls from the attempt's caller ID to its number since it was created,
    that no other attempt holds; "" when the carrier has none."""
    for sid, created in telephony.calls_to(to=to, from_=caller_id):
        if created < since - datetime.timedelta(seconds=5):
            continue
        if CallAttempt.objects.filter(call_sid=sid).exists():
            continue
        CallAttempt.objects.filter(pk=attempt_id, call_sid=None).update(call_sid=sid)
        return CallAttempt.objects.filter(pk=attempt_id).values_list("call_sid", flat=True)[0]
    return ""


def attempt_not_placed(*, attempt_id: int) -> bool:
    """An attempt whose call never reached the carrier (its task died or failed before the
    carrier accepted it) is closed as not placed: it is not counted against the contact,
    who is due again at once. Returns False if it had a call after all (a callback came
    meanwhile), a task is placing it right now (calls_place moved its settle time on), or
    it was closed already."""
    now = timezone.now()
    with transaction.atomic():
        closed = CallAttempt.objects.filter(
            pk=attempt_id, finished_at=None, call_sid=None, settle_at__lte=now
        ).update(
            finished_at=now,
            outcome=Outcome.NOT_PLACED,
            error_message=_("The call never reached the carrier.")[:255],
            settle_at=None,
        )
        if not closed:
            return False
        contact_id = CallAttempt.objects.filter(pk=attempt_id).values_list("contact_id", flat=True)[
            0
        ]
        DialState.objects.filter(
            pk=contact_id, status=DialState.Status.DIALING, attempts__gt=0
        ).update(status=DialState.Status.PENDING, attempts=F("attempts") - 1, next_attempt_at=now)
    logger.warning("attempt %s never reached the carrier: its contact is due again", attempt_id)
    return True


def calls_cancel(*, campaign_id: int, statuses: tuple[str, ...] | list[str]) -> dict[str, int]:
    """Asks Twilio to cancel the campaign's calls that are in one of `statuses` (queued,
    initiated, ringing). A call Twilio cancels never reached anyone: its contact is called
    again as soon as the campaign runs, whatever the retry policy says. One Twilio could
    not cancel (answered meanwhile) goes on and reports as usual."""
    counts = {"canceled": 0, "going": 0, "unreachable": 0}
    open_calls = list(
        CallAttempt.objects.filter(
            campaign_id=campaign_id, finished_at=None, status__in=list(statuses)
        )
        .exclude(call_sid=None)
        .values_list("pk", "contact_id", "call_sid")
    )
    for pk, contact_id, sid in open_calls:
        try:
            status = telephony.cancel_call(sid)
        except telephony.TelephonyError as error:
            logger.warning("call %s not canceled: %s", sid, error)
            counts["unreachable"] += 1
            continue
        if status != "canceled":
            counts["going"] += 1
            continue
        now = timezone.now()
        with transaction.atomic():
            attempt_finish(
                attempt_id=pk,
                status="canceled",
                outcome=Outcome.CANCELED,
                source=CallEvent.Source.DIALER,
            )
            # Twilio's own callback may have finished the attempt first: either way the
            # contact goes back to the queue, due at once.
            if CallAttempt.objects.filter(pk=pk, outcome=Outcome.CANCELED).exists():
                DialState.objects.filter(
                    pk=contact_id,
                    status__in=[DialState.Status.PENDING, DialState.Status.FINISHED],
                ).update(status=DialState.Status.PENDING, next_attempt_at=now, callback_at=None)
        counts["canceled"] += 1
    return counts


def running_campaign_ids() -> list[int]:
    """The campaigns the dialer calls by itself: automated ones. Agent campaigns are dialled
    from the agents' console, agent first, so that no customer waits for an agent."""
    return list(
        CampaignSettings.objects.filter(
            state=State.RUNNING,
            campaign__run_status=WorkOrder.RunStatus.READY,
            campaign__mode=WorkOrder.Mode.VOICE,
        ).values_list("pk", flat=True)
    )

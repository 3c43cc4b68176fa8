"""Recording a carrier's status on PostgreSQL in as few round trips as the rules allow.

A status callback is the most frequent request Waihu serves (four or more per call), so on
PostgreSQL it runs as hand-written statements instead of the ORM's several queries:

- a progress status (initiated, ringing, in-progress) is one statement in its own
  transaction: the attempt moves forward unless it is already further on, its SID is kept,
  and the event is added unless the same status was recorded before;
- a final status is one statement that does the same, gives the attempt its disposition
  the first time only, and locks the contact's dialing state with its campaign's retry
  rules; then one update schedules the contact.

The rules are those of services.attempt_record_status and attempt_finish, which remain the
code on other databases; the status tests run against both."""

from __future__ import annotations

import datetime
import json

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from ops import metrics
from outbound.dialer import policy
from outbound.models import CallAttempt, CallEvent, CampaignSettings, DialState, Interview

_ATTEMPT = CallAttempt._meta.db_table
_EVENT = CallEvent._meta.db_table
_STATE = DialState._meta.db_table
_RULES = CampaignSettings._meta.db_table
_INTERVIEW = Interview._meta.db_table

# The retry rules the policy reads, in the order the statement returns them.
_RULE_FIELDS = CampaignSettings.RETRY_FIELDS

_EVENT_INSERT = f"""
    INSERT INTO {_EVENT} (attempt_id, status, sequence, occurred_at, received_at, source, details)
    SELECT id, %(status)s, %(sequence)s, %(occurred)s, %(now)s, %(source)s, %(details)s::jsonb
    FROM moved
    ON CONFLICT (attempt_id, status) DO NOTHING
"""  # noqa: S608 (table names from the models, values bound)

# Progress: commit without waiting for the disk (a status lost in a crash is fetched from
# the carrier by the settling task).
_PROGRESS = f"""
WITH moved AS (
    UPDATE {_ATTEMPT}
    SET status = CASE WHEN status_rank < %(rank)s THEN %(status)s ELSE status END,
        status_rank = GREATEST(status_rank, %(rank)s),
        call_sid = COALESCE(call_sid, %(sid)s)
    WHERE id = %(id)s
    RETURNING id
), added AS ({_EVENT_INSERT})
SELECT set_config('synchronous_commit', 'off', true), (SELECT count(*) FROM moved)
"""  # noqa: S608

_FINAL = f"""
WITH old AS (
    SELECT id, finished_at IS NULL AS fresh FROM {_ATTEMPT} WHERE id = %(id)s FOR UPDATE
), moved AS (
    UPDATE {_ATTEMPT} a
    SET status = CASE WHEN a.status_rank < %(rank)s THEN %(status)s ELSE a.status END,
        status_rank = GREATEST(a.status_rank, %(rank)s),
        call_sid = COALESCE(a.call_sid, %(sid)s),
        finished_at = CASE WHEN old.fresh THEN %(now)s ELSE a.finished_at END,
        outcome = CASE WHEN old.fresh THEN %(outcome)s ELSE a.outcome END,
        duration = CASE WHEN old.fresh THEN %(duration)s ELSE a.duration END,
        answered_by = CASE WHEN old.fresh THEN %(answered_by)s ELSE a.answered_by END,
        error_code = CASE WHEN old.fresh THEN %(error_code)s ELSE a.error_code END,
        error_message = CASE WHEN old.fresh THEN '' ELSE a.error_message END,
        recording_url = CASE WHEN old.fresh THEN %(recording_url)s ELSE a.recording_url END,
        settle_at = CASE WHEN old.fresh THEN NULL ELSE a.settle_at END
    FROM old
    WHERE a.id = old.id
    RETURNING a.id, a.contact_id, old.fresh
), added AS ({_EVENT_INSERT})
SELECT set_config('synchronous_commit', 'off', true), moved.fresh, state.*,
    EXISTS (
        SELECT 1 FROM {_INTERVIEW} i
        WHERE i.attempt_id = moved.id AND i.channel = %(voice)s AND i.closed_at IS NULL
    )
FROM moved
LEFT JOIN LATERAL (
    SELECT d.contact_id, d.attempts, d.callback_at, {", ".join(f"s.{f}" for f in _RULE_FIELDS)}
    FROM {_STATE} d JOIN {_RULES} s ON s.campaign_id = d.campaign_id
    WHERE d.contact_id = moved.contact_id AND moved.fresh
    FOR UPDATE OF d
) state ON true
"""  # noqa: S608

_SCHEDULE = f"""
UPDATE {_STATE}
SET status = %(status)s, next_attempt_at = %(next)s, callback_at = NULL,
    last_outcome = %(outcome)s, updated_at = %(now)s
WHERE contact_id = %(contact)s AND status <> %(excluded)s
"""  # noqa: S608


def _prepared():
    """A cursor of the connection Django holds that binds its values on the server, so the
    statements above are parsed and planned once per connection, not once per callback.
    (Django's own cursors bind on the client and never prepare.)"""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def _int_or_none(value) -> int | None:
    return int(value) if str(value or "").isdigit() else None


def record_status(
    *,
    attempt_id: int,
    status: str,
    rank: int,
    params,
    details: dict,
    occurred_at: datetime.datetime,
    source: str,
) -> tuple[bool, bool]:
    """(the attempt exists, a voice interview is still open on it after a final status)."""
    now = timezone.now()
    values = {
        "id": attempt_id,
        "status": status,
        "rank": rank,
        "sid": params.get("CallSid") or None,
        "sequence": _int_or_none(params.get("SequenceNumber")),
        "occurred": occurred_at,
        "now": now,
        "source": source,
        "details": json.dumps(details),
    }
    if status not in CallAttempt.FINAL_STATUSES:
        with _prepared() as cursor:
            cursor.execute(_PROGRESS, values, prepare=True)
            return bool(cursor.fetchone()[1]), False
    answered_by = params.get("AnsweredBy", "") or ""
    error_code = params.get("ErrorCode", "") or ""
    outcome = policy.outcome_for(status=status, answered_by=answered_by, error_code=error_code)
    values.update(
        outcome=outcome,
        duration=_int_or_none(params.get("CallDuration")),
        answered_by=answered_by[:40],
        error_code=error_code[:10],
        recording_url=(params.get("RecordingUrl", "") or "")[:500],
        voice=Interview.Channel.VOICE,
    )
    with transaction.atomic(), _prepared() as cursor:
        cursor.execute(_FINAL, values, prepare=True)
        row = cursor.fetchone()
        if row is None:
            return False, False
        _config, fresh, contact_id, attempts, callback_at, *rules, voice_open = row
        if fresh:
            metrics.call_finished(outcome)
        if fresh and contact_id is not None:
            step = policy.next_step(
                rules=CampaignSettings(**dict(zip(_RULE_FIELDS, rules, strict=True))),
                outcome=outcome,
                attempts_made=attempts,
                callback_at=callback_at,
                now=now,
            )
            cursor.execute(
                _SCHEDULE,
                {
                    "status": step.status,
                    "next": step.next_attempt_at,
                    "outcome": outcome,
                    "now": now,
                    "contact": contact_id,
                    "excluded": DialState.Status.EXCLUDED,
                },
                prepare=True,
            )
    return True, bool(voice_open)

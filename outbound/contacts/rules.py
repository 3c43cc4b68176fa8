"""The rules every contact passes on its way into a campaign, whichever way it arrives (an
uploaded list or a batch pushed through the API): the number normalised to E.164, the
deadline read (a complaint's feedback date plus the callback days), numbers of countries the
centre does not call and premium-rate or special-service numbers refused (numbering.py),
numbers already in the campaign or earlier in the same list turned away, then the
do-not-call and red lists.

Rows are handed over as parallel lists so the per-row work stays a tight loop: an import
of a million rows goes through here."""

import datetime
from dataclasses import dataclass, field

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from outbound.contacts import numbering
from outbound.contacts.normalise import normalise_phone, parse_date
from outbound.contacts.readers import cell_text
from outbound.contacts.selectors import Exclusion, excluded_e164
from outbound.models import Contact, WorkOrder


class RejectReason(models.TextChoices):
    MISSING_PHONE = "missing_phone", gettext_lazy("No phone number")
    INVALID_PHONE = "invalid_phone", gettext_lazy("Not a valid phone number")
    FOREIGN_NUMBER = "foreign_number", gettext_lazy("Number of a country the centre does not call")
    SPECIAL_NUMBER = "special_number", gettext_lazy("Premium-rate or special-service number")
    BAD_DATE = "bad_date", gettext_lazy("Missing or unreadable date")
    FORMULA_WITHOUT_VALUE = "formula_without_value", gettext_lazy("A formula without a saved value")
    DUPLICATE_IN_FILE = "duplicate_in_file", gettext_lazy("Same number earlier in the file")
    ALREADY_IN_CAMPAIGN = "already_in_campaign", gettext_lazy("Already in the campaign")
    DO_NOT_CALL = "do_not_call", gettext_lazy("On the do-not-call list")
    RED_LIST = "red_list", gettext_lazy("On the red list")


# Rows turned away for what they are, not for the lists: counted as invalid by an import.
INVALID_REASONS = (
    RejectReason.MISSING_PHONE,
    RejectReason.INVALID_PHONE,
    RejectReason.FOREIGN_NUMBER,
    RejectReason.SPECIAL_NUMBER,
    RejectReason.BAD_DATE,
    RejectReason.FORMULA_WITHOUT_VALUE,
)


def reject_message(reason: str, detail=None) -> str:
    """A rejected row's reason as the uploader reads it, in the active language: `detail` is
    the row a duplicate repeats, or the column whose formula has no saved value."""
    if detail is not None and detail != "":
        if reason == RejectReason.DUPLICATE_IN_FILE:
            return _("Duplicate of row %(row)s") % {"row": detail}
        if reason == RejectReason.FORMULA_WITHOUT_VALUE:
            return _(
                "Formula in column %(column)s has no saved value: open the file in Excel "
                "and save it again."
            ) % {"column": detail}
    try:
        return str(RejectReason(reason).label)
    except ValueError:
        return reason


_REFUSAL_REJECT = {
    numbering.FOREIGN: RejectReason.FOREIGN_NUMBER,
    numbering.SPECIAL: RejectReason.SPECIAL_NUMBER,
}

_EXCLUSION_REJECT = {
    Exclusion.DO_NOT_CALL: RejectReason.DO_NOT_CALL,
    Exclusion.RED_LIST: RejectReason.RED_LIST,
}


class DateSource(models.TextChoices):
    """Where a contact's deadline comes from."""

    NONE = "none", "none"
    DEADLINE = "deadline", "deadline"
    FEEDBACK = "feedback_date", "feedback date"
    # Per row: the deadline when given, else the feedback date (the API's rows).
    EITHER = "either", "either"


def _phone_key(phone: str) -> int:
    return int(phone[1:])


def _blank(value) -> bool:
    return value is None or value == "" or (isinstance(value, str) and not value.strip())


@dataclass
class Screened:
    """The outcome of one batch: the rows accepted (row, E.164 number, deadline), in the
    order given, and the rows turned away (row, reason, detail): first those whose number,
    date or duplicate failed them in their order, then those on a list never to call. A
    duplicate's detail is the number (see `screen`) of the row it repeats; others' None."""

    accepted: list[tuple] = field(default_factory=list)
    rejected: list[tuple] = field(default_factory=list)


class ContactRules:
    """One campaign's rules, kept for the length of one list: it remembers the numbers it
    has accepted so a later batch of the same list finds them as duplicates.

    `date_source` says where deadlines come from; `date_required` whether a row without one
    is turned away (an import's mapped date column always is; a pushed complaint callback
    must give one)."""

    def __init__(
        self,
        *,
        campaign: WorkOrder,
        deadline_days: int,
        date_source: str = DateSource.NONE,
        date_required: bool = True,
        today: datetime.date | None = None,
    ):
        self.campaign = campaign
        self.deadline_days = datetime.timedelta(days=deadline_days)
        self.date_source = date_source
        self.date_required = date_required
        self.today = today or timezone.localdate()
        self.existing = {
            _phone_key(phone)
            for phone in Contact.objects.filter(campaign=campaign)
            .values_list("phone", flat=True)
            .iterator(chunk_size=10_000)
        }
        # Each number accepted so far, with the number of the row that brought it: ints
        # only, so a list of millions of rows stays within tens of megabytes.
        self.seen: dict[int, int] = {}
        self.refusal = numbering.refusal_check()

    def _deadline(self, deadline_raw, feedback_raw):
        """The contact's deadline, None for none, or False when it is missing or unreadable
        where one is needed."""
        source = self.date_source
        if source == DateSource.DEADLINE:
            return parse_date(deadline_raw) or False
        if source == DateSource.FEEDBACK:
            feedback = parse_date(feedback_raw)
            return feedback + self.deadline_days if feedback is not None else False
        if source == DateSource.EITHER:
            if not _blank(deadline_raw):
                return parse_date(deadline_raw) or False
            if not _blank(feedback_raw):
                feedback = parse_date(feedback_raw)
                return feedback + self.deadline_days if feedback is not None else False
            return False if self.date_required else None
        return None

    def screen(
        self, rows: list, phones: list, deadlines=None, feedbacks=None, numbers=None
    ) -> Screened:
        """Checks `rows`, whose raw phone numbers (and raw deadline and feedback dates, when
        the source needs them) are given in parallel lists. `numbers` are the rows' own
        numbers, as their sender counts them (a file's row, a batch's index), by which a
        duplicate names the row it repeats; the rows themselves when not given."""
        result = Screened()
        reject = result.rejected.append
        existing, seen = self.existing, self.seen
        refusal = self.refusal
        has_dates = self.date_source != DateSource.NONE
        candidates = []
        if numbers is None:
            numbers = rows
        for position, row in enumerate(rows):
            raw = phones[position]
            phone = normalise_phone(raw)
            if phone is None:
                blank = raw is None or not cell_text(raw).strip()
                reason = RejectReason.MISSING_PHONE if blank else RejectReason.INVALID_PHONE
                reject((row, reason, None))
                continue
            refused = refusal(phone)
            if refused is not None:
                reject((row, _REFUSAL_REJECT[refused], None))
                continue
            deadline = None
            if has_dates:
                deadline = self._deadline(
                    deadlines[position] if deadlines is not None else None,
                    feedbacks[position] if feedbacks is not None else None,
                )
                if deadline is False:
                    reject((row, RejectReason.BAD_DATE, None))
                    continue
            key = _phone_key(phone)
            if key in existing:
                reject((row, RejectReason.ALREADY_IN_CAMPAIGN, None))
                continue
            first = seen.get(key)
            if first is not None:
                reject((row, RejectReason.DUPLICATE_IN_FILE, first))
                continue
            seen[key] = numbers[position]
            candidates.append((row, phone, deadline))
        if not candidates:
            return result
        excluded = excluded_e164(
            campaign=self.campaign.pk, phones=[c[1] for c in candidates], on_date=self.today
        )
        accept = result.accepted.append
        for candidate in candidates:
            reason = excluded.get(candidate[1])
            if reason is not None:
                reject((candidate[0], _EXCLUSION_REJECT[reason], None))
            else:
                accept(candidate)
        return result

"""The agent's forms: the disposition, a pause; and the console's keys."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.widgets import DateTimeLocalInput
from outbound.agent.services import AGENT_DISPOSITIONS
from outbound.agent.states import DISPOSITION_NEEDS
from outbound.models import Interview, PauseReason

Disposition = Interview.Disposition

# The console's keys. Digits pick answers (1, 2, 3… by position; type two digits quickly for
# 10 and on), * is "don't know" and - "refused" where a question allows them.
KEY_NEXT = "Enter"
KEY_BACK = "Backspace"
KEY_DIAL = "d"
KEY_HANG_UP = "h"
KEY_PAUSE = "p"
KEY_READY = "p"
KEY_RELEASE = "g"
KEY_DONT_KNOW = "*"
KEY_REFUSED = "-"
DISPOSITION_KEYS = {
    Disposition.COMPLETED: "c",
    Disposition.PARTIAL: "l",
    Disposition.REFUSED: "r",
    Disposition.CALLBACK: "k",
    Disposition.WRONG_NUMBER: "w",
    Disposition.NOT_ELIGIBLE: "e",
    Disposition.DO_NOT_CALL: "x",
    Disposition.NO_ANSWER: "n",
    Disposition.BUSY: "b",
}
# While the pause reasons are offered, a digit picks one.
PAUSE_KEYS = {
    PauseReason.BREAK: "1",
    PauseReason.TRAINING: "2",
    PauseReason.AFTER_CALL_WORK: "3",
}


class DispositionForm(forms.Form):
    disposition = forms.ChoiceField(
        label=_("How did the call end?"),
        choices=[(str(d), Interview.Disposition(d).label) for d in AGENT_DISPOSITIONS],
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    callback_at = forms.DateTimeField(
        label=_("Call back at"),
        required=False,
        widget=DateTimeLocalInput(attrs={"class": "form-control"}),
    )
    callback_mine = forms.BooleanField(
        label=_("I will make the callback myself"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )
    # The time the console measured over the closing, in milliseconds.
    closing_ms = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def options(self):
        """Each disposition with its key and what it needs of the call."""
        return [
            {
                "widget": option,
                "key": DISPOSITION_KEYS[option.data["value"]],
                "needs": DISPOSITION_NEEDS[option.data["value"]],
            }
            for option in self["disposition"]
        ]

    def clean(self):
        data = super().clean()
        if data.get("disposition") == Interview.Disposition.CALLBACK:
            when = data.get("callback_at")
            if when is None:
                self.add_error("callback_at", _("Give the time to call back."))
            elif when <= timezone.now():
                self.add_error("callback_at", _("The time to call back must be in the future."))
        return data


class PauseForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why are you pausing?"),
        choices=PauseReason.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )

    def options(self):
        return [
            {"widget": option, "key": PAUSE_KEYS[option.data["value"]]} for option in self["reason"]
        ]


def seconds_from(value) -> float | None:
    """A measured time posted by the console, in milliseconds, as seconds (None if absent
    or not a time)."""
    try:
        milliseconds = int(value)
    except (TypeError, ValueError):
        return None
    return milliseconds / 1000 if milliseconds > 0 else None

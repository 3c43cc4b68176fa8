"""The agent's disposition form."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.widgets import DateTimeLocalInput
from outbound.agent.services import AGENT_DISPOSITIONS
from outbound.models import Interview


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

    def clean(self):
        data = super().clean()
        if data.get("disposition") == Interview.Disposition.CALLBACK:
            when = data.get("callback_at")
            if when is None:
                self.add_error("callback_at", _("Give the time to call back."))
            elif when <= timezone.now():
                self.add_error("callback_at", _("The time to call back must be in the future."))
        return data

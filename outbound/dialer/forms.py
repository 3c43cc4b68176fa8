import datetime

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.widgets import DateInput, TimeInput
from outbound.models import CallAttempt, CampaignSettings, Outcome
from outbound.voice import voices
from outbound.voice.speaker import default_voice, questionnaire_language

WEEKDAY_NAMES = {
    1: _("Monday"),
    2: _("Tuesday"),
    3: _("Wednesday"),
    4: _("Thursday"),
    5: _("Friday"),
    6: _("Saturday"),
    7: _("Sunday"),
}


class CampaignSettingsForm(forms.ModelForm):
    """The dialing rules; calling hours are a pair of times per weekday (both empty: no
    calls that day) and excluded dates one per line."""

    excluded_dates_text = forms.CharField(
        label=_("Dates without calls"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One date a line, such as 2026-11-11, for days this campaign does not call on; "
            "public holidays come from the calendar."
        ),
    )
    calls_on_holidays = forms.TypedChoiceField(
        label=_("Call on public holidays"),
        required=False,
        coerce=lambda value: {"yes": True, "no": False}.get(value),
        empty_value=None,
        help_text=_(
            "Public holidays and the centre's days off come from the calendar; make-up "
            "working days are called as ordinary weekdays."
        ),
    )

    class Meta:
        model = CampaignSettings
        fields = [
            "caller_id",
            "starts_on",
            "ends_on",
            *CampaignSettings.RETRY_FIELDS,
            "calls_per_second",
            "max_concurrent",
            "machine_detection",
            "machine_message",
            "record",
            "voice",
            "agent_dialing_mode",
            "progressive_delay_seconds",
        ]
        widgets = {
            "machine_message": forms.Textarea(attrs={"rows": 2}),
            "starts_on": DateInput(),
            "ends_on": DateInput(),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hours = self.instance.weekly_hours or {}
        for day, name in WEEKDAY_NAMES.items():
            pair = hours.get(str(day)) or [None, None]
            self.fields[f"from_{day}"] = forms.TimeField(
                label=_("%(day)s from") % {"day": name},
                required=False,
                initial=pair[0],
                widget=TimeInput(),
            )
            self.fields[f"until_{day}"] = forms.TimeField(
                label=_("%(day)s until") % {"day": name},
                required=False,
                initial=pair[1],
                widget=TimeInput(),
            )
        self.fields["excluded_dates_text"].initial = "\n".join(self.instance.excluded_dates or [])
        self.fields["calls_per_second"].widget.attrs["max"] = f"{settings.WAIHU_ACCOUNT_CPS:g}"
        self.fields["calls_per_second"].help_text = _(
            "The account's limit per second, shared by every campaign: %(budget)s."
        ) % {"budget": f"{settings.WAIHU_ACCOUNT_CPS:g}"}
        self._holidays_field()
        self._voice_field()
        # Left out of a post, the agents' dialling keeps what it was.
        self.fields["agent_dialing_mode"].required = False
        self.fields["progressive_delay_seconds"].required = False

    def clean_agent_dialing_mode(self):
        return self.cleaned_data.get("agent_dialing_mode") or self.instance.agent_dialing_mode

    def clean_progressive_delay_seconds(self):
        value = self.cleaned_data.get("progressive_delay_seconds")
        return self.instance.progressive_delay_seconds if value is None else value

    def _holidays_field(self) -> None:
        """Empty follows the campaign's kind (WAIHU_HOLIDAY_CALLING_KINDS); the label says
        what that means for this campaign."""
        kind = self.instance.campaign.kind if self.instance.campaign_id else None
        if kind in settings.WAIHU_HOLIDAY_CALLING_KINDS:
            default = _("As for its kind: calls on public holidays")
        else:
            default = _("As for its kind: no calls on public holidays")
        field = self.fields["calls_on_holidays"]
        field.choices = [
            ("", default),
            ("yes", _("Calls on public holidays")),
            ("no", _("No calls on public holidays")),
        ]
        field.initial = {True: "yes", False: "no"}.get(self.instance.calls_on_holidays, "")

    def _questionnaire_language(self) -> str | None:
        version = self.instance.campaign.questionnaire if self.instance.campaign_id else None
        return version.questionnaire.language if version is not None else None

    def _voice_field(self) -> None:
        """The voices that speak the questionnaire's language, the default one first."""
        language = self._questionnaire_language()
        if language is None:
            offered = list(voices.VOICES.values())
            default = _("Default for the questionnaire's language")
        else:
            offered = voices.voices_for(language)
            default = _("Default: %(voice)s") % {"voice": default_voice(language).name}
        field = self.fields["voice"]
        field.widget = forms.Select(
            choices=[("", default), *((v.name, f"{v.name} ({v.language})") for v in offered)]
        )

    def clean_voice(self):
        value = (self.cleaned_data.get("voice") or "").strip()
        if not value:
            return ""
        if value not in voices.VOICES:
            raise forms.ValidationError(
                _("“%(voice)s” is not one of the voices offered.") % {"voice": value}
            )
        language = self._questionnaire_language()
        if language is not None and not voices.speaks(value, questionnaire_language(language)):
            raise forms.ValidationError(
                _("The voice %(voice)s does not speak the questionnaire's language.")
                % {"voice": value}
            )
        return value

    def clean_caller_id(self):
        value = self.cleaned_data["caller_id"].strip().replace(" ", "")
        if value and not (value.startswith("+") and value[1:].isdigit() and len(value) >= 8):
            raise forms.ValidationError(_("Enter the number in E.164 form, such as +8673110086."))
        return value

    def clean_excluded_dates_text(self):
        dates = []
        for line in self.cleaned_data["excluded_dates_text"].replace(",", "\n").splitlines():
            if not line.strip():
                continue
            try:
                dates.append(datetime.date.fromisoformat(line.strip()).isoformat())
            except ValueError:
                raise forms.ValidationError(
                    _("“%(value)s” is not a date such as 2026-10-01.") % {"value": line.strip()}
                ) from None
        return sorted(set(dates))

    def clean(self):
        cleaned = super().clean()
        hours = {}
        for day in WEEKDAY_NAMES:
            start, end = cleaned.get(f"from_{day}"), cleaned.get(f"until_{day}")
            if start is None and end is None:
                continue
            if start is None or end is None or end <= start:
                self.add_error(
                    f"until_{day}", _("Give both times, the second later than the first.")
                )
                continue
            hours[str(day)] = [start.strftime("%H:%M"), end.strftime("%H:%M")]
        self.instance.weekly_hours = hours
        self.instance.excluded_dates = cleaned.get("excluded_dates_text", [])
        self.instance.calls_on_holidays = cleaned.get("calls_on_holidays")
        cps = cleaned.get("calls_per_second") or 0
        if cps <= 0:
            self.add_error("calls_per_second", _("Give a number above zero."))
        elif cps > settings.WAIHU_ACCOUNT_CPS:
            self.add_error(
                "calls_per_second",
                _(
                    "At most %(budget)s: the Twilio account places that many calls a second "
                    "for all campaigns together (WAIHU_ACCOUNT_CPS), and queues the rest."
                )
                % {"budget": f"{settings.WAIHU_ACCOUNT_CPS:g}"},
            )
        return cleaned

    def hour_rows(self):
        return [
            (WEEKDAY_NAMES[day], self[f"from_{day}"], self[f"until_{day}"]) for day in WEEKDAY_NAMES
        ]


class AttemptFilterForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", _("Any outcome")), ("open", _("Not finished")), *Outcome.choices],
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *CallAttempt.Status.choices],
    )
    q = forms.CharField(label=_("Number or name"), required=False, max_length=50)

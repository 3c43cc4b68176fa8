from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.widgets import DateInput
from reports import hooks
from reports.models import Analysis
from reports.selectors import STATUS_SETS, ResultFilters
from reports.tables import BASE_ANSWERED, BASE_ASKED


class BaseFilterForm(forms.Form):
    """The filters every results page has: which interviews, a date range, an agent."""

    statuses = forms.ChoiceField(
        label=_("Interviews"),
        required=False,
        choices=[
            ("completed", _("Completed")),
            ("ended", _("Completed and partial")),
            ("all", _("All")),
        ],
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    agent = forms.ModelChoiceField(label=_("Agent"), queryset=None, required=False)
    base = forms.ChoiceField(
        label=_("Multiple choice percentages of"),
        required=False,
        choices=[(BASE_ASKED, _("everyone asked")), (BASE_ANSWERED, _("those who answered"))],
    )

    def __init__(self, *args, agents=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = agents

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data

    def common_filters(self) -> dict:
        data = self.cleaned_data
        statuses = data.get("statuses") or "completed"
        return {
            "statuses": statuses if statuses in STATUS_SETS else "completed",
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
            "agent_id": data["agent"].pk if data.get("agent") else None,
            "base": data.get("base") or BASE_ASKED,
        }


class ResultFilterForm(BaseFilterForm):
    attribute = forms.ChoiceField(
        label=_("Contact attribute"),
        required=False,
        choices=[("", "—"), *((k, v) for k, v in hooks.ATTRIBUTES.items())],
    )
    attribute_value = forms.CharField(label=_("equals"), required=False, max_length=100)

    def __init__(self, *args, agents=None, **kwargs):
        super().__init__(*args, agents=agents, **kwargs)
        if not hooks.attributes_available():
            del self.fields["attribute"]
            del self.fields["attribute_value"]

    def to_filters(self) -> ResultFilters:
        if not self.is_valid():
            return ResultFilters()
        data = self.cleaned_data
        return ResultFilters(
            **self.common_filters(),
            attribute=data.get("attribute") or "",
            attribute_value=(data.get("attribute_value") or "").strip(),
        )


class CrosstabForm(forms.Form):
    row = forms.ChoiceField(label=_("Rows"))
    column = forms.ChoiceField(label=_("Columns"))

    def __init__(self, *args, rows=(), columns=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["row"].choices = list(rows)
        self.fields["column"].choices = list(columns)


class AnalysisForm(forms.ModelForm):
    class Meta:
        model = Analysis
        fields = list(Analysis.SECTIONS)
        widgets = {
            name: forms.Textarea(attrs={"rows": 8, "class": "form-control"})
            for name in Analysis.SECTIONS
        }

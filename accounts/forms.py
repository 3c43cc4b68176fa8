from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import AuditAction
from accounts.selectors import audit_target_types


class DateInput(forms.DateInput):
    """A browser date picker, whose value is always ISO (YYYY-MM-DD) whatever the language."""

    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class AuditFilterForm(forms.Form):
    user = forms.CharField(label=_("User name"), required=False, max_length=150)
    action = forms.ChoiceField(label=_("Action"), required=False)
    target_type = forms.ChoiceField(label=_("Concerning"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    address = forms.CharField(label=_("Address"), required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("Any")), *AuditAction.choices]
        self.fields["target_type"].choices = [("", _("Anything")), *audit_target_types()]
        for field in self.fields.values():
            css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs["class"] = f"{css} {css}-sm"

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end date cannot be before the start date."))
        return data

    def criteria(self) -> dict:
        """The filters that are valid (an invalid one is shown with its error, not applied)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = self.cleaned_data
        return {
            "username": (data.get("user") or "").strip(),
            "action": data.get("action") or "",
            "target_type": data.get("target_type") or "",
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
            "address": (data.get("address") or "").strip(),
        }

import datetime

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.widgets import DateInput
from outbound.contacts.normalise import normalise_phone
from outbound.contacts.readers import file_format
from outbound.contacts.selectors import NOT_QUEUED, DeadlineState
from outbound.contacts.services import one_year_after, validate_red_list_period
from outbound.models import DialState, DoNotCallEntry, WorkOrder

TARGET_LABELS = {
    "phone": _("Phone number"),
    "name": _("Name"),
    "brand": _("Brand"),
    "region": _("Region"),
    "segment": _("Segment"),
    "feedback_date": _("Complaint feedback date"),
    "deadline": _("Callback deadline"),
}


def _list_file(upload):
    if file_format(upload.name) is None:
        raise ValidationError(_("Upload a .xlsx or .csv file."))
    if upload.size > settings.WAIHU_UPLOAD_MAX_MB * 1024 * 1024:
        raise ValidationError(
            _("The file is larger than %(mb)s MB (WAIHU_UPLOAD_MAX_MB).")
            % {"mb": settings.WAIHU_UPLOAD_MAX_MB}
        )
    return upload


class ListFileField(forms.FileField):
    default_validators = [_list_file]

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("List (.xlsx or .csv)"))
        super().__init__(**kwargs)
        self.widget.attrs["accept"] = ".xlsx,.csv"


class ContactUploadForm(forms.Form):
    file = ListFileField(
        help_text=_(
            "The first row holds the column names. CSV files may be saved by Excel in any "
            "encoding; the columns are matched on the next page."
        )
    )


class MappingForm(forms.Form):
    """Which of the file's columns holds each field; every other column is kept with the
    contact as an attribute."""

    deadline_days = forms.IntegerField(
        label=_("Days to call back after the feedback"),
        min_value=1,
        max_value=365,
        initial=7,
        help_text=_("Used when the list gives the complaint feedback date."),
    )

    def __init__(self, *args, header: list[str], complaint: bool, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("— not in this list —")), *((str(i), h) for i, h in enumerate(header))]
        fields = {}
        for target, label in TARGET_LABELS.items():
            fields[target] = forms.TypedChoiceField(
                label=label,
                choices=choices,
                coerce=int,
                empty_value=None,
                required=target == "phone",
            )
        if not complaint:
            fields["feedback_date"].help_text = _("Only complaint callbacks need dates.")
        self.fields = {**fields, "deadline_days": self.fields["deadline_days"]}

    def mapping(self) -> dict[str, int]:
        return {
            target: self.cleaned_data[target]
            for target in TARGET_LABELS
            if self.cleaned_data.get(target) is not None
        }


class PhoneField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Phone number"))
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        normal = normalise_phone(value)
        if normal is None:
            raise ValidationError(_("Enter a valid phone number."))
        return normal


class CampaignNumberField(forms.CharField):
    """An approved campaign by its order number (WH-000123, or 123); empty for none. A
    number to type rather than a menu of every campaign, which would grow with them."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Campaign"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault(
            "help_text", _("The order number, such as WH-000123; leave empty for every campaign.")
        )
        super().__init__(**kwargs)
        self.widget.attrs["placeholder"] = _("Every campaign")

    def prepare_value(self, value):
        return value.number if isinstance(value, WorkOrder) else value

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        pk = WorkOrder.pk_from_number(value)
        campaign = (
            WorkOrder.objects.filter(pk=pk, run_status=WorkOrder.RunStatus.READY).first()
            if pk
            else None
        )
        if campaign is None:
            raise ValidationError(_("No approved campaign has this number."))
        return campaign


class DoNotCallForm(forms.Form):
    phone = PhoneField()
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)
    campaign = CampaignNumberField()


class DoNotCallUploadForm(forms.Form):
    file = ListFileField(
        help_text=_(
            "Numbers are taken from the column named like a phone number, or else the first; "
            "a column named reason is kept."
        )
    )
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)
    campaign = DoNotCallForm.base_fields["campaign"]


class RedListPeriodMixin:
    def clean(self):
        cleaned = super().clean()
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on:
            try:
                validate_red_list_period(starts_on, ends_on)
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    self.add_error(field, messages)
        return cleaned


def _today() -> datetime.date:
    return timezone.localdate()


def _a_year_on() -> datetime.date:
    return one_year_after(timezone.localdate())


class RedListForm(RedListPeriodMixin, forms.Form):
    phone = PhoneField()
    customer_name = forms.CharField(label=_("Customer"), max_length=100, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)
    starts_on = forms.DateField(label=_("From"), initial=_today, widget=DateInput())
    ends_on = forms.DateField(
        label=_("Until"),
        initial=_a_year_on,
        widget=DateInput(),
        help_text=_("At most one year after the start."),
    )


class RedListUploadForm(RedListPeriodMixin, forms.Form):
    file = ListFileField(
        help_text=_(
            "Numbers are taken from the column named like a phone number, or else the first; "
            "columns named name and reason are kept."
        )
    )
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)
    starts_on = RedListForm.base_fields["starts_on"]
    ends_on = RedListForm.base_fields["ends_on"]


def _small_controls(form: forms.Form) -> None:
    for field in form.fields.values():
        css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
        field.widget.attrs["class"] = f"{css} {css}-sm"


class _ListFilterForm(forms.Form):
    """A list's search and filters from the query string; what does not parse is ignored."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _small_controls(self)
        self.fields["q"].widget.input_type = "search"

    def values(self) -> dict:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) or "" for name in self.fields}


class ContactFilterForm(_ListFilterForm):
    status = forms.ChoiceField(label=_("Status"), required=False)
    deadline = forms.ChoiceField(label=_("Deadline"), required=False)

    def __init__(self, *args, deadlines: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("Number or name")
        self.fields["status"].choices = [
            ("", _("Any status")),
            (NOT_QUEUED, _("Not queued yet")),
            *DialState.Status.choices,
        ]
        if deadlines:
            self.fields["deadline"].choices = [("", _("Any deadline")), *DeadlineState.choices]
        else:
            del self.fields["deadline"]


class DoNotCallFilterForm(_ListFilterForm):
    source = forms.ChoiceField(label=_("Source"), required=False)
    scope = forms.ChoiceField(
        label=_("Applies to"),
        required=False,
        choices=[
            ("", _("Any campaign")),
            ("global", _("Every campaign")),
            ("campaign", _("One campaign")),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("Number or reason")
        self.fields["source"].choices = [("", _("Any source")), *DoNotCallEntry.Source.choices]


class RedListFilterForm(_ListFilterForm):
    period = forms.ChoiceField(
        label=_("Period"),
        required=False,
        choices=[
            ("", _("Any period")),
            ("current", _("In force today")),
            ("upcoming", _("Not started yet")),
            ("expired", _("Expired")),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("Number, customer or reason")

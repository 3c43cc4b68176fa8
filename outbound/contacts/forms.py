import datetime

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.widgets import DateInput
from outbound.contacts.normalise import normalise_phone
from outbound.contacts.readers import file_format
from outbound.contacts.services import one_year_after, validate_red_list_period
from outbound.models import WorkOrder

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


class DoNotCallForm(forms.Form):
    phone = PhoneField()
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)
    campaign = forms.ModelChoiceField(
        label=_("Campaign"),
        queryset=WorkOrder.objects.filter(run_status=WorkOrder.RunStatus.READY).order_by("title"),
        required=False,
        empty_label=_("Every campaign"),
    )


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

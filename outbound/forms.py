from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Field, Layout
from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Department
from accounts.roles import Role
from accounts.widgets import DateInput, TimeInput
from approvals.models import ApprovalRequest, Decision
from outbound.models import WorkOrder
from surveys.models import QuestionnaireVersion
from surveys.selectors import version_published_list


class WorkOrderForm(forms.ModelForm):
    class Meta:
        model = WorkOrder
        fields = [
            "title",
            "kind",
            "mode",
            "background",
            "purpose",
            "target_description",
            "expected_contacts",
            "desired_start",
            "desired_end",
            "calling_hours_start",
            "calling_hours_end",
            "questionnaire",
        ]
        widgets = {
            "background": forms.Textarea(attrs={"rows": 3}),
            "purpose": forms.Textarea(attrs={"rows": 3}),
            "target_description": forms.Textarea(attrs={"rows": 3}),
            "desired_start": DateInput(),
            "desired_end": DateInput(),
            "calling_hours_start": TimeInput(),
            "calling_hours_end": TimeInput(),
        }
        help_texts = {
            "target_description": _("Who should be called, and how the list will be drawn."),
            "calling_hours_start": _("The customers' local time."),
            "questionnaire": _(
                "A published questionnaire. You may leave it empty: the outbound administrator "
                "then chooses one when assigning the work."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["questionnaire"].queryset = version_published_list()
        contacts = self.fields["expected_contacts"]
        contacts.validators.append(MinValueValidator(1))
        contacts.widget.attrs["min"] = 1
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            "title",
            Div(
                Div("kind", css_class="col-md-6"),
                Div("mode", css_class="col-md-6"),
                css_class="row",
            ),
            "background",
            "purpose",
            "target_description",
            Div(
                Div("expected_contacts", css_class="col-md-4"),
                Div("desired_start", css_class="col-md-4"),
                Div("desired_end", css_class="col-md-4"),
                css_class="row",
            ),
            Div(
                Div("calling_hours_start", css_class="col-md-6"),
                Div("calling_hours_end", css_class="col-md-6"),
                css_class="row",
            ),
            "questionnaire",
        )

    def clean_desired_start(self):
        value = self.cleaned_data["desired_start"]
        unchanged = self.instance.pk and self.instance.desired_start == value
        if not unchanged and value < timezone.localdate():
            raise forms.ValidationError(_("The start date cannot be in the past."))
        return value

    def clean(self):
        data = super().clean()
        start, end = data.get("desired_start"), data.get("desired_end")
        if start and end and end < start:
            self.add_error("desired_end", _("The end date cannot be before the start date."))
        opens, closes = data.get("calling_hours_start"), data.get("calling_hours_end")
        if opens and closes and closes <= opens:
            self.add_error("calling_hours_end", _("Calling must end after it starts."))
        return data

    def _post_clean(self):
        # The model's own constraints are checked by the service; the form has said
        # everything about the fields above in the user's words.
        pass


class DecisionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            (Decision.Action.APPROVE, _("Approve")),
            (Decision.Action.RETURN, _("Return for changes")),
            (Decision.Action.REJECT, _("Reject")),
        ]
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, comment_required: bool = False, **kwargs):
        self.comment_required = comment_required
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        action, comment = data.get("action"), (data.get("comment") or "").strip()
        if action in (Decision.Action.RETURN, Decision.Action.REJECT) and not comment:
            self.add_error("comment", _("Say why: a comment is required to return or reject."))
        if action == Decision.Action.APPROVE and self.comment_required and not comment:
            self.add_error("comment", _("This step requires a comment."))
        return data


class AssignmentForm(forms.Form):
    team = forms.ModelMultipleChoiceField(
        label=_("Agents"),
        queryset=get_user_model().objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    planned_start = forms.DateField(label=_("Planned start"), widget=DateInput())
    planned_end = forms.DateField(label=_("Planned end"), widget=DateInput())
    daily_volume = forms.IntegerField(label=_("Calls per day"), min_value=1)
    questionnaire = forms.ModelChoiceField(
        label=_("Questionnaire"), queryset=QuestionnaireVersion.objects.none()
    )

    def __init__(self, *args, order: WorkOrder, **kwargs):
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("planned_start", order.planned_start or order.desired_start)
        initial.setdefault("planned_end", order.planned_end or order.desired_end)
        initial.setdefault("daily_volume", order.daily_volume)
        initial.setdefault("team", list(order.team.all()))
        initial.setdefault("questionnaire", order.questionnaire_id)
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = (
            get_user_model()
            .objects.filter(groups__name=Role.CALL_AGENT, is_active=True)
            .order_by("agent_no", "username")
            .distinct()
        )
        self.fields["questionnaire"].queryset = version_published_list()
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            "questionnaire",
            Field("team"),
            Div(
                Div("planned_start", css_class="col-sm-4"),
                Div("planned_end", css_class="col-sm-4"),
                Div("daily_volume", css_class="col-sm-4"),
                css_class="row",
            ),
        )

    def clean(self):
        data = super().clean()
        start, end = data.get("planned_start"), data.get("planned_end")
        if start and end and end < start:
            self.add_error("planned_end", _("The end date cannot be before the start date."))
        return data


class OrderFilterForm(forms.Form):
    """The order list's search and filters, read from the query string; a value that does
    not parse is ignored rather than refused."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *ApprovalRequest.Status.choices],
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any kind")), *WorkOrder.Kind.choices]
    )
    department = forms.ModelChoiceField(
        label=_("Department"),
        required=False,
        queryset=Department.objects.order_by("name"),
        empty_label=_("Any department"),
    )
    filed_from = forms.DateField(label=_("Filed from"), required=False, widget=DateInput())
    filed_until = forms.DateField(label=_("Filed until"), required=False, widget=DateInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = f"{css} {css}-sm"
        self.fields["q"].widget.attrs["placeholder"] = _("Title, number or requester")
        self.fields["q"].widget.input_type = "search"

    def criteria(self) -> dict:
        """The filters that parsed, as the selector's keyword arguments."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "search": data.get("q") or "",
            "status": data.get("status") or "",
            "kind": data.get("kind") or "",
            "department": data.get("department"),
            "filed_from": data.get("filed_from"),
            "filed_until": data.get("filed_until"),
        }

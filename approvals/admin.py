from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from accounts.admin import AuditedAdmin
from approvals.models import ApprovalRequest, Chain, Decision, Holiday, Step
from approvals.services import chain_steps_reorder, step_removal_refused


class StepForm(forms.ModelForm):
    class Meta:
        model = Step
        fields = [
            "position",
            "name",
            "kind",
            "actor",
            "group",
            "time_limit_hours",
            "comment_required",
        ]
        help_texts = {
            "position": _(
                "The step's place in the chain. To insert or move a step, give it the place "
                "it should take: the other steps keep their order around it. On saving the "
                "steps are numbered 1, 2, 3…"
            )
        }


class StepFormSet(BaseInlineFormSet):
    """The steps of a chain, saved as one ordered list by `chain_steps_reorder`: a new step,
    or a step whose position was changed, takes that place; the others keep their order."""

    def validate_unique(self):
        # Positions here are places to take, not final numbers, so two rows may give the
        # same one; position is the only uniqueness rule a step has.
        return

    def clean(self):
        super().clean()
        refusals = [
            step_removal_refused(step=form.instance)
            for form in self.deleted_forms
            if form.instance.pk is not None
        ]
        if any(refusals):
            raise ValidationError([refusal for refusal in refusals if refusal])

    def _kept_forms(self) -> list[forms.ModelForm]:
        deleted = set(self.deleted_forms)
        return [
            form
            for form in self.forms
            if form not in deleted and (form.instance.pk is not None or form.has_changed())
        ]

    @staticmethod
    def _moved(form) -> bool:
        return form.instance.pk is None or "position" in form.changed_data

    def steps_in_order(self) -> list[Step]:
        kept = self._kept_forms()
        staying = sorted(
            (form for form in kept if not self._moved(form)),
            key=lambda form: form.instance.position,
        )
        order = [form.instance for form in staying]
        moving = sorted(
            (form for form in kept if self._moved(form)),
            key=lambda form: form.cleaned_data["position"],
        )
        last = -1
        for form in moving:
            # Steps given the same place keep the order of their rows.
            last = max(form.cleaned_data["position"] - 1, last + 1)
            order.insert(last, form.instance)
        return order

    def save(self, commit=True):
        kept = self._kept_forms()
        added = [form.instance for form in kept if form.instance.pk is None]
        changed = [
            (form.instance, form.changed_data)
            for form in kept
            if form.instance.pk is not None and form.has_changed()
        ]
        removed = [form.instance for form in self.deleted_forms if form.instance.pk is not None]
        steps = self.steps_in_order()
        chain_steps_reorder(chain=self.instance, steps=steps, remove=removed)
        # What the admin's change message reads.
        self.new_objects, self.changed_objects, self.deleted_objects = added, changed, removed
        return steps


class StepInline(admin.TabularInline):
    model = Step
    form = StepForm
    formset = StepFormSet
    extra = 0
    ordering = ["position"]

    def get_queryset(self, request):
        return super().get_queryset(request).in_chain()


@admin.register(Chain)
class ChainAdmin(AuditedAdmin, admin.ModelAdmin):
    list_display = ["name", "code", "is_default"]
    inlines = [StepInline]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "is_working_day"]
    list_filter = ["is_working_day"]
    date_hierarchy = "date"


class DecisionInline(admin.TabularInline):
    model = Decision
    extra = 0
    can_delete = False
    fields = ["created_at", "step_name", "actor", "action", "comment"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(admin.ModelAdmin):
    list_display = ["title", "requester", "department", "status", "current_step", "step_due_at"]
    list_filter = ["status", "chain", "department"]
    search_fields = ["title", "requester__username"]
    readonly_fields = [f.name for f in ApprovalRequest._meta.fields]
    inlines = [DecisionInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

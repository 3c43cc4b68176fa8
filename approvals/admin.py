from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Case, Exists, OuterRef, When
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from accounts.admin import AuditedAdmin
from approvals import official_calendar
from approvals.calendar_services import calendar_warnings
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


class YearFilter(admin.SimpleListFilter):
    """One year at a time, the current one unless another (or all) is chosen."""

    title = _("year")
    parameter_name = "year"
    ALL = "all"

    def lookups(self, request, model_admin):
        years = {day.year for day in Holiday.objects.dates("date", "year")}
        years.add(timezone.localdate().year)
        return [(str(year), str(year)) for year in sorted(years, reverse=True)]

    def value(self):
        return super().value() or str(timezone.localdate().year)

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }
        yield {
            "selected": self.value() == self.ALL,
            "query_string": changelist.get_query_string({self.parameter_name: self.ALL}),
            "display": _("All years"),
        }

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.ALL or not value.isdigit():
            return queryset
        return queryset.filter(date__year=int(value))


class HolidayForm(forms.ModelForm):
    """A local entry: the centre's own day off or working day."""

    class Meta:
        model = Holiday
        fields = ["date", "name", "is_working_day"]
        help_texts = {
            "date": _(
                "A date the official calendar also lists takes this entry instead of the "
                "official one while the entry exists."
            )
        }

    def clean_date(self):
        day = self.cleaned_data["date"]
        if Holiday.objects.local().filter(date=day).exclude(pk=self.instance.pk).exists():
            raise ValidationError(_("This date already has a local entry."))
        return day


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    """Each year's calendar with the source of each day. Official days are filled from the
    package and cannot be changed here; a local entry for the same date replaces one."""

    form = HolidayForm
    list_display = ["date", "weekday", "name", "is_working_day", "source", "in_force"]
    list_filter = [YearFilter, "source", "is_working_day"]
    search_fields = ["name"]
    list_per_page = 200
    ordering = ["date", "source"]

    def get_queryset(self, request):
        local_same_date = Holiday.objects.local().filter(date=OuterRef("date"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                replaced=Case(
                    When(source=Holiday.Source.LOCAL, then=False),
                    default=Exists(local_same_date),
                    output_field=BooleanField(),
                )
            )
        )

    @admin.display(description=_("weekday"), ordering="date")
    def weekday(self, obj) -> str:
        return date_format(obj.date, "l")

    @admin.display(description=_("in force"), boolean=True)
    def in_force(self, obj) -> bool:
        return not getattr(obj, "replaced", False)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.source == Holiday.Source.OFFICIAL:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.source == Holiday.Source.OFFICIAL:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        obj.source = Holiday.Source.LOCAL
        super().save_model(request, obj, form, change)

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            for warning in calendar_warnings():
                self.message_user(request, warning, level=messages.WARNING)
        years = official_calendar.known_years()
        extra_context = {
            **(extra_context or {}),
            "package_version": official_calendar.package_version(),
            "first_year": years[0],
            "last_year": years[-1],
        }
        return super().changelist_view(request, extra_context)


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

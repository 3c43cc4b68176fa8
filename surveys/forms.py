"""Forms of the questionnaire designer and its preview. They validate and convert what the
browser sends; the services check it again and write it."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.db.models import Q
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from surveys.engine import AnswerValue, QuestionSpec
from surveys.models import (
    CHOICE_TYPES,
    KEYPAD_DIGITS,
    NUMBER_TYPES,
    Action,
    Choice,
    Condition,
    Kind,
    Language,
    Mode,
    Question,
    QuestionnaireVersion,
    QuestionType,
    Rule,
    Special,
)
from surveys.placeholders import placeholder_name_is_valid
from surveys.presets import PRESET_HELP, Preset
from surveys.services import ChoiceRow

MAX_DURATION_MINUTES = 600
MAX_IMPORT_BYTES = 5 * 1024 * 1024


def plain_number(value: Decimal | None) -> str:
    """A stored decimal as people write it: 10.0000 -> 10, 2.5000 -> 2.5."""
    if value is None:
        return ""
    return format(value.normalize(), "f")


def _label(model, name: str):
    return capfirst(model._meta.get_field(name).verbose_name)


def _help(model, name: str):
    return model._meta.get_field(name).help_text


def _text(model, name: str, *, rows: int = 2, required: bool = False) -> forms.CharField:
    return forms.CharField(
        label=_label(model, name),
        help_text=_help(model, name),
        required=required,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


def _flag(model, name: str) -> forms.BooleanField:
    return forms.BooleanField(
        label=_label(model, name), help_text=_help(model, name), required=False
    )


def _number(model, name: str, label=None) -> forms.DecimalField:
    return forms.DecimalField(
        label=label or _label(model, name),
        required=False,
        max_digits=14,
        decimal_places=4,
        widget=forms.NumberInput(attrs={"step": "any"}),
    )


class _BootstrapMixin:
    """Give every widget Bootstrap's classes so hand-written layouts match crispy ones."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect)):
                continue
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()


def _placeholder_names(raw: str) -> list[str]:
    names = []
    for part in raw.replace(",", " ").replace("，", " ").split():
        name = part.strip().strip("{}").strip()
        if name and name not in names:
            names.append(name)
    return names


def _clean_placeholder_names(raw: str) -> list[str]:
    names = _placeholder_names(raw or "")
    bad = [n for n in names if not placeholder_name_is_valid(n)]
    if bad:
        raise forms.ValidationError(
            _(
                "Not valid as a placeholder name: %(names)s. Use letters, digits and "
                "underscores, starting with a letter, such as plan or city."
            )
            % {"names": ", ".join(bad)}
        )
    return names


# --- questionnaires and the four parts ---------------------------------------------------


class QuestionnaireForm(_BootstrapMixin, forms.Form):
    name = forms.CharField(label=pgettext_lazy("questionnaire", "Name"), max_length=200)
    language = forms.ChoiceField(
        label=_("Language"),
        choices=Language.choices,
        initial=Language.ZH_HANS,
        help_text=_("The language the script is read in; preset scales use it."),
    )
    mode = forms.ChoiceField(
        label=_label(QuestionnaireVersion, "mode"), choices=Mode.choices, initial=Mode.AGENT
    )
    kind = forms.ChoiceField(
        label=_label(QuestionnaireVersion, "kind"), choices=Kind.choices, initial=Kind.SURVEY
    )
    extra_placeholders = forms.CharField(
        label=_label(QuestionnaireVersion, "extra_placeholders"),
        required=False,
        help_text=_(
            "Contact attributes the script may use besides the standard ones, separated by "
            "commas, such as plan, city."
        ),
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the questionnaire a name."))
        return name

    def clean_extra_placeholders(self) -> list[str]:
        return _clean_placeholder_names(self.cleaned_data["extra_placeholders"])


class SettingsForm(_BootstrapMixin, forms.Form):
    """The name of the questionnaire and the settings of a draft version."""

    name = QuestionnaireForm.base_fields["name"]
    mode = QuestionnaireForm.base_fields["mode"]
    kind = QuestionnaireForm.base_fields["kind"]
    extra_placeholders = QuestionnaireForm.base_fields["extra_placeholders"]
    clean_name = QuestionnaireForm.clean_name
    clean_extra_placeholders = QuestionnaireForm.clean_extra_placeholders

    @classmethod
    def initial_for(cls, version: QuestionnaireVersion) -> dict:
        return {
            "name": version.questionnaire.name,
            "mode": version.mode,
            "kind": version.kind,
            "extra_placeholders": ", ".join(version.extra_placeholders or []),
        }


class GreetingForm(_BootstrapMixin, forms.Form):
    greeting_salutation = _text(QuestionnaireVersion, "greeting_salutation")
    greeting_introduction = _text(QuestionnaireVersion, "greeting_introduction")


class TransitionForm(_BootstrapMixin, forms.Form):
    transition_purpose = _text(QuestionnaireVersion, "transition_purpose")
    transition_duration_minutes = forms.IntegerField(
        label=_label(QuestionnaireVersion, "transition_duration_minutes"),
        required=False,
        min_value=1,
        max_value=MAX_DURATION_MINUTES,
        help_text=_("Agents read 120 to 150 Chinese characters a minute."),
        error_messages={
            "invalid": _("Enter a whole number of minutes."),
            "min_value": _("The promised duration must be at least 1 minute."),
            "max_value": _("The promised duration must be at most %(limit_value)s minutes."),
        },
    )
    transition_cost = _text(QuestionnaireVersion, "transition_cost")


class ClosingForm(_BootstrapMixin, forms.Form):
    closing_summary = _text(QuestionnaireVersion, "closing_summary")
    closing_thanks = _text(QuestionnaireVersion, "closing_thanks")
    closing_wishes = _text(QuestionnaireVersion, "closing_wishes")


PART_FORMS: dict[str, type[forms.Form]] = {
    "greeting": GreetingForm,
    "transition": TransitionForm,
    "closing": ClosingForm,
}


def part_initial(version: QuestionnaireVersion, part: str) -> dict:
    return {name: getattr(version, name) for name in PART_FORMS[part].base_fields}


# --- questions ---------------------------------------------------------------------------


class QuestionForm(_BootstrapMixin, forms.Form):
    code = forms.CharField(
        label=_label(Question, "code"),
        max_length=20,
        help_text=_("Short and unique in the questionnaire, such as Q1 or A3."),
    )
    type = forms.ChoiceField(label=_label(Question, "type"), choices=QuestionType.choices)
    text = _text(Question, "text", rows=3)
    instruction = _text(Question, "instruction")
    required = _flag(Question, "required")
    allow_dont_know = _flag(Question, "allow_dont_know")
    allow_refused = _flag(Question, "allow_refused")
    confirms_identity = _flag(Question, "confirms_identity")
    records_consent = _flag(Question, "records_consent")
    min_value = _number(Question, "min_value")
    max_value = _number(Question, "max_value")

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if not code:
            raise forms.ValidationError(_("Give the question a code, such as Q1."))
        return code

    def clean(self):
        data = super().clean()
        if data.get("type") != QuestionType.NUMBER:
            data["min_value"] = data["max_value"] = None
        low, high = data.get("min_value"), data.get("max_value")
        if low is not None and high is not None and low > high:
            self.add_error("max_value", _("The maximum must not be smaller than the minimum."))
        return data

    @classmethod
    def initial_for(cls, question: Question) -> dict:
        initial = {name: getattr(question, name) for name in cls.base_fields}
        initial["min_value"] = plain_number(question.min_value)
        initial["max_value"] = plain_number(question.max_value)
        return initial


class QuestionAddForm(_BootstrapMixin, forms.Form):
    type = forms.ChoiceField(
        label=_label(Question, "type"), choices=QuestionType.choices, initial=QuestionType.SINGLE
    )
    code = forms.CharField(
        label=_label(Question, "code"),
        max_length=20,
        required=False,
        help_text=_("Leave empty for the next free code."),
    )
    text = _text(Question, "text")
    preset = forms.ChoiceField(
        label=_("Answer scale"),
        required=False,
        choices=[
            (Preset.SATISFACTION_5, Preset.SATISFACTION_5.label),
            (Preset.SATISFACTION_5_BRANCH, Preset.SATISFACTION_5_BRANCH.label),
            (Preset.AGREEMENT_4, Preset.AGREEMENT_4.label),
        ],
        initial=Preset.SATISFACTION_5,
        help_text=_("The choices a rating scale starts with; they can be changed afterwards."),
    )

    def clean(self):
        data = super().clean()
        data["code"] = (data.get("code") or "").strip() or None
        if data.get("type") != QuestionType.SCALE:
            data["preset"] = None
        else:
            data["preset"] = data.get("preset") or None
        return data


class PresetForm(forms.Form):
    preset = forms.ChoiceField(label=_("Answer scale"), choices=Preset.choices)

    @staticmethod
    def help() -> dict:
        return dict(PRESET_HELP)


class MoveForm(forms.Form):
    """One step up or down (the arrow buttons, the keyboard's way), or straight to a
    position, 1 being the first (where a question is dropped after a drag)."""

    direction = forms.ChoiceField(choices=[("up", _("Up")), ("down", _("Down"))], required=False)
    position = forms.IntegerField(min_value=1, required=False)

    def clean(self):
        data = super().clean()
        if bool(data.get("direction")) == (data.get("position") is not None):
            raise forms.ValidationError(_("Give either a direction or a position."))
        return data

    def move_args(self) -> dict:
        if self.cleaned_data.get("direction"):
            return {"direction": self.cleaned_data["direction"]}
        return {"to_position": self.cleaned_data["position"]}


# --- choices -----------------------------------------------------------------------------


class ChoiceForm(_BootstrapMixin, forms.Form):
    code = forms.IntegerField(
        label=_label(Choice, "code"),
        required=False,
        help_text=_("A whole number; leave empty for the next free code."),
        error_messages={"invalid": _("A choice code is a whole number.")},
    )
    label = forms.CharField(label=_label(Choice, "label"), max_length=500)
    keypad = forms.ChoiceField(
        label=_label(Choice, "keypad"),
        required=False,
        choices=[("", "—"), *[(d, d) for d in KEYPAD_DIGITS]],
    )
    exclusive = _flag(Choice, "exclusive")
    specify = _flag(Choice, "specify")

    def __init__(self, *args, code_required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].required = code_required
        if code_required:
            # A saved choice's row stays compact; the add form keeps the explanations.
            for name in ("code", "exclusive", "specify"):
                self.fields[name].help_text = ""
        self.fields["label"].error_messages["required"] = _("Give the choice a label.")

    def clean_label(self) -> str:
        label = self.cleaned_data["label"].strip()
        if not label:
            raise forms.ValidationError(_("Give the choice a label."))
        return label

    @classmethod
    def initial_for(cls, choice: Choice) -> dict:
        return {name: getattr(choice, name) for name in cls.base_fields}


class ChoiceRowForm(ChoiceForm):
    """One row of a question's choices, edited with all the others (ChoiceFormSet): `id` is
    the choice it edits, empty for a new one."""

    id = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The rows stay compact; the page says once what a code left empty means.
        for field in self.fields.values():
            field.help_text = ""


class _ChoiceFormSetBase(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["ORDER"].label = _("Position")
        form.fields["ORDER"].widget.attrs.update({"class": "form-control", "min": "1"})
        form.fields["DELETE"].label = _("Delete")
        form.fields["DELETE"].widget.attrs.update({"class": "form-check-input"})

    @classmethod
    def initial_for(cls, choices) -> list[dict]:
        return [
            {**ChoiceForm.initial_for(choice), "id": choice.pk, "ORDER": position}
            for position, choice in enumerate(choices, start=1)
        ]

    def rows(self):
        """The rows for `question_choices_save`, in their new order, then those deleted;
        a blank row left untouched is none."""

        def row(form, delete: bool) -> ChoiceRow:
            data = form.cleaned_data
            return ChoiceRow(
                key=self.forms.index(form),
                pk=data.get("id"),
                label=data.get("label", ""),
                code=data.get("code"),
                keypad=data.get("keypad", ""),
                exclusive=data.get("exclusive", False),
                specify=data.get("specify", False),
                delete=delete,
            )

        kept = [row(form, False) for form in self.ordered_forms]
        return kept + [row(form, True) for form in self.deleted_forms]


ChoiceFormSet = forms.formset_factory(
    ChoiceRowForm, formset=_ChoiceFormSetBase, extra=1, can_order=True, can_delete=True
)


# --- skip rules --------------------------------------------------------------------------


def conditions_for(question_type: str) -> list[tuple[str, str]]:
    """The conditions that can test an answer to a question of this type."""
    if question_type in CHOICE_TYPES:
        allowed = [Condition.CHOICE, Condition.ANY_OF, Condition.SPECIAL, Condition.ANY]
    elif question_type in NUMBER_TYPES:
        allowed = [Condition.RANGE, Condition.SPECIAL, Condition.ANY]
    elif question_type == QuestionType.STATEMENT:
        allowed = [Condition.ANY]
    else:
        allowed = [Condition.SPECIAL, Condition.ANY]
    return [(c.value, c.label) for c in allowed]


class TargetField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Question) -> str:
        text = obj.text if len(obj.text) <= 40 else obj.text[:39] + "…"
        return f"{obj.code} {text}".strip()


class ChoicesField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Choice) -> str:
        return obj.label or str(obj.code)


class RuleForm(_BootstrapMixin, forms.Form):
    condition = forms.ChoiceField(label=_("If the answer is"))
    choices = ChoicesField(
        label=_label(Rule, "choices"),
        queryset=Choice.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    min_value = _number(Rule, "min_value")
    max_value = _number(Rule, "max_value")
    special = forms.ChoiceField(
        label=_label(Rule, "special"),
        required=False,
        choices=[("", _("Don't know or refused")), *Special.choices],
    )
    action = forms.ChoiceField(label=_("Then"), choices=Action.choices)
    target = TargetField(
        label=_label(Rule, "target"), queryset=Question.objects.none(), required=False
    )

    def __init__(self, *args, question: Question, rule: Rule | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.question = question
        self.fields["condition"].choices = conditions_for(question.type)
        self.fields["choices"].queryset = question.choices.order_by("position", "pk")
        later = Question.objects.filter(version_id=question.version_id).order_by("position")
        if rule is not None and rule.target_id is not None:
            later = later.filter(Q(position__gt=question.position) | Q(pk=rule.target_id))
        else:
            later = later.filter(position__gt=question.position)
        self.fields["target"].queryset = later
        self.fields["target"].empty_label = _("Choose a question")

    def clean(self):
        data = super().clean()
        condition = data.get("condition")
        picked = list(data.get("choices") or [])
        if condition == Condition.CHOICE and len(picked) != 1:
            self.add_error("choices", _("Pick one choice, or use “any of these choices”."))
        elif condition == Condition.ANY_OF and not picked:
            self.add_error("choices", _("Pick the choices this rule tests."))
        elif condition not in (Condition.CHOICE, Condition.ANY_OF):
            data["choices"] = []
        if condition == Condition.RANGE:
            low, high = data.get("min_value"), data.get("max_value")
            if low is None and high is None:
                self.add_error("min_value", _("Give at least one end of the range."))
            elif low is not None and high is not None and low > high:
                self.add_error("max_value", _("The upper end must not be below the lower end."))
        else:
            data["min_value"] = data["max_value"] = None
        if condition != Condition.SPECIAL:
            data["special"] = ""
        action = data.get("action")
        target = data.get("target")
        if action == Action.GOTO:
            if target is None:
                self.add_error("target", _("Pick the question to go to."))
            elif target.position <= self.question.position:
                self.add_error(
                    "target",
                    _("A rule can only jump forward: pick a question after %(q)s.")
                    % {"q": self.question.code},
                )
        else:
            data["target"] = None
        return data

    @classmethod
    def initial_for(cls, rule: Rule) -> dict:
        return {
            "condition": rule.condition,
            "choices": [c.pk for c in rule.choices.all()],
            "min_value": plain_number(rule.min_value),
            "max_value": plain_number(rule.max_value),
            "special": rule.special,
            "action": rule.action,
            "target": rule.target_id,
        }


# --- Excel -------------------------------------------------------------------------------


class ImportForm(_BootstrapMixin, forms.Form):
    file = forms.FileField(
        label=_("Excel workbook (.xlsx)"),
        error_messages={
            "required": _("Choose an .xlsx file to import."),
            "empty": _("The file is empty."),
        },
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".xlsx"):
            raise forms.ValidationError(_("Only .xlsx workbooks can be imported."))
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)s MB.") % {"mb": MAX_IMPORT_BYTES // (1024 * 1024)}
            )
        return upload


# --- the preview -------------------------------------------------------------------------


class AnswerForm(forms.Form):
    """The answer to one question of the preview, built from the question's spec."""

    SPECIAL_FIELD = "special"

    def __init__(
        self,
        *args,
        question: QuestionSpec,
        labels: dict[int, str] | None = None,
        initial_value: AnswerValue | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.question = question
        labels = labels or {c.code: c.label for c in question.choices}
        kind = question.type
        if kind in CHOICE_TYPES:
            options = [(str(c.code), labels.get(c.code, c.label)) for c in question.choices]
            field_class = (
                forms.MultipleChoiceField if kind == QuestionType.MULTIPLE else forms.ChoiceField
            )
            widget = (
                forms.CheckboxSelectMultiple if kind == QuestionType.MULTIPLE else forms.RadioSelect
            )
            self.fields["choices"] = field_class(
                label=_("Answer"),
                choices=options,
                required=False,
                widget=widget(attrs={"class": "form-check-input"}),
            )
            for choice in question.choices:
                if choice.specify:
                    self.fields[f"specify_{choice.code}"] = forms.CharField(
                        label=_("Please specify (%(label)s)")
                        % {"label": labels.get(choice.code, choice.label)},
                        required=False,
                        max_length=500,
                        widget=forms.TextInput(attrs={"class": "form-control"}),
                    )
        elif kind == QuestionType.NPS:
            self.fields["number"] = forms.ChoiceField(
                label=_("Answer"),
                choices=[(str(n), str(n)) for n in range(11)],
                required=False,
                widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
            )
        elif kind == QuestionType.NUMBER:
            attrs = {"class": "form-control", "step": "any"}
            if question.min_value is not None:
                attrs["min"] = str(question.min_value.normalize())
            if question.max_value is not None:
                attrs["max"] = str(question.max_value.normalize())
            self.fields["number"] = forms.DecimalField(
                label=_("Answer"),
                required=False,
                widget=forms.NumberInput(attrs=attrs),
                error_messages={"invalid": _("Enter a number.")},
            )
        elif kind == QuestionType.TEXT:
            self.fields["text"] = forms.CharField(
                label=_("Answer"),
                required=False,
                widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
            )
        specials = []
        if question.allow_dont_know and kind != QuestionType.STATEMENT:
            specials.append((Special.DONT_KNOW.value, Special.DONT_KNOW.label))
        if question.allow_refused and kind != QuestionType.STATEMENT:
            specials.append((Special.REFUSED.value, Special.REFUSED.label))
        if specials:
            self.fields[self.SPECIAL_FIELD] = forms.ChoiceField(
                label=_("Or"),
                choices=specials,
                required=False,
                widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
            )
        if initial_value is not None and not self.is_bound:
            self.initial.update(self._initial_from(initial_value))

    def _initial_from(self, value: AnswerValue) -> dict:
        initial: dict = {}
        if "choices" in self.fields:
            codes = [str(c) for c in sorted(value.choices)]
            initial["choices"] = (
                codes if self.question.type == QuestionType.MULTIPLE else (codes or [""])[0]
            )
            for code, text in value.specify:
                initial[f"specify_{code}"] = text
        if "number" in self.fields and value.number is not None:
            number = value.number.normalize()
            initial["number"] = format(number, "f")
        if "text" in self.fields:
            initial["text"] = value.text
        if self.SPECIAL_FIELD in self.fields:
            initial[self.SPECIAL_FIELD] = value.special
        return initial

    def answer_fields(self):
        return [self[name] for name in ("choices", "number", "text") if name in self.fields]

    def specify_fields(self):
        return [self[name] for name in self.fields if name.startswith("specify_")]

    def value(self) -> AnswerValue:
        """The answer as the engine sees it; call after is_valid()."""
        data = self.cleaned_data
        special = data.get(self.SPECIAL_FIELD) or ""
        raw = data.get("choices") or []
        if isinstance(raw, str):
            raw = [raw] if raw else []
        codes = frozenset(int(c) for c in raw)
        specify = tuple(
            sorted(
                (code, (data.get(f"specify_{code}") or "").strip())
                for code in codes
                if (data.get(f"specify_{code}") or "").strip()
            )
        )
        number = data.get("number")
        if isinstance(number, str):
            number = Decimal(number) if number else None
        return AnswerValue(
            choices=codes,
            number=number,
            text=(data.get("text") or "").strip(),
            special=special,
            specify=specify,
        )

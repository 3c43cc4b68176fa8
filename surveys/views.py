"""The questionnaire designer: the list, the four parts and the body of a version, its
questions, choices and skip rules, the checker and publishing, the preview, and Excel.

Who may do what: outbound administrators design every questionnaire; requesters create
questionnaires and edit the ones they created. Everyone signed in sees the published
versions and their preview; a draft is seen only by those who may edit it (others get 404).
Writes by someone who may see but not edit get 403."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.audit import AuditAction, audit_record
from accounts.roles import Role
from config.downloads import download_name
from surveys import checker, excel, selectors, services
from surveys.display import answer_text
from surveys.engine import (
    AnswerValue,
    End,
    Outcome,
    QuestionSpec,
    Script,
    answer_validate,
    script_build,
    walk,
)
from surveys.forms import (
    PART_FORMS,
    AnswerForm,
    ChoiceForm,
    ChoiceFormSet,
    ImportForm,
    MoveForm,
    PresetForm,
    QuestionAddForm,
    QuestionForm,
    QuestionnaireForm,
    RuleForm,
    SettingsForm,
    part_initial,
    plain_number,
)
from surveys.hooks import version_usage
from surveys.models import (
    Choice,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    QuestionType,
    Rule,
    VersionStatus,
)
from surveys.placeholders import (
    CALL_PLACEHOLDERS,
    CONTACT_ATTRIBUTES,
    placeholders_fill,
)
from surveys.presets import PRESET_HELP, Preset

PARTS = ("greeting", "transition", "closing")
CALLER_NUMBER_SAMPLE = "0731-10086"

# --- who may do what ---------------------------------------------------------------------


def can_design(user) -> bool:
    return user.has_role(Role.OUTBOUND_ADMIN, Role.REQUESTER)


def can_edit(user, questionnaire: Questionnaire) -> bool:
    if user.has_role(Role.OUTBOUND_ADMIN):
        return True
    return user.has_role(Role.REQUESTER) and questionnaire.created_by_id == user.pk


def _visible_filter(user) -> Q | None:
    """Which versions the user may see; None means all of them."""
    if user.has_role(Role.OUTBOUND_ADMIN):
        return None
    visible = Q(status=VersionStatus.PUBLISHED)
    if user.has_role(Role.REQUESTER):
        visible |= Q(questionnaire__created_by=user)
    return visible


def _visible_versions(user) -> QuerySet[QuestionnaireVersion]:
    versions = QuestionnaireVersion.objects.select_related("questionnaire")
    visible = _visible_filter(user)
    return versions if visible is None else versions.filter(visible)


def _version_or_404(request, pk: int) -> QuestionnaireVersion:
    return get_object_or_404(_visible_versions(request.user), pk=pk)


def _check_version_visible(request, version: QuestionnaireVersion) -> None:
    if not (version.is_published or can_edit(request.user, version.questionnaire)):
        raise Http404(_("No such questionnaire."))


def _require_edit(request, questionnaire: Questionnaire) -> None:
    if not can_edit(request.user, questionnaire):
        raise PermissionDenied(_("You may not change this questionnaire."))


def _require_design(request) -> None:
    if not can_design(request.user):
        raise PermissionDenied(
            _("Only outbound administrators and requesters can design questionnaires.")
        )


def _published(request, version: QuestionnaireVersion, url: str):
    """A published version takes no changes: say so and go back, rather than show a form
    whose every save would fail."""
    if not version.is_published:
        return None
    messages.error(
        request,
        _("This version is published and can no longer be changed; start a new draft instead."),
    )
    return redirect(url)


def _question_or_404(request, pk: int) -> Question:
    question = get_object_or_404(Question.objects.select_related("version__questionnaire"), pk=pk)
    _check_version_visible(request, question.version)
    return question


def _choice_or_404(request, pk: int) -> Choice:
    choice = get_object_or_404(
        Choice.objects.select_related("question__version__questionnaire"), pk=pk
    )
    _check_version_visible(request, choice.question.version)
    return choice


def _rule_or_404(request, pk: int) -> Rule:
    rule = get_object_or_404(Rule.objects.select_related("question__version__questionnaire"), pk=pk)
    _check_version_visible(request, rule.question.version)
    return rule


# --- small helpers -----------------------------------------------------------------------


def _at(url: str, anchor: str = "") -> str:
    return f"{url}#{anchor}" if anchor else url


def _designer_url(version: QuestionnaireVersion, anchor: str = "") -> str:
    return _at(reverse("surveys:version_detail", args=[version.pk]), anchor)


def _question_url(question: Question, anchor: str = "") -> str:
    return _at(reverse("surveys:question_edit", args=[question.pk]), anchor)


def _form_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on a field when it names one."""
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _error_message(request, error: ValidationError) -> None:
    for text in error.messages:
        messages.error(request, text)


def _form_messages(request, form) -> None:
    """A form's errors as messages, for a post whose page shows another form (a single
    choice's, now that the page edits them all together)."""
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        for text in errors:
            if label:
                text = _("%(field)s: %(error)s") % {"field": label, "error": text}
            messages.error(request, text)


def _findings_by_location(findings: list[checker.Finding]) -> dict[str, list[checker.Finding]]:
    grouped: dict[str, list[checker.Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.location, []).append(finding)
    return grouped


# --- the list ----------------------------------------------------------------------------


@require_GET
def questionnaire_list(request):
    user = request.user
    questionnaires = selectors.questionnaire_list()
    visible = _visible_filter(user)
    if visible is not None:
        questionnaires = questionnaires.filter(
            pk__in=QuestionnaireVersion.objects.filter(visible).values("questionnaire_id")
        )
    rows = []
    for questionnaire in questionnaires:
        editable = can_edit(user, questionnaire)
        versions = [v for v in questionnaire.version_list if editable or v.is_published]
        rows.append({"questionnaire": questionnaire, "versions": versions, "editable": editable})
    usage = version_usage((v.pk for row in rows for v in row["versions"]), user=user)
    for row in rows:
        row["version_rows"] = [(v, usage.get(v.pk, [])) for v in row["versions"]]
    return render(
        request,
        "surveys/questionnaire_list.html",
        {"rows": rows, "can_design": can_design(user)},
    )


@require_http_methods(["GET", "POST"])
def questionnaire_create(request):
    _require_design(request)
    form = QuestionnaireForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.questionnaire_create(**form.cleaned_data, created_by=request.user)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(
                request,
                _("Questionnaire “%(name)s” is created. Fill in its four parts.")
                % {"name": version.questionnaire.name},
            )
            return redirect(_designer_url(version))
    return render(
        request, "surveys/questionnaire_form.html", {"form": form, "import_form": ImportForm()}
    )


@require_GET
def questionnaire_detail(request, pk: int):
    """The questionnaire's current version: the draft when the user may edit it, else the
    latest published one."""
    questionnaire = get_object_or_404(Questionnaire, pk=pk)
    versions = _visible_versions(request.user).filter(questionnaire=questionnaire)
    version = (
        versions.filter(status=VersionStatus.DRAFT).first() or versions.order_by("-number").first()
    )
    if version is None:
        raise Http404(_("No such questionnaire."))
    return redirect(_designer_url(version))


@require_POST
def questionnaire_new_draft(request, pk: int):
    questionnaire = get_object_or_404(Questionnaire, pk=pk)
    if not _visible_versions(request.user).filter(questionnaire=questionnaire).exists():
        raise Http404(_("No such questionnaire."))
    _require_edit(request, questionnaire)
    try:
        version = services.version_new_draft(questionnaire=questionnaire, created_by=request.user)
    except ValidationError as error:
        draft = selectors.version_draft(questionnaire=questionnaire)
        _error_message(request, error)
        if draft is not None:
            return redirect(_designer_url(draft))
        return redirect("surveys:questionnaire_detail", pk=questionnaire.pk)
    messages.success(
        request,
        _("Version %(number)s is a new draft copied from the published version. Edit it here.")
        % {"number": version.number},
    )
    return redirect(_designer_url(version))


# --- one version: the designer -----------------------------------------------------------


def _placeholder_names(version: QuestionnaireVersion) -> list[str]:
    names = [*CALL_PLACEHOLDERS, *CONTACT_ATTRIBUTES, *(version.extra_placeholders or [])]
    return ["{" + name + "}" for name in dict.fromkeys(names)]


def _decorate(questions: list[Question], by_location: dict) -> None:
    """Attach what the templates show beside each question and rule."""
    for question in questions:
        question.findings = by_location.get(question.code, [])
        question.has_error = any(f.is_error for f in question.findings)
        question.min_text = plain_number(question.min_value)
        question.max_text = plain_number(question.max_value)
        for rule in question.rules.all():
            rule.min_text = plain_number(rule.min_value)
            rule.max_text = plain_number(rule.max_value)
            rule.jumps_back = rule.target is not None and rule.target.position <= question.position


def _header_context(request, version: QuestionnaireVersion) -> dict:
    questionnaire = version.questionnaire
    may_edit = can_edit(request.user, questionnaire)
    versions = list(
        _visible_versions(request.user).filter(questionnaire=questionnaire).order_by("-number")
    )
    return {
        "version": version,
        "questionnaire": questionnaire,
        "versions": versions,
        "has_draft": any(not v.is_published for v in versions),
        "editable": not version.is_published and may_edit,
        "can_edit_questionnaire": may_edit,
        "can_design": can_design(request.user),
    }


PART_TEXT = {
    "greeting": (
        gettext_lazy("1. Greeting"),
        gettext_lazy("greeting"),
        gettext_lazy("Greet the customer and introduce the caller."),
    ),
    "transition": (
        gettext_lazy("2. Transition"),
        gettext_lazy("transition"),
        gettext_lazy(
            "The purpose of the call, how long it will take, and whether it costs the customer "
            "anything or earns a reward."
        ),
    ),
    "closing": (
        gettext_lazy("4. Closing"),
        gettext_lazy("closing"),
        gettext_lazy("A summary of what the customer said, thanks, and good wishes."),
    ),
}


def _designer_context(request, version: QuestionnaireVersion, forms: dict | None = None) -> dict:
    forms = forms or {}
    context = _header_context(request, version)
    editable = context["editable"]
    questions = list(selectors.version_questions(version=version))
    findings = checker.check_version(version) if not version.is_published else []
    by_location = _findings_by_location(findings)
    _decorate(questions, by_location)
    parts = []
    for key in PARTS:
        title, name, hint = PART_TEXT[key]
        form_class = PART_FORMS[key]
        part_findings = by_location.get(key, [])
        parts.append(
            {
                "key": key,
                "title": title,
                "name": name,
                "hint": hint,
                "findings": part_findings,
                "errors": any(f.is_error for f in part_findings),
                "form": (
                    forms.get(key) or form_class(initial=part_initial(version, key), prefix=key)
                    if editable
                    else None
                ),
                "values": [
                    (form_class.base_fields[name].label, getattr(version, name))
                    for name in form_class.base_fields
                ],
            }
        )
    part_forms = {}
    if editable:
        part_forms["settings"] = forms.get("settings") or SettingsForm(
            initial=SettingsForm.initial_for(version), prefix="settings"
        )
    context.update(
        {
            "questions": questions,
            "parts": parts,
            "part_forms": part_forms,
            "add_form": forms.get("add") or QuestionAddForm(prefix="add"),
            "findings": by_location,
            "error_count": sum(1 for f in findings if f.is_error),
            "warning_count": sum(1 for f in findings if not f.is_error),
            "placeholders": _placeholder_names(version),
        }
    )
    return context


@require_GET
def version_detail(request, pk: int):
    version = _version_or_404(request, pk)
    return render(request, "surveys/version_detail.html", _designer_context(request, version))


@require_POST
def version_parts(request, pk: int, part: str):
    version = _version_or_404(request, pk)
    _require_edit(request, version.questionnaire)
    if refused := _published(request, version, _designer_url(version)):
        return refused
    if part == "settings":
        form = SettingsForm(request.POST, prefix=part)
    elif part in PARTS:
        form = PART_FORMS[part](request.POST, prefix=part)
    else:
        raise Http404(_("No such part."))
    if form.is_valid():
        data = dict(form.cleaned_data)
        name = data.pop("name", None)
        try:
            services.version_update_parts(version=version, **data)
            if name is not None and name != version.questionnaire.name:
                services.questionnaire_rename(questionnaire=version.questionnaire, name=name)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("Your changes are saved."))
            return redirect(_designer_url(version, f"part-{part}"))
    messages.error(request, _("Please correct the errors below."))
    context = _designer_context(request, version, {part: form})
    context["focus"] = f"part-{part}"
    return render(request, "surveys/version_detail.html", context)


@require_POST
def question_add(request, pk: int):
    version = _version_or_404(request, pk)
    _require_edit(request, version.questionnaire)
    if refused := _published(request, version, _designer_url(version)):
        return refused
    form = QuestionAddForm(request.POST, prefix="add")
    if form.is_valid():
        try:
            question = services.question_add(version=version, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            if question.has_choices:
                note = _("Question %(code)s is added with its answer choices; check them below.")
                if question.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
                    note = _("Question %(code)s is added. Now add its answer choices.")
            else:
                note = _("Question %(code)s is added.")
            messages.success(request, note % {"code": question.code})
            return redirect(_question_url(question))
    messages.error(request, _("The question was not added; see the errors below."))
    context = _designer_context(request, version, {"add": form})
    context["focus"] = "add-question"
    return render(request, "surveys/version_detail.html", context)


@require_GET
def version_check(request, pk: int):
    version = _version_or_404(request, pk)
    findings = checker.check_version(version)
    questions = list(Question.objects.filter(version=version).order_by("position", "pk"))
    context = _header_context(request, version)
    context.update(
        {
            "groups": _finding_groups(version, questions, findings, context["editable"]),
            "error_count": sum(1 for f in findings if f.is_error),
            "warning_count": sum(1 for f in findings if not f.is_error),
        }
    )
    return render(request, "surveys/version_check.html", context)


@dataclass
class FindingGroup:
    title: str
    url: str
    findings: list = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.is_error)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if not f.is_error)


def _finding_groups(version, questions, findings, editable: bool) -> list[FindingGroup]:
    """Findings grouped in script order: settings, greeting, transition, body, each question,
    closing; every group links to the place where it is fixed."""
    groups: OrderedDict[str, FindingGroup] = OrderedDict()
    part_titles = {
        checker.PART_SETTINGS: _("Settings"),
        checker.PART_GREETING: _("1. Greeting"),
        checker.PART_TRANSITION: _("2. Transition"),
        checker.PART_BODY: _("3. Body"),
    }
    for part, title in part_titles.items():
        groups[part] = FindingGroup(title, _designer_url(version, f"part-{part}"))
    for question in questions:
        url = _question_url(question) if editable else _designer_url(version, f"q-{question.pk}")
        groups.setdefault(
            question.code,
            FindingGroup(_("Question %(code)s") % {"code": question.code}, url),
        )
    groups[checker.PART_CLOSING] = FindingGroup(
        _("4. Closing"), _designer_url(version, f"part-{checker.PART_CLOSING}")
    )
    for finding in findings:
        group = groups.get(finding.location)
        if group is None:
            group = groups.setdefault(
                finding.location,
                FindingGroup(
                    _("Question %(code)s") % {"code": finding.location},
                    _designer_url(version, "part-body"),
                ),
            )
        group.findings.append(finding)
    return [g for g in groups.values() if g.findings]


@require_POST
def version_publish(request, pk: int):
    version = _version_or_404(request, pk)
    _require_edit(request, version.questionnaire)
    try:
        warnings = services.version_publish(version=version, published_by=request.user)
    except services.PublishBlocked as blocked:
        errors = sum(1 for f in blocked.findings if f.is_error)
        messages.error(
            request,
            ngettext(
                "Not published: the checker found %(count)d error. Fix it and publish again.",
                "Not published: the checker found %(count)d errors. Fix them and publish again.",
                errors,
            )
            % {"count": errors},
        )
        return redirect("surveys:version_check", pk=version.pk)
    except ValidationError as error:
        _error_message(request, error)
        return redirect(_designer_url(version))
    if warnings:
        messages.warning(
            request,
            ngettext(
                "Version %(number)s is published, with %(count)d warning to consider.",
                "Version %(number)s is published, with %(count)d warnings to consider.",
                len(warnings),
            )
            % {"number": version.number, "count": len(warnings)},
        )
    else:
        messages.success(
            request, _("Version %(number)s is published.") % {"number": version.number}
        )
    return redirect(_designer_url(version))


@require_POST
def version_discard(request, pk: int):
    version = _version_or_404(request, pk)
    questionnaire = version.questionnaire
    _require_edit(request, questionnaire)
    if not questionnaire.versions.exclude(pk=version.pk).exists():
        messages.error(
            request,
            _("This is the questionnaire's only version; it cannot be discarded."),
        )
        return redirect(_designer_url(version))
    try:
        services.version_discard(version=version)
    except ValidationError as error:
        _error_message(request, error)
        return redirect(_designer_url(version))
    messages.success(request, _("The draft is discarded."))
    return redirect("surveys:questionnaire_detail", pk=questionnaire.pk)


@require_POST
def version_copy(request, pk: int):
    version = _version_or_404(request, pk)
    _require_design(request)
    try:
        copy = services.questionnaire_copy(
            questionnaire=version.questionnaire, version=version, created_by=request.user
        )
    except ValidationError as error:
        _error_message(request, error)
        return redirect(_designer_url(version))
    messages.success(
        request,
        _("“%(name)s” is a new questionnaire copied from version %(number)s.")
        % {"name": copy.questionnaire.name, "number": version.number},
    )
    return redirect(_designer_url(copy))


# --- questions ---------------------------------------------------------------------------


def _question_context(request, question: Question, forms: dict) -> dict:
    version = question.version
    context = _header_context(request, version)
    editable = context["editable"]
    question = selectors.version_questions(version=version).get(pk=question.pk)
    findings = checker.check_version(version) if not version.is_published else []
    _decorate([question], _findings_by_location(findings))
    choices = list(question.choices.all())
    rules = list(question.rules.all())
    context.update(
        {
            "question": question,
            "choices": choices,
            "rules": rules,
            "preset_help": PRESET_HELP,
            "placeholders": _placeholder_names(version),
        }
    )
    if not editable:
        return context
    context["form"] = forms.get("question") or QuestionForm(
        initial=QuestionForm.initial_for(question), prefix="q"
    )
    context["choice_formset"] = forms.get("choices") or ChoiceFormSet(
        initial=ChoiceFormSet.initial_for(choices), prefix="choices"
    )
    context["preset_form"] = PresetForm()
    rule_rows = []
    for rule in rules:
        key = f"rule-{rule.pk}"
        form = forms.get(key) or RuleForm(
            initial=RuleForm.initial_for(rule), prefix=key, question=question, rule=rule
        )
        rule_rows.append({"rule": rule, "form": form})
    context["rule_rows"] = rule_rows
    context["rule_add_form"] = forms.get("rule-add") or RuleForm(
        prefix="rule-add", question=question
    )
    return context


def _question_page(request, question: Question, focus: str = "", forms: dict | None = None):
    context = _question_context(request, question, forms or {})
    context["focus"] = focus
    return render(request, "surveys/question_edit.html", context)


@require_http_methods(["GET", "POST"])
def question_edit(request, pk: int):
    question = _question_or_404(request, pk)
    if request.method == "GET":
        return _question_page(request, question)
    _require_edit(request, question.version.questionnaire)
    if refused := _published(request, question.version, _question_url(question)):
        return refused
    form = QuestionForm(request.POST, prefix="q")
    if form.is_valid():
        try:
            services.question_update(question=question, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(
                request, _("Question %(code)s is saved.") % {"code": form.cleaned_data["code"]}
            )
            return redirect(_question_url(question, "question"))
    messages.error(request, _("The question was not saved; see the errors below."))
    return _question_page(request, question, "question", {"question": form})


@require_POST
def question_move(request, pk: int):
    question = _question_or_404(request, pk)
    _require_edit(request, question.version.questionnaire)
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to move the question up or down."))
    else:
        try:
            services.question_move(question=question, **form.move_args())
        except ValidationError as error:
            _error_message(request, error)
    return redirect(_designer_url(question.version, f"q-{question.pk}"))


@require_POST
def question_duplicate(request, pk: int):
    question = _question_or_404(request, pk)
    _require_edit(request, question.version.questionnaire)
    try:
        copy = services.question_duplicate(question=question)
    except ValidationError as error:
        _error_message(request, error)
        return redirect(_designer_url(question.version, f"q-{question.pk}"))
    messages.success(
        request,
        _("Question %(code)s is a copy of %(source)s, placed right after it.")
        % {"code": copy.code, "source": question.code},
    )
    return redirect(_designer_url(question.version, f"q-{copy.pk}"))


@require_POST
def question_delete(request, pk: int):
    question = _question_or_404(request, pk)
    version = question.version
    _require_edit(request, version.questionnaire)
    neighbour = (
        Question.objects.filter(version=version, position__lt=question.position)
        .order_by("-position")
        .first()
    )
    try:
        result = services.question_delete(question=question)
    except ValidationError as error:
        _error_message(request, error)
        return redirect(_designer_url(version, f"q-{question.pk}"))
    messages.success(request, result.message)
    return redirect(_designer_url(version, f"q-{neighbour.pk}" if neighbour else "part-body"))


@require_POST
def question_preset(request, pk: int):
    question = _question_or_404(request, pk)
    _require_edit(request, question.version.questionnaire)
    form = PresetForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the answer scales."))
        return redirect(_question_url(question, "choices"))
    try:
        services.question_apply_preset(question=question, preset=form.cleaned_data["preset"])
    except ValidationError as error:
        _error_message(request, error)
    else:
        messages.success(
            request,
            _("The choices of %(code)s are replaced by the scale “%(scale)s”.")
            % {"code": question.code, "scale": Preset(form.cleaned_data["preset"]).label},
        )
    return redirect(_question_url(question, "choices"))


# --- choices -----------------------------------------------------------------------------


@require_POST
def choice_add(request, pk: int):
    question = _question_or_404(request, pk)
    _require_edit(request, question.version.questionnaire)
    if refused := _published(request, question.version, _question_url(question)):
        return refused
    form = ChoiceForm(request.POST, prefix="choice-add")
    if form.is_valid():
        try:
            choice = services.choice_add(question=question, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("Choice “%(label)s” is added.") % {"label": choice.label})
            return redirect(_question_url(question, "choices"))
    _form_messages(request, form)
    return redirect(_question_url(question, "choices"))


@require_POST
def question_choices(request, pk: int):
    """All the question's choices saved at once: labels and codes changed, choices added,
    moved and deleted in one form."""
    question = _question_or_404(request, pk)
    _require_edit(request, question.version.questionnaire)
    if refused := _published(request, question.version, _question_url(question)):
        return refused
    current = list(question.choices.order_by("position"))
    formset = ChoiceFormSet(
        request.POST, initial=ChoiceFormSet.initial_for(current), prefix="choices"
    )
    if formset.is_valid():
        try:
            saved = services.question_choices_save(question=question, rows=formset.rows())
        except services.ChoicesInvalid as error:
            for key, fields in error.rows.items():
                form = formset.forms[key]
                for field, texts in fields.items():
                    for text in texts:
                        form.add_error(field, text)
        except ValidationError as error:
            _error_message(request, error)
            return redirect(_question_url(question, "choices"))
        else:
            messages.success(request, _("The choices are saved."))
            if saved.rules_named:
                messages.warning(
                    request,
                    ngettext(
                        "%(count)d skip rule tested a deleted choice; check it below.",
                        "%(count)d skip rules tested a deleted choice; check them below.",
                        saved.rules_named,
                    )
                    % {"count": saved.rules_named},
                )
                return redirect(_question_url(question, "rules"))
            return redirect(_question_url(question, "choices"))
    messages.error(request, _("The choices were not saved; see the errors below."))
    return _question_page(request, question, "choices", {"choices": formset})


@require_POST
def choice_edit(request, pk: int):
    choice = _choice_or_404(request, pk)
    question = choice.question
    _require_edit(request, question.version.questionnaire)
    if refused := _published(request, question.version, _question_url(question)):
        return refused
    key = f"choice-{choice.pk}"
    form = ChoiceForm(request.POST, prefix=key, code_required=True)
    if form.is_valid():
        try:
            services.choice_update(choice=choice, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("Choice %(code)s is saved.") % {"code": choice.code})
            return redirect(_question_url(question, f"c-{choice.pk}"))
    _form_messages(request, form)
    return redirect(_question_url(question, f"c-{choice.pk}"))


@require_POST
def choice_move(request, pk: int):
    choice = _choice_or_404(request, pk)
    _require_edit(request, choice.question.version.questionnaire)
    form = MoveForm(request.POST)
    if form.is_valid():
        try:
            services.choice_move(choice=choice, **form.move_args())
        except ValidationError as error:
            _error_message(request, error)
    else:
        messages.error(request, _("Choose to move the choice up or down."))
    return redirect(_question_url(choice.question, f"c-{choice.pk}"))


@require_POST
def choice_delete(request, pk: int):
    choice = _choice_or_404(request, pk)
    question = choice.question
    _require_edit(request, question.version.questionnaire)
    try:
        named = services.choice_delete(choice=choice)
    except ValidationError as error:
        _error_message(request, error)
        return redirect(_question_url(question, f"c-{choice.pk}"))
    messages.success(request, _("Choice “%(label)s” is deleted.") % {"label": choice.label})
    if named:
        messages.warning(
            request,
            ngettext(
                "%(count)d skip rule tested this choice; check it below.",
                "%(count)d skip rules tested this choice; check them below.",
                named,
            )
            % {"count": named},
        )
        return redirect(_question_url(question, "rules"))
    return redirect(_question_url(question, "choices"))


# --- skip rules --------------------------------------------------------------------------


def _rule_arguments(data: dict) -> dict:
    return {
        "condition": data["condition"],
        "action": data["action"],
        "choices": list(data.get("choices") or []),
        "min_value": data.get("min_value"),
        "max_value": data.get("max_value"),
        "special": data.get("special") or "",
        "target": data.get("target"),
    }


@require_POST
def rule_add(request, pk: int):
    question = _question_or_404(request, pk)
    _require_edit(request, question.version.questionnaire)
    if refused := _published(request, question.version, _question_url(question)):
        return refused
    form = RuleForm(request.POST, prefix="rule-add", question=question)
    if form.is_valid():
        try:
            rule = services.rule_add(question=question, **_rule_arguments(form.cleaned_data))
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("The skip rule is added."))
            return redirect(_question_url(question, f"r-{rule.pk}"))
    messages.error(request, _("The skip rule was not added; see the errors below."))
    return _question_page(request, question, "rule-add", {"rule-add": form})


@require_POST
def rule_edit(request, pk: int):
    rule = _rule_or_404(request, pk)
    question = rule.question
    _require_edit(request, question.version.questionnaire)
    if refused := _published(request, question.version, _question_url(question)):
        return refused
    key = f"rule-{rule.pk}"
    form = RuleForm(request.POST, prefix=key, question=question, rule=rule)
    if form.is_valid():
        try:
            services.rule_update(rule=rule, **_rule_arguments(form.cleaned_data))
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("The skip rule is saved."))
            return redirect(_question_url(question, f"r-{rule.pk}"))
    messages.error(request, _("The skip rule was not saved; see the errors below."))
    return _question_page(request, question, f"r-{rule.pk}", {key: form})


@require_POST
def rule_move(request, pk: int):
    rule = _rule_or_404(request, pk)
    _require_edit(request, rule.question.version.questionnaire)
    form = MoveForm(request.POST)
    if form.is_valid():
        try:
            services.rule_move(rule=rule, **form.move_args())
        except ValidationError as error:
            _error_message(request, error)
    else:
        messages.error(request, _("Choose to move the rule up or down."))
    return redirect(_question_url(rule.question, f"r-{rule.pk}"))


@require_POST
def rule_delete(request, pk: int):
    rule = _rule_or_404(request, pk)
    _require_edit(request, rule.question.version.questionnaire)
    try:
        services.rule_delete(rule=rule)
    except ValidationError as error:
        _error_message(request, error)
    else:
        messages.success(request, _("The skip rule is deleted."))
    return redirect(_question_url(rule.question, "rules"))


# --- the preview -------------------------------------------------------------------------

PREVIEW_SALT = "surveys.preview"


# An honorific the script writes itself beside the customer's name: 王{customer_name}女士 would
# read 王女士女士 with a sample that carries one too.
_HONORIFIC_AFTER = re.compile(r"\{customer_name\}\s*(先生|女士|小姐|老师|同志|阿姨|师傅)")
_HONORIFIC_BEFORE = re.compile(r"\b(Mr|Mrs|Ms|Miss|Mx|Dr|Sir|Madam)\.?\s*\{customer_name\}", re.I)


def _script_adds_honorific(version: QuestionnaireVersion) -> bool:
    texts = [str(getattr(version, name) or "") for name in version.PART_FIELDS]
    texts += version.questions.values_list("text", flat=True)
    return any(
        _HONORIFIC_AFTER.search(text) or _HONORIFIC_BEFORE.search(text)
        for text in texts
        if "{customer_name}" in text
    )


def _sample_values(request, version: QuestionnaireVersion) -> dict[str, str]:
    user = request.user
    values = {
        # The name as a contact list holds it; with an honorific when the script has none.
        "customer_name": _("Wang") if _script_adds_honorific(version) else _("Ms Wang"),
        "agent_name": str(user),
        "agent_no": user.agent_no or "1001",
        "caller_number": CALLER_NUMBER_SAMPLE,
        "brand": _("GoTone"),
        "region": _("Changsha"),
        "segment": _("Home broadband"),
    }
    for name in version.extra_placeholders or []:
        values.setdefault(name, f"«{name}»")
    return values


def _encode_answers(started: bool, answers: dict[str, AnswerValue]) -> str:
    payload = {
        "started": started,
        "answers": {
            code: {
                "c": sorted(value.choices),
                "n": None if value.number is None else str(value.number),
                "t": value.text,
                "s": value.special,
                "x": [list(pair) for pair in value.specify],
            }
            for code, value in answers.items()
        },
    }
    return signing.dumps(payload, salt=PREVIEW_SALT, compress=True)


def _decode_answers(raw: str) -> tuple[bool, dict[str, AnswerValue]] | None:
    try:
        payload = signing.loads(raw, salt=PREVIEW_SALT)
        answers = {
            str(code): AnswerValue(
                choices=frozenset(int(c) for c in item["c"]),
                number=None if item["n"] is None else AnswerValue.of_number(item["n"]).number,
                text=str(item["t"]),
                special=str(item["s"]),
                specify=tuple((int(c), str(t)) for c, t in item["x"]),
            )
            for code, item in payload["answers"].items()
        }
        return bool(payload["started"]), answers
    except (signing.BadSignature, KeyError, TypeError, ValueError, ValidationError):
        return None


@dataclass
class PreviewQuestion:
    spec: QuestionSpec
    text: str
    instruction: str
    choices: list[tuple[int, str, str]]
    number: int
    pk: int | None = None


def _preview_question(spec: QuestionSpec, fill, number: int) -> PreviewQuestion:
    return PreviewQuestion(
        spec=spec,
        text=fill(spec.text),
        instruction=fill(spec.instruction),
        choices=[(c.code, fill(c.label), c.keypad) for c in spec.choices],
        number=number,
        pk=spec.id,
    )


@require_http_methods(["GET", "POST"])
def version_preview(request, pk: int):
    """Walk the script as an agent sees it. The answers travel in a signed hidden field, so
    the preview writes nothing and several can run side by side."""
    version = _version_or_404(request, pk)
    script = script_build(version)
    samples = _sample_values(request, version)

    def fill(text: str) -> str:
        return placeholders_fill(text, samples)

    started, answers = False, {}
    action = request.POST.get("action", "restart") if request.method == "POST" else "restart"
    if action != "restart":
        decoded = _decode_answers(request.POST.get("state", ""))
        if decoded is None:
            messages.warning(request, _("The preview could not be resumed; it starts again."))
            action = "restart"
        else:
            started, answers = decoded
    form = None
    prefill: AnswerValue | None = None
    if action == "start":
        started = True
    elif action == "back":
        started, answers, prefill = _preview_back(script, started, answers)
    elif action == "answer" and started:
        result = walk(script, answers)
        current = result.current
        if current is not None and request.POST.get("question") == current:
            spec = script.question(current)
            form = AnswerForm(request.POST, question=spec, labels=_labels(spec, fill))
            if form.is_valid():
                try:
                    clean = answer_validate(spec, form.value(), mode=script.mode)
                except ValidationError as error:
                    form.add_error(None, error.messages)
                else:
                    answers[current] = clean
                    for code in walk(script, answers).stale:
                        answers.pop(code, None)
                    form = None
    context = _header_context(request, version)
    context.update(_preview_context(version, script, started, answers, fill, form, prefill))
    context["samples"] = [("{" + name + "}", value) for name, value in samples.items()]
    return render(request, "surveys/version_preview.html", context)


def _labels(spec: QuestionSpec, fill) -> dict[int, str]:
    return {c.code: fill(c.label) for c in spec.choices}


def _preview_back(script: Script, started: bool, answers: dict[str, AnswerValue]):
    """One step back: the last answered question is asked again, its answer shown."""
    if not started:
        return False, answers, None
    result = walk(script, answers)
    previous = result.previous(result.current) if result.current else None
    if result.current is None and result.path:
        previous = result.path[-1]
    if previous is None:
        return False, answers, None
    value = answers.pop(previous, None)
    return True, answers, value


def _preview_context(version, script, started, answers, fill, form, prefill) -> dict:
    parts = script.parts
    result = walk(script, answers)
    asked = [
        {
            "question": _preview_question(script.question(code), fill, i),
            "answer": answer_text(script.question(code), answers[code], fill),
        }
        for i, code in enumerate(result.answered, start=1)
    ]
    current = None
    if started and result.current is not None:
        spec = script.question(result.current)
        current = _preview_question(spec, fill, len(asked) + 1)
        if form is None:
            form = AnswerForm(question=spec, labels=_labels(spec, fill), initial_value=prefill)
    if not started:
        stage = "opening"
    elif current is not None:
        stage = "question"
    elif result.outcome == Outcome.SCREENED_OUT:
        stage = "screen_out"
    else:
        stage = "closing"
    return {
        "version": version,
        "questionnaire": version.questionnaire,
        "stage": stage,
        "greeting": [fill(parts.greeting_salutation), fill(parts.greeting_introduction)],
        "transition": [fill(parts.transition_purpose), fill(parts.transition_cost)],
        "duration": parts.transition_duration_minutes,
        "closing": [
            fill(parts.closing_summary),
            fill(parts.closing_thanks),
            fill(parts.closing_wishes),
        ],
        "asked": asked,
        "current": current,
        "form": form,
        "state": _encode_answers(started, answers),
        "end": End,
        "question_count": len(script.questions),
    }


# --- Excel -------------------------------------------------------------------------------


@require_GET
def version_export(request, pk: int):
    version = _version_or_404(request, pk)
    content = excel.version_export_xlsx(version=version)
    response = HttpResponse(content, content_type=excel.XLSX_CONTENT_TYPE)
    filename = download_name(f"{version.questionnaire.name} v{version.number}", ".xlsx")
    audit_record(
        user=request.user, action=AuditAction.QUESTIONNAIRE_EXPORT, target=version, request=request
    )
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@require_GET
def questionnaire_template(request):
    """An empty workbook to fill in and import, with its instructions."""
    _require_design(request)
    response = HttpResponse(excel.blank_template_xlsx(), content_type=excel.XLSX_CONTENT_TYPE)
    filename = download_name(_("Questionnaire template"), ".xlsx")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def _import(request, form: ImportForm, questionnaire: Questionnaire | None):
    """Import the uploaded workbook; on bad rows show them all, with nothing imported."""
    problems: list = []
    if form.is_valid():
        try:
            version = excel.version_import_xlsx(
                file=form.cleaned_data["file"],
                questionnaire=questionnaire,
                created_by=request.user,
            )
        except excel.ImportRejected as rejected:
            problems = rejected.problems
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(
                request,
                _("The workbook is imported as draft version %(number)s of “%(name)s”.")
                % {"number": version.number, "name": version.questionnaire.name},
            )
            return redirect(_designer_url(version))
    return render(
        request,
        "surveys/import_result.html",
        {"form": form, "problems": problems, "questionnaire": questionnaire},
    )


@require_http_methods(["GET", "POST"])
def questionnaire_import(request):
    """A workbook becomes a new questionnaire."""
    _require_design(request)
    if request.method == "GET":
        return render(
            request,
            "surveys/import_result.html",
            {"form": ImportForm(), "problems": [], "questionnaire": None},
        )
    return _import(request, ImportForm(request.POST, request.FILES), None)


@require_POST
def questionnaire_import_version(request, pk: int):
    """A workbook becomes the next draft version of an existing questionnaire."""
    questionnaire = get_object_or_404(Questionnaire, pk=pk)
    if not _visible_versions(request.user).filter(questionnaire=questionnaire).exists():
        raise Http404(_("No such questionnaire."))
    _require_edit(request, questionnaire)
    return _import(request, ImportForm(request.POST, request.FILES), questionnaire)

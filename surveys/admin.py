from django.contrib import admin

from surveys.models import (
    Answer,
    AnswerChoice,
    Choice,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    Rule,
)


class VersionInline(admin.TabularInline):
    model = QuestionnaireVersion
    fields = ("number", "status", "mode", "kind", "published_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False


@admin.register(Questionnaire)
class QuestionnaireAdmin(admin.ModelAdmin):
    list_display = ("name", "language", "created_by", "created_at")
    list_filter = ("language",)
    search_fields = ("name",)
    inlines = [VersionInline]
    raw_id_fields = ("created_by",)


class QuestionInline(admin.TabularInline):
    model = Question
    fields = ("position", "code", "type", "text", "required")
    extra = 0
    show_change_link = True


@admin.register(QuestionnaireVersion)
class QuestionnaireVersionAdmin(admin.ModelAdmin):
    list_display = ("questionnaire", "number", "status", "mode", "kind", "published_at")
    list_filter = ("status", "mode", "kind")
    search_fields = ("questionnaire__name",)
    list_select_related = ("questionnaire",)
    raw_id_fields = ("questionnaire", "created_by", "published_by")
    inlines = [QuestionInline]


class ChoiceInline(admin.TabularInline):
    model = Choice
    fields = ("position", "code", "label", "keypad", "exclusive", "specify")
    extra = 0


class RuleInline(admin.TabularInline):
    model = Rule
    fk_name = "question"
    fields = ("position", "condition", "min_value", "max_value", "special", "action", "target")
    raw_id_fields = ("target",)
    extra = 0


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("code", "version", "position", "type", "required")
    list_filter = ("type",)
    search_fields = ("code", "text")
    list_select_related = ("version__questionnaire",)
    raw_id_fields = ("version",)
    inlines = [ChoiceInline, RuleInline]


class AnswerChoiceInline(admin.TabularInline):
    model = AnswerChoice
    fields = ("choice", "specify_text")
    raw_id_fields = ("choice",)
    extra = 0


class AnswerInline(admin.TabularInline):
    model = Answer
    fields = ("question", "number", "text", "special", "answered_at")
    raw_id_fields = ("question",)
    extra = 0
    show_change_link = True
    can_delete = False


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ("pk", "version", "status", "started_at", "finished_at", "reference")
    list_filter = ("status",)
    search_fields = ("reference",)
    list_select_related = ("version__questionnaire",)
    raw_id_fields = ("version", "current_question", "created_by")
    inlines = [AnswerInline]


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    list_display = ("response", "question", "number", "special", "answered_at")
    raw_id_fields = ("response", "question")
    inlines = [AnswerChoiceInline]

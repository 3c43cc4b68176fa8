"""Reads across questionnaire relations, with the joins each page needs."""

from django.db.models import Count, Max, Prefetch, Q, QuerySet

from surveys.models import (
    Answer,
    AnswerChoice,
    Choice,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    Rule,
    VersionStatus,
)


def questionnaire_list() -> QuerySet[Questionnaire]:
    """Questionnaires with their versions (newest first, in `version_list`), the number of
    the latest published version and whether a draft is open."""
    versions = QuestionnaireVersion.objects.order_by("-number").annotate(
        question_count=Count("questions")
    )
    return (
        Questionnaire.objects.select_related("created_by")
        .prefetch_related(Prefetch("versions", queryset=versions, to_attr="version_list"))
        .annotate(
            latest_published=Max(
                "versions__number", filter=Q(versions__status=VersionStatus.PUBLISHED)
            ),
            draft_number=Max("versions__number", filter=Q(versions__status=VersionStatus.DRAFT)),
        )
        .order_by("name", "pk")
    )


def version_published_list() -> QuerySet[QuestionnaireVersion]:
    """Published versions, for choosing the questionnaire of a campaign."""
    return (
        QuestionnaireVersion.objects.filter(status=VersionStatus.PUBLISHED)
        .select_related("questionnaire")
        .order_by("questionnaire__name", "-number")
    )


def version_latest_published(*, questionnaire: Questionnaire) -> QuestionnaireVersion | None:
    return questionnaire.versions.filter(status=VersionStatus.PUBLISHED).order_by("-number").first()


def version_draft(*, questionnaire: Questionnaire) -> QuestionnaireVersion | None:
    return questionnaire.versions.filter(status=VersionStatus.DRAFT).first()


def version_questions(*, version: QuestionnaireVersion) -> QuerySet[Question]:
    """The body of a version in order, with choices and rules (their targets and choices)."""
    rules = (
        Rule.objects.select_related("target")
        .prefetch_related(Prefetch("choices", queryset=Choice.objects.order_by("position")))
        .order_by("position")
    )
    return (
        Question.objects.filter(version=version)
        .order_by("position")
        .prefetch_related(
            Prefetch("choices", queryset=Choice.objects.order_by("position")),
            Prefetch("rules", queryset=rules),
        )
    )


def response_list(*, version: QuestionnaireVersion) -> QuerySet[Response]:
    return (
        Response.objects.filter(version=version)
        .select_related("current_question", "created_by")
        .annotate(answer_count=Count("answers"))
        .order_by("-started_at", "-pk")
    )


def response_answer_list(*, response: Response) -> QuerySet[Answer]:
    selected = AnswerChoice.objects.select_related("choice").order_by("choice__position")
    return (
        Answer.objects.filter(response=response)
        .select_related("question")
        .prefetch_related(Prefetch("selected", queryset=selected))
        .order_by("question__position")
    )


def choice_counts(*, version: QuestionnaireVersion, statuses: list[str] | None = None) -> dict:
    """{(question id, choice id): number of responses that chose it}, in one GROUP BY."""
    rows = AnswerChoice.objects.filter(question__version=version)
    if statuses is not None:
        rows = rows.filter(answer__response__status__in=statuses)
    counts = rows.values("question_id", "choice_id").annotate(n=Count("id"))
    return {(row["question_id"], row["choice_id"]): row["n"] for row in counts}

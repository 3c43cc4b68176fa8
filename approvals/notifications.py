"""E-mails about approval requests, each in its recipient's language, as text and HTML."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import translation

from approvals.models import ApprovalRequest, Step
from approvals.selectors import step_candidates

SUBJECTS = {
    # Subjects are rendered from templates so they translate with the body.
    "step_started": "approvals/email/step_started_subject.txt",
    "overdue": "approvals/email/overdue_subject.txt",
    "returned": "approvals/email/decided_subject.txt",
    "rejected": "approvals/email/decided_subject.txt",
    "approved": "approvals/email/decided_subject.txt",
}


def _render_text(name: str, context: dict) -> str:
    """A plain-text template (a subject, a text body) rendered without HTML escaping: a
    title with & or < is written as it is. Only the HTML body is escaped."""
    return get_template(name).template.render(Context(context, autoescape=False))


def _recipients(kind: str, request: ApprovalRequest, step: Step | None):
    if kind in ("step_started", "overdue"):
        if step is None or request.current_step_id != step.pk:
            return []  # the request has moved on since the e-mail was queued
        return [u for u in step_candidates(request=request) if u.email]
    return [request.requester] if request.requester.email else []


def request_email_send(*, kind: str, request_id: int, step_id: int | None = None) -> int:
    request = ApprovalRequest.objects.select_related(
        "requester", "department", "current_step", "chain"
    ).get(pk=request_id)
    step = Step.objects.filter(pk=step_id).first() if step_id else None
    last = request.decisions.select_related("actor").order_by("-created_at", "-pk").first()
    url = settings.PUBLIC_BASE_URL + request.get_absolute_url()
    messages = []
    for user in _recipients(kind, request, step):
        with translation.override(user.language or settings.LANGUAGE_CODE):
            context = {
                "kind": kind,
                "request": request,
                "step": step,
                "decision": last,
                "recipient": user,
                "url": url,
            }
            subject = " ".join(_render_text(SUBJECTS[kind], context).split())
            text = _render_text("approvals/email/message.txt", context)
            html = render_to_string("approvals/email/message.html", context)
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email])
        message.attach_alternative(html, "text/html")
        messages.append(message)
    if messages:
        get_connection().send_messages(messages)
    return len(messages)

"""E-mails about a running campaign, each in its recipient's language, as text and HTML."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from accounts.roles import Role
from outbound.dialer import account
from outbound.models import CampaignSettings


def outbound_administrators():
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.OUTBOUND_ADMIN)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def account_refusal_email_send(*, campaign_id: int) -> int:
    """Tells the outbound administrators that Twilio refused the campaign's calls for a
    reason of the account, what it means and what to do. Nothing once it has resumed."""
    rules = CampaignSettings.objects.select_related("campaign").get(pk=campaign_id)
    if rules.state != CampaignSettings.State.PAUSED or not rules.paused_reason:
        return 0
    url = settings.PUBLIC_BASE_URL + reverse("campaigns:detail", args=[campaign_id])
    messages = []
    for user in outbound_administrators():
        with translation.override(user.language or settings.LANGUAGE_CODE):
            context = {
                "LANGUAGE_CODE": translation.get_language(),
                "recipient": user,
                "campaign": rules.campaign,
                "rules": rules,
                "reason": rules.get_paused_reason_display(),
                "explanation": account.refusal_explanation(
                    rules.paused_reason, caller_id=account.caller_id_of(rules)
                ),
                "url": url,
            }
            subject = " ".join(
                render_to_string("outbound/email/account_refusal_subject.txt", context).split()
            )
            text = render_to_string("outbound/email/account_refusal.txt", context)
            html = render_to_string("outbound/email/account_refusal.html", context)
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email])
        message.attach_alternative(html, "text/html")
        messages.append(message)
    if messages:
        get_connection().send_messages(messages)
    return len(messages)

"""E-mails about contacts waiting for the outbound administrators' acceptance, each in its
recipient's language, as text and HTML."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from outbound.dialer.notifications import outbound_administrators
from outbound.models import ContactHold


def hold_email_send(*, hold_id: int) -> int:
    """Tells the outbound administrators that contacts added to a started campaign wait
    for one of them to accept or decline them. Nothing once they are decided."""
    hold = ContactHold.objects.select_related("campaign", "added_by").get(pk=hold_id)
    if hold.status != ContactHold.Status.HELD:
        return 0
    url = settings.PUBLIC_BASE_URL + reverse("campaigns:detail", args=[hold.campaign_id])
    messages = []
    for user in outbound_administrators():
        with translation.override(user.language or settings.LANGUAGE_CODE):
            context = {
                "LANGUAGE_CODE": translation.get_language(),
                "recipient": user,
                "campaign": hold.campaign,
                "hold": hold,
                "added_by": hold.added_by or hold.get_source_display(),
                "url": url,
            }
            subject = " ".join(
                render_to_string("outbound/email/contacts_held_subject.txt", context).split()
            )
            text = render_to_string("outbound/email/contacts_held.txt", context)
            html = render_to_string("outbound/email/contacts_held.html", context)
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email])
        message.attach_alternative(html, "text/html")
        messages.append(message)
    if messages:
        get_connection().send_messages(messages)
    return len(messages)

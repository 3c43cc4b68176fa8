"""The contacts a campaign holds for the outbound administrator's acceptance, as its pages
show them."""

from django import template

from outbound.contacts import acceptance

register = template.Library()


@register.inclusion_tag("outbound/contacts/_held.html", takes_context=True)
def held_contacts(context, campaign):
    waiting, decided = acceptance.holds_shown(campaign=campaign)
    return {
        "campaign": campaign,
        "waiting": waiting,
        "decided": decided,
        "can_accept": acceptance.can_accept(user=context["request"].user),
        "csrf_token": context.get("csrf_token"),
    }

"""Phone numbers as the viewer may see them (outbound.privacy decides):
`{{ number|phone_for:request.user }}` for a bare number (the do-not-call list),
`{{ contact|phone_of:request.user }}` for a contact's (whole for the agent calling them),
`{{ text|text_for:request.user }}` for a free text, and `{% phone contact %}` for a contact's
number with the button that reveals it where the viewer may."""

from django import template

from outbound import privacy

register = template.Library()


@register.filter
def phone_for(number, user) -> str:
    return privacy.phone_for(user, str(number or ""))


@register.filter
def phone_of(contact, user) -> str:
    if contact is None:
        return ""
    return privacy.phone_for(user, contact.phone, contact=contact)


@register.filter
def text_for(text, user):
    if isinstance(text, int | str):
        return privacy.text_for(user, str(text))
    return text


@register.inclusion_tag("outbound/_phone.html", takes_context=True)
def phone(context, contact):
    """The contact's number as the viewer may see it; beside a masked one, a button that
    reveals it when the viewer may (static/waihu/reveal.js does it in place; without
    scripts the form shows it on a page of its own)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    policy = privacy.policy_for(user)
    shown = policy.phone(contact.phone, contact=contact)
    return {
        "contact": contact,
        "shown": shown,
        "reveal": shown != contact.phone and policy.offers_reveal(contact),
        "back": request.get_full_path() if request is not None else "",
        "csrf_token": context.get("csrf_token"),
    }

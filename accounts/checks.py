"""Deployment checks of Waihu's own settings (`manage.py check --deploy`)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def public_address_is_https(app_configs, **kwargs):
    if urlsplit(settings.PUBLIC_BASE_URL).scheme == "https":
        return []
    return [
        Warning(
            "WAIHU_PUBLIC_BASE_URL is not an https address.",
            hint="Users' links and the carrier's callbacks must reach Waihu over HTTPS in "
            "production: set WAIHU_PUBLIC_BASE_URL=https://...",
            id="waihu.W001",
        )
    ]

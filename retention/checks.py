"""Deployment check of the retention settings (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def retention_key_is_given(app_configs, **kwargs):
    if settings.WAIHU_RETENTION_KEY_FROM_ENVIRONMENT:
        return []
    return [
        Warning(
            "WAIHU_RETENTION_KEY is not set: the key of anonymised numbers was made in the "
            "data folder.",
            hint="Give it in the environment (at least 32 random characters) and keep it with "
            "the database backups: without it, anonymised numbers no longer match the "
            "do-not-call list.",
            id="waihu.W101",
        )
    ]

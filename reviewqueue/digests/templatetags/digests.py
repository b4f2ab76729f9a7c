"""{% load digests %}{% digest_settings %}: the digest section of the profile page (accounts owns the page)."""

from django import template
from django.conf import settings

from reviewqueue.digests.selectors import preference_form

register = template.Library()


@register.inclusion_tag("digests/_profile_section.html", takes_context=True)
def digest_settings(context) -> dict:
    user = context["request"].user
    return {
        "digest_form": preference_form(user),
        "has_email": bool(user.email),
        "email_configured": settings.EMAIL_CONFIGURED,
        "csrf_token": context.get("csrf_token"),
    }

"""{% load callbacks %} for the intake tokens page: a token's failed callback deliveries, at a glance."""

from django import template

from reviewqueue.callbacks.models import CallbackDelivery

register = template.Library()


@register.simple_tag
def failed_callbacks(token) -> int:
    return CallbackDelivery.objects.filter(token=token, status=CallbackDelivery.Status.FAILED).count()

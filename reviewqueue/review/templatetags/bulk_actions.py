"""{% load bulk_actions %}: what the queue's bulk bar offers, so the queue view need not pass it."""

from django import template

from reviewqueue.review.reasons import PRESET_REJECT_REASONS

register = template.Library()


@register.simple_tag
def reject_reasons() -> tuple[str, ...]:
    return PRESET_REJECT_REASONS

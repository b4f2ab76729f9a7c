"""The person page's Intercom panel (routing/person.html includes it): their Inbox app teammate mapping."""

from django import template

from reviewqueue.inbox.models import IntercomTeammate

register = template.Library()


@register.inclusion_tag("inbox/_person_intercom.html", takes_context=True)
def person_intercom_panel(context, person):
    mapping = IntercomTeammate.objects.filter(person=person).first()
    return {"person": person, "admin_id": mapping.admin_id if mapping else "", "csrf_token": context.get("csrf_token")}

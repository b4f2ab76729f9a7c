"""Sign-in security panels other apps' pages include: a person's (admin's person page) and the
break-glass admin's uses (health page)."""

from django import template

from reviewqueue.accounts.selectors import break_glass_summary, person_security

register = template.Library()


@register.inclusion_tag("accounts/_person_security.html", takes_context=True)
def person_security_panel(context, person):
    return {
        "person": person,
        "user": context.get("user"),
        "security": person_security(person),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("accounts/_break_glass.html")
def break_glass_panel():
    return {"break_glass": break_glass_summary()}

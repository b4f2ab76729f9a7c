"""The provider's pages: OAuth 2 / OIDC under /o/ (django-oauth-toolkit), its sign-in page, and the
sandbox's own controls under /_sandbox/ (knobs, people), as the other sandboxes have."""

import json

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.views import LoginView
from django.db import transaction
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from reviewqueue.sandbox.oidc import knobs
from reviewqueue.sandbox.oidc.validator import UNVERIFIED_GROUP


def healthz(request):
    return JsonResponse({"ok": True})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def knobs_view(request):
    if request.method == "POST":
        try:
            body = json.loads(request.body or b"{}")
            knobs.set_id_token_fault(str(body.get("id_token_fault", "")))
        except (ValueError, AttributeError) as error:
            return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse(knobs.snapshot())


@csrf_exempt
@require_http_methods(["POST"])
def person_view(request):
    """Create or change a person at the provider: {username, email, groups, email_verified, password}."""
    try:
        body = json.loads(request.body or b"{}")
        person = person_set(
            username=str(body["username"]),
            email=str(body.get("email", "")),
            groups=[str(group) for group in body.get("groups", [])],
            email_verified=bool(body.get("email_verified", True)),
            password=body.get("password"),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        return JsonResponse({"error": f"bad person: {error}"}, status=400)
    return JsonResponse({"id": person.pk, "username": person.get_username()})


@transaction.atomic
def person_set(*, username: str, email: str, groups: list[str], email_verified: bool = True, password=None):
    person, _ = get_user_model().objects.get_or_create(username=username)
    person.email = email or person.email
    if password:
        person.set_password(password)
    person.save()
    names = [*groups, *([] if email_verified else [UNVERIFIED_GROUP])]
    person.groups.set([Group.objects.get_or_create(name=name)[0] for name in names])
    return person


urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("login/", LoginView.as_view(template_name="oidc_sandbox/login.html"), name="login"),
    path("_sandbox/knobs", knobs_view),
    path("_sandbox/people", person_view),
    path("healthz", healthz),
]

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.forms import AuthenticationForm
from django.db import transaction
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from reviewqueue.accounts import throttle
from reviewqueue.accounts.http import client_ip, request_origin
from reviewqueue.accounts.roles import user_roles
from reviewqueue.audit.services import Actor, audit_record

# Where each role starts, in order of preference for people holding several.
ROLE_HOME = {"reviewer": "review:queue", "auditor": "audit:events", "admin": "routing:home"}


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request):
    form = AuthenticationForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST":
        username, ip = request.POST.get("username", ""), client_ip(request)
        if throttle.login_locked(username, ip):
            minutes = settings.LOGIN_FAILURE_WINDOW // 60
            error = f"Too many failed attempts. Try again in {minutes} minutes."
            return render(
                request, "accounts/login.html", {"form": AuthenticationForm(request), "error": error}, status=429
            )
        if form.is_valid():
            return _log_in(request, form.get_user())
        throttle.login_failed(username, ip)
        audit_record(actor=Actor.anonymous(username), action="login.failed", origin=request_origin(request))
    return render(request, "accounts/login.html", {"form": form, "next": request.GET.get("next", "")})


def _log_in(request, user):
    with transaction.atomic():
        login(request, user)
        audit_record(
            actor=Actor.person(user),
            action="login",
            target_type="user",
            target_id=user.pk,
            origin=request_origin(request),
        )
    throttle.login_succeeded(user.get_username())
    next_url = request.POST.get("next") or request.GET.get("next")
    if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        return redirect(next_url)
    return redirect(settings.LOGIN_REDIRECT_URL)


@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        with transaction.atomic():
            audit_record(
                actor=Actor.person(request.user),
                action="logout",
                target_type="user",
                target_id=request.user.pk,
                origin=request_origin(request),
            )
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


@never_cache
def home(request):
    """Send each person to the first page their roles open; people with no role are told so."""
    if not request.user.is_authenticated:
        return redirect(resolve_url(settings.LOGIN_URL))
    roles = user_roles(request.user)
    if roles:
        return redirect(ROLE_HOME[roles[0]])
    return render(request, "accounts/no_role.html", status=403)

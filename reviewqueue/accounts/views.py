import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.template.defaultfilters import pluralize
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from reviewqueue.accounts import throttle
from reviewqueue.accounts.forms import PersonalTokenForm
from reviewqueue.accounts.http import client_ip, request_origin
from reviewqueue.accounts.middleware import STARTED_AT_KEY
from reviewqueue.accounts.models import ApiToken, ApiTokenPolicy
from reviewqueue.accounts.roles import user_roles
from reviewqueue.accounts.selectors import api_tokens_listed
from reviewqueue.accounts.services import api_token_issue, api_token_revoke
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
        if wait := throttle.login_wait(username, ip):
            return _too_many_attempts(request, wait)
        if form.is_valid():
            return _log_in(request, form.get_user(), ip)
        throttle.login_failed(username, ip)
        audit_record(actor=Actor.anonymous(username), action="login.failed", origin=request_origin(request))
    return render(request, "accounts/login.html", {"form": form, "next": request.GET.get("next", "")})


def _too_many_attempts(request, wait: int):
    error = f"Too many failed attempts. Try again in {wait} second{pluralize(wait)}."
    context = {"form": AuthenticationForm(request), "error": error}
    response = render(request, "accounts/login.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response


def _log_in(request, user, ip: str | None):
    with transaction.atomic():
        login(request, user)
        request.session[STARTED_AT_KEY] = int(time.time())  # the absolute lifetime counts from here
        audit_record(
            actor=Actor.person(user),
            action="login",
            target_type="user",
            target_id=user.pk,
            origin=request_origin(request),
        )
    throttle.login_succeeded(user.get_username(), ip)
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


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def profile(request):
    """The person's own page: their personal API tokens, which only they can issue."""
    policy = ApiTokenPolicy.current()
    form = PersonalTokenForm(request.POST or None, policy=policy)
    context = {"form": form, "tokens": api_tokens_listed(request.user)}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "accounts/profile.html", context, status=400)
        token, raw = api_token_issue(
            user=request.user,
            name=form.cleaned_data["name"],
            days=form.cleaned_data["days"],
            actor=Actor.person(request.user),
            origin=request_origin(request),
        )
        # Shown once, in this response only; never stored or redirected through the session.
        context.update({"new_token": raw, "new_token_obj": token, "form": PersonalTokenForm(policy=policy)})
    return render(request, "accounts/profile.html", context)


@login_required
@require_POST
def profile_token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    api_token_revoke(token=token, actor=Actor.person(request.user), origin=request_origin(request))
    messages.success(request, f"Token {token.name} revoked.")
    return redirect("profile")

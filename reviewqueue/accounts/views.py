from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from reviewqueue.accounts import throttle
from reviewqueue.accounts.forms import PersonalTokenForm
from reviewqueue.accounts.http import client_ip, request_origin
from reviewqueue.accounts.mfa import two_factor_enrolled, two_factor_needed
from reviewqueue.accounts.models import ApiToken, ApiTokenPolicy, UserSession
from reviewqueue.accounts.roles import user_roles
from reviewqueue.accounts.selectors import api_tokens_listed, person_security
from reviewqueue.accounts.services import api_token_issue, api_token_revoke
from reviewqueue.accounts.sessions import session_forget
from reviewqueue.accounts.signin import complete_login, password_sign_in_refused, pending_start, redirect_next
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
        if password_sign_in_refused(username):
            return _password_sign_in_off(request, username)
        if form.is_valid():
            return _password_accepted(request, form.get_user())
        throttle.login_failed(username, ip)
        audit_record(actor=Actor.anonymous(username), action="login.failed", origin=request_origin(request))
    return _login_page(request, form)


def _login_page(request, form, *, error: str = "", status: int = 200):
    sso = None
    if settings.OIDC_ENABLED:
        next_url = request.POST.get("next") or request.GET.get("next") or ""
        start = reverse("oidc_start") + (f"?{urlencode({'next': next_url})}" if next_url else "")
        sso = {"name": settings.OIDC_PROVIDER_NAME, "url": start}
    context = {
        "form": form,
        "error": error,
        "next": request.GET.get("next", ""),
        "sso": sso,
        "oidc_only": settings.OIDC_ONLY,
    }
    return render(request, "accounts/login.html", context, status=status)


def _too_many_attempts(request, wait: int):
    error = f"Too many failed attempts. Try again in {wait} second{pluralize(wait)}."
    response = _login_page(request, AuthenticationForm(request), error=error, status=429)
    response["Retry-After"] = str(wait)
    return response


def _password_sign_in_off(request, username: str):
    audit_record(
        actor=Actor.anonymous(username),
        action="login.refused",
        payload={"reason": "OIDC_ONLY: password sign-in is off"},
        origin=request_origin(request),
    )
    error = f"Password sign-in is turned off here: sign in with {settings.OIDC_PROVIDER_NAME}."
    return _login_page(request, AuthenticationForm(request), error=error, status=403)


def _password_accepted(request, user):
    """The password was right: sign in, or first ask for the second factor (enrolling when required)."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if two_factor_needed(user):
        pending_start(request, user, next_url)
        return redirect("two_factor_verify" if two_factor_enrolled(user) else "two_factor_setup")
    complete_login(request, user, method=UserSession.Method.PASSWORD)
    return redirect_next(request, next_url)


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
        session_forget(request.session.session_key)
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
    context = {"form": form, "tokens": api_tokens_listed(request.user), "security": person_security(request.user)}
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

"""The second factor's pages: the code asked after a password, enrolment (QR code), recovery codes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from reviewqueue.accounts import throttle
from reviewqueue.accounts.http import client_ip, request_origin
from reviewqueue.accounts.mfa import (
    code_verify,
    enrolment_confirm,
    enrolment_device,
    manual_key,
    qr_code_data_uri,
    recovery_codes_renew,
    two_factor_enrolled,
    two_factor_required,
)
from reviewqueue.accounts.models import UserSession
from reviewqueue.accounts.signin import complete_login, pending_clear, pending_next, pending_user, redirect_next
from reviewqueue.audit.services import Actor, audit_record

METHOD_BY_CODE = {"totp": UserSession.Method.PASSWORD_TOTP, "recovery": UserSession.Method.PASSWORD_RECOVERY}


def _start_over(request):
    messages.error(request, "Your sign-in took too long or was not started: enter your password again.")
    return redirect("login")


def _wait_page(request, template: str, context: dict, wait: int):
    context["error"] = f"Too many failed attempts. Try again in {wait} second{pluralize(wait)}."
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(wait)
    return response


def _code_failed(request, user, step: str) -> None:
    """A wrong code counts towards the same throttle as a wrong password (accounts/throttle.py)."""
    throttle.login_failed(user.get_username(), client_ip(request))
    audit_record(
        actor=Actor.anonymous(user.get_username()),
        action="login.two_factor_failed",
        target_type="user",
        target_id=user.pk,
        payload={"step": step},
        origin=request_origin(request),
    )


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    """After a right password: a code from the authenticator app, or a recovery code."""
    user = pending_user(request)
    if user is None:
        return _start_over(request)
    if not two_factor_enrolled(user):
        return redirect("two_factor_setup")
    context = {"pending_username": user.get_username()}
    if request.method == "POST":
        if wait := throttle.login_wait(user.get_username(), client_ip(request)):
            return _wait_page(request, "accounts/two_factor_verify.html", context, wait)
        kind = code_verify(user=user, code=request.POST.get("code", ""), origin=request_origin(request))
        if kind is not None:
            next_url = pending_next(request)
            pending_clear(request)
            complete_login(request, user, method=METHOD_BY_CODE[kind])
            if kind == "recovery":
                messages.warning(request, "You signed in with a recovery code; it cannot be used again.")
            return redirect_next(request, next_url)
        _code_failed(request, user, "sign-in")
        context["error"] = "That code is not right (or was already used). Try the current one."
    return render(request, "accounts/two_factor_verify.html", context)


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    """Enrol an authenticator app: scan the QR code, confirm with a code, receive recovery codes once.

    Reached signed in (from the profile), or between a right password and a required second factor."""
    signing_in = not request.user.is_authenticated
    user = pending_user(request) if signing_in else request.user
    if user is None:
        return _start_over(request)
    if two_factor_enrolled(user):
        return redirect("two_factor_verify" if signing_in else "profile")
    device = enrolment_device(user)
    context = {
        "qr": qr_code_data_uri(device),
        "manual_key": manual_key(device),
        "signing_in": signing_in,
        "required": two_factor_required(user),
        "enrolling_username": user.get_username(),
    }
    if request.method == "POST":
        if signing_in and (wait := throttle.login_wait(user.get_username(), client_ip(request))):
            return _wait_page(request, "accounts/two_factor_setup.html", context, wait)
        codes = enrolment_confirm(
            user=user, device=device, code=request.POST.get("code", ""), origin=request_origin(request)
        )
        if codes is None:
            if signing_in:
                _code_failed(request, user, "enrolment")
            context["error"] = "That code is not right. Check the time on your phone and try the current one."
            return render(request, "accounts/two_factor_setup.html", context, status=400)
        next_url = ""
        if signing_in:
            next_url = pending_next(request)
            pending_clear(request)
            complete_login(request, user, method=UserSession.Method.PASSWORD_TOTP)
        # Shown once, in this response only; only their hashes are kept.
        context = {"codes": codes, "continue_url": redirect_next(request, next_url).url}
        return render(request, "accounts/recovery_codes.html", context)
    return render(request, "accounts/two_factor_setup.html", context)


@login_required
@never_cache
@require_POST
def recovery_codes_new(request):
    if not two_factor_enrolled(request.user):
        return redirect("profile")
    codes = recovery_codes_renew(user=request.user, origin=request_origin(request))
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "continue_url": reverse("profile")})

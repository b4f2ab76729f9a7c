"""Single sign-on's two pages: the start (to the provider, with state, nonce and a PKCE challenge) and
the callback (code exchanged, id_token checked, person and roles from the claims: oidc_backend.py).

Both are mozilla-django-oidc's views; here they take the provider's endpoints from discovery and turn
every failure into a page that says what happened (never a 500), audited.
"""

import logging

import requests
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.shortcuts import render
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from reviewqueue.accounts.http import request_origin
from reviewqueue.accounts.models import UserSession
from reviewqueue.accounts.oidc import ProviderUnavailable, provider_metadata
from reviewqueue.accounts.signin import complete_login, redirect_next
from reviewqueue.accounts.sso import SsoRefused
from reviewqueue.audit.services import Actor, audit_record

logger = logging.getLogger(__name__)
BACKEND = "reviewqueue.accounts.oidc_backend.RoleMappingOIDCBackend"


def _provider_unavailable(request, error: Exception):
    logger.warning("single sign-on: the identity provider could not be used: %s", error)
    context = {"provider": settings.OIDC_PROVIDER_NAME}
    return render(request, "accounts/sso_unavailable.html", context, status=502)


def _sign_in_failed(request, reason: str):
    audit_record(
        actor=Actor.anonymous(""),
        action="login.sso_failed",
        payload={"reason": reason[:500]},
        origin=request_origin(request),
    )
    context = {"provider": settings.OIDC_PROVIDER_NAME, "reason": reason}
    return render(request, "accounts/sso_failed.html", context, status=400)


class SsoStartView(OIDCAuthenticationRequestView):
    def __init__(self, **kwargs):
        View.__init__(self, **kwargs)  # not the library's: it reads the endpoint from settings
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request):
        if not settings.OIDC_ENABLED:
            raise Http404("single sign-on is not configured")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_metadata()["authorization_endpoint"]
        except ProviderUnavailable as error:
            return _provider_unavailable(request, error)
        return super().get(request)


class SsoCallbackView(OIDCAuthenticationCallbackView):
    def get(self, request):
        if not settings.OIDC_ENABLED:
            raise Http404("single sign-on is not configured")
        try:
            return super().get(request)
        except SsoRefused as refusal:  # audited where it was decided (accounts/sso.py)
            context = {"provider": settings.OIDC_PROVIDER_NAME, "message": str(refusal), "reason": refusal.reason}
            return render(request, "accounts/sso_refused.html", context, status=403)
        except SuspiciousOperation as error:  # state, nonce, id_token signature, issuer, audience, expiry
            return _sign_in_failed(request, str(error))
        except (ProviderUnavailable, requests.RequestException) as error:
            return _provider_unavailable(request, error)

    def login_failure(self):
        error = self.request.GET.get("error", "")
        if error:
            reason = f"the provider answered {error}: {self.request.GET.get('error_description', '')}".strip(": ")
        else:
            reason = "the sign-in was not started here, or did not complete (start it again)"
        return _sign_in_failed(self.request, reason)

    def login_success(self):
        next_url = self.request.session.get("oidc_login_next")
        complete_login(self.request, self.user, method=UserSession.Method.SSO, backend=BACKEND)
        return redirect_next(self.request, next_url)

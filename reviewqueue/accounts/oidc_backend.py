"""mozilla-django-oidc's backend, with endpoints from discovery, the id_token fully checked, and people
and roles from the provider's claims (accounts/sso.py).

The library verifies the id_token's signature (against the provider's JWKS), its nonce, and through
PyJWT its expiry; issuer and audience are turned on here (the library leaves audience unchecked).
"""

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from reviewqueue.accounts.http import request_origin
from reviewqueue.accounts.oidc import provider_metadata
from reviewqueue.accounts.sso import sso_sign_in

# Seconds of clock difference tolerated between the provider and us on exp / iat.
CLOCK_LEEWAY = 30
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]


class RoleMappingOIDCBackend(OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs):
        # Not the library's __init__: it reads the provider's endpoints from settings, and Django builds
        # backends for every sign-in, password ones too. Ours come from discovery when a code is exchanged.
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return provider_metadata()["token_endpoint"]

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return provider_metadata()["userinfo_endpoint"]

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return provider_metadata()["jwks_uri"]

    def authenticate(self, request, **kwargs):
        # Only the callback view (accounts/oidc_views.py) passes the nonce it kept in the session.
        if not settings.OIDC_ENABLED or request is None or "nonce" not in kwargs:
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        if not token:
            raise SuspiciousOperation("the provider sent no id_token")
        try:
            return super().verify_token(token, **kwargs)
        except (KeyError, ValueError, jwt.PyJWTError) as error:  # a header without kid, an unreadable token
            raise SuspiciousOperation(f"the id_token could not be read: {error}") from error

    def _verify_jws(self, payload, key):
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_ISSUER,
                leeway=CLOCK_LEEWAY,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidTokenError as error:
            raise SuspiciousOperation(f"the id_token was refused: {error}") from error

    def get_userinfo(self, access_token, id_token, payload):
        userinfo = super().get_userinfo(access_token, id_token, payload)
        # OpenID Connect Core 1.0, 5.3.2: userinfo about another subject must not be used.
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("the provider's userinfo names another subject than the id_token")
        return {**userinfo, **payload}  # the id_token's checked claims win

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        return sso_sign_in(claims=claims, issuer=settings.OIDC_ISSUER, origin=request_origin(self.request))

    def get_user(self, user_id):
        user = super().get_user(user_id)
        # As Django's ModelBackend: a deactivated person's sessions are anonymous from their next request.
        return user if user is not None and self.user_can_authenticate(user) else None

"""The sandbox's claims (email, verified or not, groups) and its faults: an id_token tampered with,
with the wrong nonce, for another audience, or expired, for the next sign-in only (knobs.py)."""

import base64
import json
import time

from oauth2_provider.oauth2_validators import OAuth2Validator

from reviewqueue.sandbox.oidc import knobs

UNVERIFIED_GROUP = "email-unverified"  # a marker, not a group the person belongs to at the provider


class SandboxValidator(OAuth2Validator):
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "profile"}

    def get_additional_claims(self, request):
        user = request.user
        groups = sorted(user.groups.values_list("name", flat=True))
        return {
            "email": user.email,
            "email_verified": UNVERIFIED_GROUP not in groups,
            "preferred_username": user.get_username(),
            "name": user.get_full_name() or user.get_username(),
            "groups": [group for group in groups if group != UNVERIFIED_GROUP],
        }

    def finalize_id_token(self, id_token, token, token_handler, request):
        self._fault = knobs.take_id_token_fault()
        if self._fault == "wrong_nonce":
            id_token["nonce"] = "a-nonce-this-sign-in-never-sent"
        elif self._fault == "wrong_audience":
            id_token["aud"] = "some-other-client"
        signed = super().finalize_id_token(id_token, token, token_handler, request)
        return _tampered(signed) if self._fault == "tampered" else signed

    def get_id_token_dictionary(self, token, token_handler, request):
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        if getattr(self, "_fault", "") == "expired":
            claims["exp"] = int(time.time()) - 600
        return claims, expiration_time


def _tampered(jwt: str) -> str:
    """The same signature over a payload changed afterwards: the person made an admin."""
    header, payload, signature = jwt.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["groups"] = [*claims.get("groups", []), "rq-admins"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"

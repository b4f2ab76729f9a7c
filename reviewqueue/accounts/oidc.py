"""The identity provider as discovery describes it, and the roles its claims grant (no models here)."""

import time

import httpx
from django.conf import settings

# The discovery document is read again after this long (keys and endpoints rotate rarely).
DISCOVERY_MAX_AGE = 3600
REQUIRED_METADATA = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")

_discovered: dict[str, tuple[float, dict]] = {}


class ProviderUnavailable(Exception):
    """The identity provider's discovery document could not be read, or does not describe OIDC_ISSUER."""


def discovery_url(issuer: str) -> str:
    return f"{issuer.rstrip('/')}/.well-known/openid-configuration"


def provider_metadata() -> dict:
    """OIDC_ISSUER's discovery document, read at most once per DISCOVERY_MAX_AGE per process."""
    issuer = settings.OIDC_ISSUER
    cached = _discovered.get(issuer)
    if cached is not None and time.monotonic() - cached[0] < DISCOVERY_MAX_AGE:
        return cached[1]
    metadata = _discover(issuer)
    _discovered[issuer] = (time.monotonic(), metadata)
    return metadata


def forget_provider_metadata() -> None:
    _discovered.clear()


def _discover(issuer: str) -> dict:
    url = discovery_url(issuer)
    try:
        response = httpx.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        metadata = response.json()
    except (httpx.HTTPError, ValueError) as error:
        problem = f"the identity provider's discovery document ({url}) could not be read: {error}"
        raise ProviderUnavailable(problem) from error
    if not isinstance(metadata, dict):
        raise ProviderUnavailable(f"the identity provider's discovery document ({url}) is not a JSON object")
    # OpenID Connect Discovery 1.0, section 4.3: the issuer must be exactly the one configured.
    if metadata.get("issuer") != issuer:
        raise ProviderUnavailable(f"the discovery document names the issuer {metadata.get('issuer')!r}, not {issuer!r}")
    missing = [name for name in REQUIRED_METADATA if not metadata.get(name)]
    if missing:
        raise ProviderUnavailable(f"the discovery document lacks {', '.join(missing)}")
    return metadata


def provider_groups(claims: dict) -> list[str]:
    """The groups named by the OIDC_ROLE_CLAIM claim: a list of names, or one name."""
    value = claims.get(settings.OIDC_ROLE_CLAIM)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [group for group in value if isinstance(group, str)]
    return []


def roles_from_claims(claims: dict) -> set[str]:
    """The roles OIDC_ROLE_MAP grants for the person's groups (empty: no mapped group)."""
    return {settings.OIDC_ROLE_MAP[group] for group in provider_groups(claims) if group in settings.OIDC_ROLE_MAP}

"""Small typed readers for configuration from the environment.

Every setting comes from an environment variable (a `.env` file is read when present). A value
that cannot be understood stops the process at start-up with a message naming the variable,
rather than running with a silently wrong configuration.
"""

import ipaddress
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value.strip()


def env_required(name: str, why: str) -> str:
    value = env_str(name)
    if not value:
        raise ImproperlyConfigured(f"{name} must be set: {why}")
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    folded = value.strip().lower()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no), got {value!r}")


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum or (maximum is not None and number > maximum):
        upper = "" if maximum is None else f" and at most {maximum}"
        raise ImproperlyConfigured(f"{name} must be at least {minimum}{upper}, got {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, *, schemes: tuple[str, ...], default: str | None = None) -> str | None:
    value = env_str(name, default)
    if not value:
        return default
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        allowed = ", ".join(f"{scheme}://" for scheme in schemes)
        raise ImproperlyConfigured(f"{name} must start with one of {allowed}, got {value!r}")
    if not parts.netloc and not parts.path:
        raise ImproperlyConfigured(f"{name} has no host: {value!r}")
    return value.rstrip("/")


def database_from_url(url: str) -> dict:
    """The DATABASES entry for a postgres:// URL (host may be a socket directory in ?host=)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured(f"DATABASE_URL must be a postgres:// URL, got scheme {parts.scheme!r}")
    options = dict(pair.split("=", 1) for pair in parts.query.split("&") if "=" in pair)
    name = parts.path.lstrip("/")
    if not name:
        raise ImproperlyConfigured("DATABASE_URL must name a database, e.g. postgres://user@host:5432/reviewqueue")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": parts.username or "",
        "PASSWORD": parts.password or "",
        "HOST": options.pop("host", parts.hostname or ""),
        "PORT": str(parts.port or ""),
        "OPTIONS": options,
    }


def env_key(name: str, *, minimum_bytes: int = 32) -> str:
    """A key set explicitly ("" when unset): short keys are refused, they would be guessable."""
    value = env_str(name, "")
    if value and len(value.encode()) < minimum_bytes:
        raise ImproperlyConfigured(f"{name} must be at least {minimum_bytes} bytes long, got {len(value.encode())}")
    return value


def env_key_list(name: str, *, minimum_bytes: int = 32) -> list[str]:
    """Retired keys, comma-separated, each held to the same length as a current one."""
    keys = env_list(name, [])
    for position, key in enumerate(keys, start=1):
        if len(key.encode()) < minimum_bytes:
            raise ImproperlyConfigured(f"{name}: key {position} must be at least {minimum_bytes} bytes long")
    return keys


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass(frozen=True)
class Vendor:
    """One vendor's settings, all from its local sandbox or all from the environment, never a mix."""

    name: str
    url_name: str
    values: dict[str, str]
    sandbox: bool

    def describe(self) -> str:
        source = "the local sandbox's settings" if self.sandbox else "the configured settings"
        return f"{self.name}: {source}, {self.values[self.url_name]}"


def vendor_env(
    vendor: str, *, sandbox: bool, url: tuple[str, str], sandbox_values: dict[str, str], schemes: tuple[str, ...]
) -> Vendor:
    """Read a vendor's URL and credentials. `url` is (variable, real default); `sandbox_values` maps each
    variable, the URL's first, to the sandbox's published value.

    With the sandbox on and none of the variables holding a value of its own (unset, or the sandbox's),
    every one takes the sandbox's value; once any holds a real value, none does. The sandbox's published
    credentials beside a vendor that is not on loopback are refused: anyone can read them in the repository.
    """
    url_name, real_url = url
    given = {name: env_str(name, "") for name in sandbox_values}
    use_sandbox = sandbox and all(value in ("", sandbox_values[name]) for name, value in given.items())
    defaults = sandbox_values if use_sandbox else {url_name: real_url}
    values = {name: given[name] or defaults.get(name, "") for name in sandbox_values}
    values[url_name] = env_url(url_name, schemes=schemes, default=values[url_name])
    published = [name for name, value in values.items() if name != url_name and value == sandbox_values[name]]
    if published and not is_loopback_url(values[url_name]):
        raise ImproperlyConfigured(
            f"{', '.join(published)}: the {vendor} sandbox's published value, but {url_name} is "
            f"{values[url_name]}; set the real {vendor} credentials (REVIEWQUEUE_SANDBOX=1 fills in a vendor's "
            f"sandbox values only while none of its variables is set)"
        )
    return Vendor(vendor, url_name, values, use_sandbox)

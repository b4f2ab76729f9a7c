"""Which organisation a host belongs to, by the Public Suffix List.

A link is "seen" when the conversation already named a host of the same registrable domain: the
public suffix plus one label. Keeping a fixed number of labels would be wrong for multi-label
suffixes: with `shop.co.uk` in the thread, `evil.co.uk` would count as seen, and any
`*.github.io` page would vouch for every other one. The list is the copy bundled with the
`publicsuffixlist` package (no network at run time); its private section is included on purpose,
so `alice.github.io` and `mallory.github.io` are two different owners.
"""

import contextlib
import ipaddress
from functools import cache

from publicsuffixlist import PublicSuffixList


@cache
def _suffix_list() -> PublicSuffixList:
    return PublicSuffixList()  # parses the bundled list once per process (~20 ms)


def normalise_host(host: str) -> str:
    """Lower case, no trailing dot, no IPv6 brackets, IDN labels in their punycode (ASCII) form."""
    host = host.strip().strip(".").lower().removeprefix("[").removesuffix("]")
    with contextlib.suppress(UnicodeError):  # not a valid IDN: compare it as written
        host = host.encode("idna").decode("ascii")
    return host


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def registrable_domain(host: str) -> str:
    """The part of `host` one owner controls: `www.shop.co.uk` → `shop.co.uk`.

    An IP literal, `localhost`, a bare public suffix (`co.uk`) or a name under no known suffix has
    no registrable part: it stands for itself, whole, so it only matches the very same host.
    """
    host = normalise_host(host)
    if not host or _is_ip_literal(host):
        return host
    return _suffix_list().privatesuffix(host) or host

"""The guard for outbound requests to URLs an admin typed in (agent callbacks, SLA notifications).

Such a URL must not become a way into our own network (SSRF): a callback URL of
`https://169.254.169.254/...` or of a name that resolves to 10.0.0.5 would have our worker call the
cloud metadata service or an internal host on the admin's behalf. So:

- Only https. Plain http is accepted only while private networks are allowed (local development).
- The host must resolve, and every address it resolves to must be globally routable: private,
  loopback, link-local, shared (CGNAT), reserved, unspecified and multicast addresses are refused,
  including IPv4 addresses carried inside IPv6 ones (::ffff:10.0.0.1, 64:ff9b::/96, 2002::/16).
- The check runs when the URL is saved (`check_outbound_url`, for a clear form error) AND again at
  request time, inside the connection itself (`outbound_client`): the name is resolved, every address
  checked, and the socket opened to the checked address, so a name that changes its answer between
  save and send (DNS rebinding) cannot slip through. TLS still verifies the certificate for the name.
- Redirects are never followed: a 3xx is the answer.

`CALLBACK_ALLOW_PRIVATE_NETWORKS=1` (settings) lifts the address rule and allows http, for `make run`
and tests whose receivers listen on 127.0.0.1.

`OutboundURLRefused` carries a message meant for an admin: show `str(error)`.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

from reviewqueue.integrations.http import shared_ssl_context

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 prefixes whose addresses carry an IPv4 address in their last 32 bits (RFC 6052 NAT64).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundURLRefused(ValueError):
    """A URL (or the address it resolves to) we will not send requests to; the message is for an admin."""


class OutboundHostUnresolved(OutboundURLRefused):
    """The host did not resolve: refused when saved, but at request time possibly a passing DNS failure."""


def private_networks_allowed() -> bool:
    return bool(getattr(settings, "CALLBACK_ALLOW_PRIVATE_NETWORKS", False))


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), if any."""
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def address_refusal(address: IPAddress) -> str | None:
    """What kind of address `address` is when it may not be called ("a loopback address"), or None
    when it is a global unicast address."""
    inner = embedded_ipv4(address)
    if inner is not None:
        kind = address_refusal(inner)
        return f"{inner} in IPv6 form, {kind}" if kind else None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private or not address.is_global:
        return "a private or reserved address"
    return None


def check_address(address: str | IPAddress, *, host: str) -> None:
    """Raise OutboundURLRefused unless `address` (one that `host` resolved to) may be called."""
    if private_networks_allowed():
        return
    address = ipaddress.ip_address(address)
    kind = address_refusal(address)
    if kind:
        literal = host.strip("[]") == str(address) or _is_ip_literal(host)
        what = f"{address} is {kind}" if literal else f"{host} resolves to {address}, {kind}"
        raise OutboundURLRefused(
            f"{what}; requests go only to public addresses "
            "(CALLBACK_ALLOW_PRIVATE_NETWORKS=1 lifts this for local development)"
        )


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundHostUnresolved(f"{host} does not resolve ({exc})") from None
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # An IPv6 link-local answer may carry a zone ("fe80::1%eth0"); the address is what is checked.
        address = str(sockaddr[0]).split("%", 1)[0]
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OutboundHostUnresolved(f"{host} does not resolve to any address")
    return addresses


def resolve_checked(host: str, port: int) -> list[str]:
    """Resolve `host` and check every answer: one refused address refuses the host (a name that answers
    with a public and a private address could be steered to the private one)."""
    addresses = resolve(host, port)
    for address in addresses:
        check_address(address, host=host)
    return addresses


def check_url_shape(url: str) -> tuple[str, int]:
    """Scheme, host and port of `url` without resolving it: (host, port). Raises OutboundURLRefused."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise OutboundURLRefused(f"not a valid URL: {exc}") from None
    allowed = ("https", "http") if private_networks_allowed() else ("https",)
    if parts.scheme not in allowed:
        raise OutboundURLRefused(
            f"the URL must start with https:// (got {parts.scheme or 'no scheme'}://); "
            "plain http is allowed only with CALLBACK_ALLOW_PRIVATE_NETWORKS=1"
        )
    if not parts.hostname:
        raise OutboundURLRefused("the URL has no host")
    if parts.username or parts.password:
        raise OutboundURLRefused("the URL must not carry a user name or password")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def check_outbound_url(url: str) -> str:
    """The save-time check: the URL's shape and every address its host resolves to. Returns the URL
    stripped of surrounding blanks; raises OutboundURLRefused with a message for the admin."""
    host, port = check_url_shape(url)
    resolve_checked(host, port)
    return url.strip()


class _GuardedNetworkBackend(httpcore.SyncBackend):
    """Opens each TCP connection to an address it has just resolved and checked itself."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = resolve_checked(host, port)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last_error = exc
        raise last_error or httpcore.ConnectError(f"could not connect to {host}")


def guarded_transport() -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(verify=shared_ssl_context(), retries=0)
    # httpx has no public hook for the network backend; its pool (httpcore.ConnectionPool) takes one.
    # tests/test_outbound.py proves the guard runs at connect time, so an httpx upgrade that moves
    # this attribute fails a test rather than silently dropping the guard.
    transport._pool._network_backend = _GuardedNetworkBackend()
    return transport


def outbound_client(*, timeout: float | httpx.Timeout = 10.0) -> httpx.Client:
    """An httpx client for admin-given URLs: checks at connect time, follows no redirect, ignores proxy
    variables (a proxy would be the host checked, not the URL's). Use `send_checked` or call
    `check_url_shape` first so the scheme rule holds too."""
    return httpx.Client(transport=guarded_transport(), follow_redirects=False, trust_env=False, timeout=timeout)


def send_checked(client: httpx.Client, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
    """Send `request` through `client` after the URL's shape check. OutboundURLRefused when refused
    (by shape here, or by address when `client` is an `outbound_client`). With `stream`, the body is
    not read: the caller reads what it needs and closes the response (a receiver's answer can be big)."""
    check_url_shape(str(request.url))
    return client.send(request, follow_redirects=False, stream=stream)

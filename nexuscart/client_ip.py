"""The client's address behind our own proxies: the one helper every per-IP limit uses.

A request reaches the app through zero or more proxies we run (the nginx edge, an ingress, a
load balancer). Each appends the address it received the connection from to X-Forwarded-For, so
the header reads "whatever-the-client-sent, ..., hop-seen-by-proxy-1, hop-seen-by-proxy-2".
Only the hops added by proxies we trust are true. So, starting from the socket peer and walking
the header from the right, every address inside TRUSTED_PROXIES (CIDRs) is one of ours and is
skipped; the first address that is not ours is the client (the right-most untrusted hop).
Everything left of it was written by the client and is ignored: a new forged value per request
never buys a new bucket.

App servers must not rewrite the peer address themselves (uvicorn runs with
--no-proxy-headers, or its FORWARDED_ALLOW_IPS is never "*"): this module is the only reader of
X-Forwarded-For.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """'10.0.0.0/8', '127.0.0.1', '::1' -> networks (a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c and c.strip())


@lru_cache(maxsize=8)
def _trusted(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(cidrs)


def trusted_networks() -> tuple[Network, ...]:
    """settings.TRUSTED_PROXIES parsed once per distinct value (tests may change it)."""
    return _trusted(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip().strip('"')
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "192.0.2.1:443"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def resolve(peer: str, forwarded_for: str | None, networks: tuple[Network, ...] | None = None) -> str:
    """The client address of a connection from `peer` carrying `forwarded_for` (X-Forwarded-For)."""
    networks = trusted_networks() if networks is None else networks
    current = _address(peer or "")
    if current is None:
        return peer or ""
    if not networks or not forwarded_for or not _is_trusted(current, networks):
        return str(current)
    for hop in reversed(forwarded_for.split(",")):
        address = _address(hop)
        if address is None:
            # A hop that is no address was not written by a proxy of ours (they append the peer
            # they saw); the last address we could vouch for is the best answer.
            return str(current)
        current = address
        if not _is_trusted(current, networks):
            return str(current)
    return str(current)  # every hop is ours: the request came from inside


def from_meta(meta: dict) -> str:
    """For Django: request.META's REMOTE_ADDR and X-Forwarded-For."""
    return resolve(meta.get("REMOTE_ADDR", ""), meta.get("HTTP_X_FORWARDED_FOR"))


def from_scope(scope: dict, headers: dict[str, str] | None = None) -> str:
    """For an ASGI handler: the socket peer in scope["client"] and the (lower-cased) headers."""
    peer = (scope.get("client") or ("", 0))[0]
    if headers is None:
        forwarded = b", ".join(v for k, v in scope.get("headers", ()) if k == b"x-forwarded-for").decode("latin-1")
    else:
        forwarded = headers.get("x-forwarded-for", "")
    return resolve(peer, forwarded or None)


__all__ = ["from_meta", "from_scope", "parse_networks", "resolve", "trusted_networks"]

"""The client's address behind trusted proxies (load balancers, nginx).

Behind a proxy every request arrives from the proxy's address, so per-client limits would
count all residents together. When the peer is one of ``TRUSTED_PROXIES``
(``MADOGUCHI_TRUSTED_PROXIES``), the client is the right-most address of ``X-Forwarded-For``
that is not itself a trusted proxy: proxies append the address they saw, so everything to the
left of it may be forged by the client and is never used. From any other peer the header is
ignored. The middleware puts the result in ``REMOTE_ADDR`` for everything after it (rate
limits, the audit log's client address).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

__all__ = ["TrustedProxyMiddleware", "client_address_set", "forwarded_client", "parse_networks"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Sequence[str]) -> list[Network]:
    """Addresses or CIDR ranges; raises ValueError naming a bad one."""
    networks: list[Network] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {value!r}") from None
    return networks


def _trusted(address: str, trusted: Sequence[Network]) -> bool | None:
    """Whether ``address`` is a trusted proxy; None when it is no address at all."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return any(ip in network for network in trusted)


def forwarded_client(peer: str, header: str, trusted: Sequence[Network]) -> str:
    """The client address for a request from ``peer`` carrying ``X-Forwarded-For: header``."""
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        is_proxy = _trusted(hop, trusted)
        if is_proxy is None:  # a malformed hop: nothing left of it can be believed
            return peer
        if not is_proxy:
            return hop
    return hops[0] if hops else peer


def client_address_set(meta: MutableMapping[str, Any]) -> None:
    """Put the client's address in ``meta["REMOTE_ADDR"]`` when the peer is a trusted proxy
    (``TRUSTED_PROXIES``); the middleware and the status lookup's short path both use it."""
    trusted: Sequence[Network] = settings.TRUSTED_PROXIES
    if trusted:
        meta["REMOTE_ADDR"] = forwarded_client(
            str(meta.get("REMOTE_ADDR") or ""), str(meta.get("HTTP_X_FORWARDED_FOR") or ""), trusted
        )


class TrustedProxyMiddleware:
    """Sets ``REMOTE_ADDR`` to the client's address when the peer is a trusted proxy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        client_address_set(request.META)
        return self.get_response(request)

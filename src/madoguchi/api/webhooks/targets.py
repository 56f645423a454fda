"""Where a webhook may be sent: never to this machine or a private network unless allowed.

A subscription's URL is checked when it is created (an address written in the URL, or a name
such as ``localhost``) and again before each attempt, on the addresses the name resolves to
then, so a name that later points inside the network is refused too. The check is off only
when ``WEBHOOK_ALLOW_PRIVATE_URLS`` is set (tests, or a receiver deliberately on the LAN).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

__all__ = ["PrivateAddressError", "webhook_url_private", "webhook_url_resolves_private"]

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class PrivateAddressError(ValueError):
    """The receiver's address is loopback, private, link-local or otherwise not public."""


def _not_public(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def webhook_url_private(url: str) -> bool:
    """Whether the URL itself names a non-public address (checked on subscription)."""
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return False
    host = _host(url)
    if not host or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return _not_public(ipaddress.ip_address(host))
    except ValueError:
        return False  # a name: its addresses are checked before each attempt


def webhook_url_resolves_private(url: str) -> bool:
    """Whether any address the URL's host resolves to now is non-public (checked per attempt).

    A name that does not resolve is not private; the attempt then fails as unreachable.
    """
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return False
    if webhook_url_private(url):
        return True
    try:
        infos = socket.getaddrinfo(_host(url), None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    for info in infos:
        try:
            if _not_public(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])):
                return True
        except ValueError:
            return True
    return False

"""Behind a load balancer every request comes from the balancer's address: the client's own
address is taken from ``X-Forwarded-For`` only when the peer is a trusted proxy
(``MADOGUCHI_TRUSTED_PROXIES``), so per-client limits stay per client and cannot be dodged by
a forged header."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from django.test import Client

from madoguchi.core.proxy import forwarded_client
from tests.isolation import Tenant

PROXY = "10.0.0.5"
TRUSTED = [ipaddress.ip_network("10.0.0.0/24")]


def lookup(client: Client, tenant: Tenant, forwarded: str, peer: str = PROXY) -> int:
    response = client.post(
        f"/api/v1/{tenant.slug}/status",
        {"receipt_number": "not-a-number", "secret": "x"},
        content_type="application/json",
        REMOTE_ADDR=peer,
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    return response.status_code


@pytest.fixture
def limited(settings: Any) -> None:
    settings.STATUS_LOOKUP_RATE_PER_CLIENT = 2
    settings.TRUSTED_PROXIES = TRUSTED


def test_clients_behind_a_trusted_proxy_are_limited_each_on_their_own(
    tenant_a: Tenant, limited: None
) -> None:
    client = Client()
    first = [lookup(client, tenant_a, "203.0.113.7") for _ in range(3)]
    assert first[:2] != [429, 429]
    assert first[2] == 429
    # Another resident through the same balancer is not refused for the first one's lookups.
    assert lookup(client, tenant_a, "203.0.113.8") != 429


def test_a_forged_header_from_an_untrusted_peer_is_ignored(tenant_a: Tenant, limited: None) -> None:
    client = Client()
    statuses = [lookup(client, tenant_a, f"198.51.100.{n}", peer="192.0.2.1") for n in range(3)]
    assert statuses[2] == 429  # a new forged address each time changed nothing


def test_a_forged_first_hop_does_not_escape_the_limit(tenant_a: Tenant, limited: None) -> None:
    client = Client()
    # The balancer appends the real peer; whatever the client wrote before it is not used.
    statuses = [lookup(client, tenant_a, f"198.51.100.{n}, 203.0.113.9") for n in range(3)]
    assert statuses[2] == 429


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        (PROXY, "", PROXY),
        (PROXY, "203.0.113.7", "203.0.113.7"),
        (PROXY, "1.2.3.4, 203.0.113.7", "203.0.113.7"),
        (PROXY, "203.0.113.7, 10.0.0.9", "203.0.113.7"),  # two trusted hops
        (PROXY, "garbage", PROXY),
        (PROXY, "1.2.3.4, garbage", PROXY),
        (PROXY, "10.0.0.8, 10.0.0.9", "10.0.0.8"),  # only proxies: the first one
        ("192.0.2.1", "203.0.113.7", "192.0.2.1"),
        (PROXY, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_forwarded_client(peer: str, header: str, expected: str) -> None:
    assert forwarded_client(peer, header, TRUSTED) == expected


def test_no_trusted_proxies_keeps_the_peer() -> None:
    assert forwarded_client(PROXY, "203.0.113.7", []) == PROXY

"""Managing webhook subscriptions through the API: deleting one, and refusing receivers on
addresses that are not public unless the setting allows them."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from madoguchi.api.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from madoguchi.api.webhooks.services import webhook_attempt
from madoguchi.audit.models import AuditEntry
from tests.api.linkage.conftest import Receiver
from tests.api.linkage.support import call, new_client, token_for
from tests.isolation import Tenant, snapshot

PRIVATE_URLS = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://api.localhost/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://172.16.5.5/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://100.64.0.1/hook",
]


def _create(client: Client, token: str, url: str) -> Any:
    return call(
        client,
        "post",
        "/api/v1/kobe/webhooks",
        token,
        {"url": url, "event_types": ["application.state_changed"]},
    )


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_a_receiver_on_a_non_public_address_is_refused_with_a_stable_code(
    client: Client, tenant_a: Tenant, settings: Settings, url: str
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    token = token_for(tenant_a.municipality)

    response = _create(client, token, url)

    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("webhook_url_not_public", "url")
    assert not WebhookSubscription.objects.exists()


def test_a_public_address_is_accepted_and_the_setting_allows_loopback(
    client: Client, tenant_a: Tenant, settings: Settings
) -> None:
    token = token_for(tenant_a.municipality)
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    public = _create(client, token, "https://203.0.114.7/hook")
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    loopback = _create(client, token, "http://127.0.0.1:8080/hook")

    assert public.status_code == loopback.status_code == 201
    assert WebhookSubscription.objects.count() == 2


def _machine_name() -> str:
    """This machine's name: a name (not ``localhost``) that resolves to a non-public address."""
    name = socket.gethostname()
    addresses = {ipaddress.ip_address(i[4][0]) for i in socket.getaddrinfo(name, None)}
    assert addresses
    assert not any(a.is_global for a in addresses), addresses
    return name


def test_a_name_resolving_to_a_private_address_is_not_sent_to(
    tenant_a: Tenant, receiver: Receiver, settings: Settings
) -> None:
    """Checked again before each attempt: a name that points inside the network is refused."""
    api_client, _secret = new_client(tenant_a.municipality)
    subscription = WebhookSubscription.objects.create(
        municipality=tenant_a.municipality,
        client=api_client,
        url=receiver.url.replace("127.0.0.1", _machine_name()),
        event_types=["application.state_changed"],
        secret="whsec_test",
    )
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event_type="application.state_changed", body="{}"
    )
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False

    webhook_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert receiver.received == []
    assert (delivery.attempts, delivery.last_error) == (1, "address not public")


def test_deleting_a_subscription_stops_its_deliveries_and_is_audited(
    client: Client, tenant_a: Tenant, receiver: Receiver
) -> None:
    token = token_for(tenant_a.municipality)
    created = _create(client, token, receiver.url)
    subscription_id = created.json()["id"]
    delivery = WebhookDelivery.objects.create(
        subscription_id=subscription_id, event_type="application.state_changed", body="{}"
    )

    response = call(client, "delete", f"/api/v1/kobe/webhooks/{subscription_id}", token)

    assert response.status_code == 204, response.content
    assert not WebhookSubscription.objects.exists()
    assert webhook_attempt(delivery_id=delivery.pk).status == DeliveryStatus.FAILED
    assert receiver.received == []
    entry = AuditEntry.objects.get(action="webhook.unsubscribe")
    assert entry.data["deliveries"] == {"pending": 1, "delivered": 0, "failed": 0}
    listed = call(client, "get", "/api/v1/kobe/webhooks", token)
    assert listed.json() == []


def test_a_client_cannot_delete_another_clients_subscription(
    client: Client, tenant_a: Tenant, receiver: Receiver
) -> None:
    owner = token_for(tenant_a.municipality, name="基幹系")
    created = _create(client, owner, receiver.url)
    subscription_id = created.json()["id"]
    before = snapshot(WebhookSubscription.objects.all())

    other = token_for(tenant_a.municipality, name="コールセンター")
    response = call(client, "delete", f"/api/v1/kobe/webhooks/{subscription_id}", other)
    unknown = call(client, "delete", "/api/v1/kobe/webhooks/999999", owner)

    assert response.status_code == unknown.status_code == 404
    assert response.json()["error"]["code"] == "webhook_not_found"
    assert unknown.json()["error"]["code"] == "webhook_not_found"
    assert snapshot(WebhookSubscription.objects.all()) == before

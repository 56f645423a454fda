"""The admin console's webhook part of a client's page: its subscriptions (deleting one) and
its last deliveries with status, attempts and response code; other bodies cannot reach them."""

from __future__ import annotations

from madoguchi.api.clients.models import ApiClient
from madoguchi.api.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from madoguchi.api.webhooks.services import webhook_subscription_create
from madoguchi.audit.models import AuditEntry
from tests.api.linkage.support import ADMIN, new_client
from tests.isolation import Tenant, assert_cannot_change, assert_cannot_read, snapshot


def _url(tenant: Tenant, rest: str = "") -> str:
    return tenant.url(f"staff/admin/api-clients/{rest}")


def _client_with_deliveries(tenant: Tenant) -> tuple[ApiClient, WebhookSubscription]:
    client, _secret = new_client(tenant.municipality)
    subscription, _signing = webhook_subscription_create(
        client=client,
        url="https://receiver.example.jp/hooks/madoguchi",
        event_types=["application.submitted", "application.state_changed"],
        actor=ADMIN,
    )
    WebhookDelivery.objects.create(
        subscription=subscription,
        event_type="application.submitted",
        body="{}",
        status=DeliveryStatus.DELIVERED,
        attempts=1,
        last_status_code=204,
    )
    WebhookDelivery.objects.create(
        subscription=subscription,
        event_type="application.state_changed",
        body="{}",
        status=DeliveryStatus.PENDING,
        attempts=3,
        last_status_code=503,
        last_error="HTTP 503",
    )
    return client, subscription


def test_the_page_lists_subscriptions_and_the_last_deliveries(tenant_a: Tenant) -> None:
    client, subscription = _client_with_deliveries(tenant_a)

    page = tenant_a.client("admin").get(_url(tenant_a, f"{client.pk}/")).content.decode()

    assert subscription.url in page
    deliveries = page.split('id="deliveries"')[1].split("</table>")[0]
    rows = deliveries.split("<tbody>")[1].split("</tr>")[:-1]
    assert len(rows) == 2
    newest, oldest = rows
    for text in ("application.state_changed", "送信待ち・再試行待ち", "<td>3</td>", "<td>503</td>"):
        assert text in newest
    for text in ("application.submitted", "送信済み", "<td>1</td>", "<td>204</td>"):
        assert text in oldest


def test_the_page_is_in_english_for_english_staff(tenant_a: Tenant) -> None:
    client, _subscription = _client_with_deliveries(tenant_a)
    admin = tenant_a.client("admin")

    page = admin.get(_url(tenant_a, f"{client.pk}/"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Recent deliveries" in page
    assert "最近の送信" not in page


def test_an_admin_deletes_a_subscription(tenant_a: Tenant) -> None:
    client, subscription = _client_with_deliveries(tenant_a)

    response = tenant_a.client("admin").post(
        _url(tenant_a, f"{client.pk}/webhooks/{subscription.pk}/delete/")
    )

    assert response.status_code == 302
    assert not WebhookSubscription.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert AuditEntry.objects.filter(action="webhook.unsubscribe").count() == 1


def test_others_cannot_see_or_delete_a_subscription(tenant_a: Tenant, tenant_b: Tenant) -> None:
    client, subscription = _client_with_deliveries(tenant_a)
    _other_client, other_subscription = _client_with_deliveries(tenant_b)

    def state() -> object:
        return snapshot(WebhookSubscription.objects.all()), snapshot(WebhookDelivery.objects.all())

    for role in ("supervisor", "clerk", "viewer"):
        assert_cannot_read(
            tenant_a.client(role), _url(tenant_a, f"{client.pk}/"), must_not_contain=[]
        )
        assert_cannot_change(
            tenant_a.client(role),
            _url(tenant_a, f"{client.pk}/webhooks/{subscription.pk}/delete/"),
            state=state,
        )
    other = tenant_b.client("admin")
    assert_cannot_read(other, _url(tenant_b, f"{client.pk}/"), must_not_contain=[])
    assert_cannot_change(
        other, _url(tenant_b, f"{client.pk}/webhooks/{subscription.pk}/delete/"), state=state
    )
    # Through its own client's URL, another body's subscription id is not found either.
    assert_cannot_change(
        other,
        _url(tenant_b, f"{_other_client.pk}/webhooks/{subscription.pk}/delete/"),
        state=state,
    )
    assert other_subscription.pk != subscription.pk

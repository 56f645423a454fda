"""Outgoing webhooks against a receiver on loopback: signed CloudEvents with ids only,
retried after a 500, never sent twice, disabled after repeated failure, replays refused."""

from __future__ import annotations

import datetime
import json

from django.core import mail
from django.test import Client
from pytest_django.fixtures import Settings

from madoguchi.api.clients.models import ApiClient
from madoguchi.api.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from madoguchi.api.webhooks.services import webhook_attempt
from madoguchi.api.webhooks.signing import verify
from madoguchi.audit.models import AuditEntry
from madoguchi.procedures.models import Application
from tests.api.linkage.conftest import Receiver
from tests.api.linkage.support import call, new_client, token_for
from tests.isolation import Tenant


def _subscribe(client: Client, token: str, url: str) -> dict[str, object]:
    response = call(
        client,
        "post",
        "/api/v1/kobe/webhooks",
        token,
        {"url": url, "event_types": ["application.state_changed"]},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert isinstance(body, dict)
    return body


def _move(client: Client, token: str, application: Application, target: str) -> None:
    response = call(
        client,
        "post",
        f"/api/v1/kobe/applications/{application.receipt_number}/transitions",
        token,
        {"target": target},
    )
    assert response.status_code == 200, response.content


def test_a_state_change_is_delivered_signed_with_ids_only(
    client: Client,
    tenant_a: Tenant,
    kobe_applications: list[Application],
    receiver: Receiver,
    django_capture_on_commit_callbacks: object,
) -> None:
    token = token_for(tenant_a.municipality)
    subscription = _subscribe(client, token, receiver.url)
    application = kobe_applications[0]

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        _move(client, token, application, "reviewing")
    [delivery] = WebhookDelivery.objects.all()
    result = webhook_attempt(delivery_id=delivery.pk)

    assert result.status == DeliveryStatus.DELIVERED
    [(headers, body)] = receiver.received
    assert verify(secret=str(subscription["secret"]), headers=headers, body=body, seen_ids=set())
    event = json.loads(body)
    assert event["specversion"] == "1.0"
    assert event["type"] == "jp.madoguchi.application.state_changed"
    assert event["data"] == {
        "receipt_number": application.receipt_number,
        "from": "received",
        "to": "reviewing",
    }
    assert headers["Content-Type"].startswith("application/cloudevents+json")
    assert application.answers["name"] not in body.decode()


def _pending_delivery(tenant: Tenant, url: str) -> WebhookDelivery:
    api_client, _secret = new_client(tenant.municipality, name="受信テスト")
    subscription = WebhookSubscription.objects.create(
        municipality=tenant.municipality,
        client=api_client,
        url=url,
        event_types=["application.state_changed"],
        secret="whsec_test",
    )
    return WebhookDelivery.objects.create(
        subscription=subscription, event_type="application.state_changed", body="{}"
    )


def test_a_500_is_retried_with_backoff_and_not_sent_again_after_success(
    tenant_a: Tenant, receiver: Receiver, settings: Settings
) -> None:
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    receiver.answers = [500, 500]
    delivery = _pending_delivery(tenant_a, receiver.url)
    now = datetime.datetime(2026, 12, 6, 3, 0, tzinfo=datetime.UTC)

    first = webhook_attempt(delivery_id=delivery.pk, now=now)
    second = webhook_attempt(delivery_id=delivery.pk, now=now)
    third = webhook_attempt(delivery_id=delivery.pk, now=now)
    again = webhook_attempt(delivery_id=delivery.pk, now=now)

    assert (first.status, first.retry_at) == ("pending", now + datetime.timedelta(seconds=30))
    assert (second.status, second.retry_at) == ("pending", now + datetime.timedelta(seconds=60))
    assert third.status == again.status == "delivered"
    assert len(receiver.received) == 3
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code) == (3, 200)
    assert WebhookSubscription.objects.get().consecutive_failures == 0


def test_a_subscription_is_disabled_after_n_failures_and_admins_are_told(
    tenant_a: Tenant,
    receiver: Receiver,
    settings: Settings,
    django_capture_on_commit_callbacks: object,
) -> None:
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    settings.WEBHOOK_MAX_ATTEMPTS = 10
    admin = tenant_a.staff["admin"]
    admin.email = "admin@city.kobe.example"
    admin.save(update_fields=["email"])
    receiver.answers = [500] * 10
    delivery = _pending_delivery(tenant_a, receiver.url)

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        results = [webhook_attempt(delivery_id=delivery.pk).status for _ in range(4)]

    assert results == ["pending", "pending", "failed", "failed"]
    assert len(receiver.received) == 3
    subscription = WebhookSubscription.objects.get()
    assert subscription.disabled_at is not None
    assert AuditEntry.objects.filter(action="webhook.disabled").count() == 1
    assert [m.to for m in mail.outbox] == [["admin@city.kobe.example"]]
    assert "受信テスト" in mail.outbox[0].body


def test_the_receiver_check_refuses_replays_and_forgeries(
    tenant_a: Tenant, receiver: Receiver
) -> None:
    delivery = _pending_delivery(tenant_a, receiver.url)
    webhook_attempt(delivery_id=delivery.pk)
    [(headers, body)] = receiver.received
    sent_at = int(headers["Webhook-Timestamp"])
    seen: set[str] = set()

    assert verify(secret="whsec_test", headers=headers, body=body, seen_ids=seen, now=sent_at)
    # The same delivery again, inside the window: its id was already processed.
    assert not verify(secret="whsec_test", headers=headers, body=body, seen_ids=seen, now=sent_at)
    # Replayed later to a receiver that forgot the id: the timestamp is out of the window.
    assert not verify(
        secret="whsec_test", headers=headers, body=body, seen_ids=set(), now=sent_at + 301
    )
    # A changed body or another secret does not verify.
    assert not verify(
        secret="whsec_test", headers=headers, body=body + b" ", seen_ids=set(), now=sent_at
    )
    assert not verify(secret="whsec_other", headers=headers, body=body, seen_ids=set(), now=sent_at)


def test_revoked_clients_get_no_deliveries(
    client: Client,
    tenant_a: Tenant,
    kobe_applications: list[Application],
    receiver: Receiver,
    django_capture_on_commit_callbacks: object,
) -> None:
    token = token_for(tenant_a.municipality)
    _subscribe(client, token, receiver.url)
    ApiClient.objects.update(revoked_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    other = token_for(tenant_a.municipality, name="別のシステム")

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        _move(client, other, kobe_applications[0], "reviewing")

    assert WebhookDelivery.objects.count() == 0


def test_the_task_queues_its_retry_for_the_backoff_time(
    tenant_a: Tenant, receiver: Receiver, settings: Settings
) -> None:
    from django_tasks_db.models import DBTaskResult

    from madoguchi.api.webhooks.tasks import webhook_deliver

    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    receiver.answers = [500]
    delivery = _pending_delivery(tenant_a, receiver.url)

    webhook_deliver.call(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    [queued] = DBTaskResult.objects.all()
    assert queued.args_kwargs["kwargs"] == {"delivery_id": delivery.pk}
    assert queued.run_after == delivery.next_attempt_at

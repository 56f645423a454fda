"""A 発生届 received through the API fires ``case.notified`` like one filed on the clinic's form."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from madoguchi.api.webhooks.models import WebhookDelivery, WebhookSubscription
from madoguchi.api.webhooks.services import webhook_attempt
from madoguchi.api.webhooks.signing import verify
from tests.api.linkage.conftest import Receiver
from tests.api.linkage.support import CASE_SCOPES, call, notification_body, token_for
from tests.isolation import Tenant
from tests.surveillance.factories import make_world

CaptureOnCommit = Any  # pytest-django's django_capture_on_commit_callbacks fixture


def test_a_notification_through_the_api_is_sent_as_case_notified(
    client: Client,
    tenant_a: Tenant,
    tenant_b: Tenant,
    receiver: Receiver,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    world = make_world(tenant_a, tenant_b)
    subscriber = token_for(
        tenant_a.municipality, ["webhooks:manage", "cases:read"], name="受信システム"
    )
    subscribed = call(
        client,
        "post",
        "/api/v1/kobe/webhooks",
        subscriber,
        {"url": receiver.url, "event_types": ["case.notified"]},
    )
    assert subscribed.status_code == 201, subscribed.content
    secret = subscribed.json()["secret"]
    clinic_system = token_for(tenant_a.municipality, CASE_SCOPES, name="電子カルテ")

    with django_capture_on_commit_callbacks(execute=True):
        filed = call(
            client,
            "post",
            "/api/v1/kobe/notifications",
            clinic_system,
            notification_body(world.clinic.pk),
        )
    for delivery in WebhookDelivery.objects.order_by("pk"):
        webhook_attempt(delivery_id=delivery.pk)

    assert filed.status_code == 201, filed.content
    [(headers, body)] = receiver.received
    assert verify(secret=secret, headers=headers, body=body, seen_ids=set())
    event = json.loads(body)
    assert event["type"] == "jp.madoguchi.case.notified"
    assert event["subject"] == f"cases/{filed.json()['case']}"
    assert event["data"]["case"] == filed.json()["case"]
    assert event["data"]["notification"] == filed.json()["notification"]
    assert event["data"]["linked"] == 0
    assert "山田" not in body.decode()


def test_case_events_need_the_case_read_scope_to_subscribe(
    client: Client, tenant_a: Tenant, receiver: Receiver
) -> None:
    """A case id and a disease code are not for a client that may not read cases: without
    cases:read the subscription is refused (403 scope_missing, per event type), nothing stored."""
    token = token_for(tenant_a.municipality, ["webhooks:manage", "applications:read"])

    refused = call(
        client,
        "post",
        "/api/v1/kobe/webhooks",
        token,
        {
            "url": receiver.url,
            "event_types": ["application.submitted", "case.notified", "alert.raised"],
        },
    )

    assert refused.status_code == 403, refused.content
    body = refused.json()
    assert body["error"]["code"] == "scope_missing"
    assert [(d["field"], d["code"]) for d in body["error"]["details"]] == [
        ("event_types", "scope_missing"),
        ("event_types", "scope_missing"),
    ]
    assert "alert.raised" in body["error"]["details"][0]["message"]
    assert not WebhookSubscription.objects.exists()

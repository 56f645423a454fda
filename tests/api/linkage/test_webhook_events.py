"""Every subscribable event type is sent from the one place where the thing happens: after
commit, once, signed, ids only, and only to subscriptions of the municipality concerned."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from madoguchi.api.webhooks.models import WebhookDelivery
from madoguchi.api.webhooks.services import (
    EVENT_SCOPES,
    EVENT_TYPES,
    webhook_attempt,
    webhook_subscription_create,
)
from madoguchi.api.webhooks.signing import verify
from madoguchi.consultation.assistant import conversation_handover
from madoguchi.consultation.models import Channel, Conversation, ConversationState
from madoguchi.surveillance.models import Alert
from madoguchi.surveillance.services import report_link_issue, self_report_submit
from madoguchi.surveillance.setup import health_centre_ensure
from tests.api.linkage.conftest import Receiver
from tests.api.linkage.support import ADMIN, ALL_SCOPES, call, new_client, token_for
from tests.isolation import Tenant
from tests.procedures.backoffice_fixtures import kyufukin_submit, publish_catalogue
from tests.surveillance.factories import ACTOR, TODAY, adult, file, make_world

CaptureOnCommit = Any  # pytest-django's django_capture_on_commit_callbacks fixture


def _subscribe_everything(
    client: Client, tenant_a: Tenant, tenant_b: Tenant, urls: tuple[str, str]
) -> str:
    """Kobe subscribes through the API; the other municipality subscribes too, elsewhere."""
    # Kobe runs a health centre (as make_world sets it up), so its client may read cases.
    health_centre_ensure(
        municipality=tenant_a.municipality,
        department_code="hokenjo",
        name="神戸市保健所",
        urgent_phone="078-000-0000",
        area_codes=["281000"],
        actor=ACTOR,
    )
    response = call(
        client,
        "post",
        "/api/v1/kobe/webhooks",
        token_for(tenant_a.municipality, [*ALL_SCOPES, "cases:read"]),
        {"url": urls[0], "event_types": sorted(EVENT_TYPES)},
    )
    assert response.status_code == 201, response.content
    # The other body runs no health centre: it may subscribe to every type but the cases'.
    other_client, _secret = new_client(tenant_b.municipality)
    webhook_subscription_create(
        client=other_client,
        url=urls[1],
        event_types=sorted(t for t in EVENT_TYPES if not EVENT_SCOPES[t].startswith("cases")),
        actor=ADMIN,
    )
    return str(response.json()["secret"])


def _deliver_all() -> None:
    for delivery in WebhookDelivery.objects.order_by("pk"):
        webhook_attempt(delivery_id=delivery.pk)


def _events_of(receiver: Receiver, secret: str, event_type: str) -> list[dict[str, Any]]:
    events = []
    for headers, body in receiver.received:
        assert verify(secret=secret, headers=headers, body=body, seen_ids=set())
        event = json.loads(body)
        assert event["specversion"] == "1.0"
        if event["type"] == f"jp.madoguchi.{event_type}":
            events.append(event)
    return events


def _submitted(tenant: Tenant) -> dict[str, str | int]:
    version = publish_catalogue(tenant.municipality, "teigaku-kyufukin", "welfare")
    application = kyufukin_submit(version, channel="paper").application
    return {"receipt_number": application.receipt_number, "secret": application.answers["name"]}


def _case_notified(tenant_a: Tenant, tenant_b: Tenant) -> dict[str, str | int]:
    result = file(make_world(tenant_a, tenant_b), adult())
    return {"case": result.case.pk, "notification": result.notification.pk, "secret": "山田"}


def _alert_raised(tenant_a: Tenant, tenant_b: Tenant) -> dict[str, str | int]:
    case = file(make_world(tenant_a, tenant_b), adult()).case
    report_link_issue(cases=[case], actor=ACTOR)
    case.refresh_from_db()
    assert case.report_link is not None
    WebhookDelivery.objects.all().delete()  # the notification's own event is not under test
    self_report_submit(
        link=case.report_link,
        case=case,
        day=TODAY,
        values={"temperature": "36.8", "spo2": "98"},
        urgent_signs=["lips"],
    )
    alert = Alert.objects.get()
    return {"alert": alert.pk, "case": case.pk, "secret": "山田"}


def _handover_opened(tenant: Tenant) -> dict[str, str | int]:
    conversation = Conversation.objects.create(
        municipality=tenant.municipality, channel=Channel.WEB, state=ConversationState.BOT
    )
    conversation_handover(conversation=conversation)
    return {"conversation": str(conversation.pk), "secret": "住民"}


Trigger = Callable[[Tenant, Tenant], dict[str, str | int]]
TRIGGERS: dict[str, Trigger] = {
    "application.submitted": lambda a, _b: _submitted(a),
    "case.notified": _case_notified,
    "alert.raised": _alert_raised,
    "handover.opened": lambda a, _b: _handover_opened(a),
}


@pytest.mark.parametrize("event_type", sorted(TRIGGERS))
def test_each_event_type_is_delivered_once_signed_with_ids_only(
    event_type: str,
    client: Client,
    tenant_a: Tenant,
    tenant_b: Tenant,
    receiver: Receiver,
    other_receiver: Receiver,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    secret = _subscribe_everything(client, tenant_a, tenant_b, (receiver.url, other_receiver.url))

    with django_capture_on_commit_callbacks(execute=True):
        expected = TRIGGERS[event_type](tenant_a, tenant_b)
    _deliver_all()
    _deliver_all()  # a second pass sends nothing again

    [event] = _events_of(receiver, secret, event_type)
    personal = str(expected.pop("secret"))
    for key, value in expected.items():
        assert event["data"][key] == value
    assert personal not in json.dumps(event, ensure_ascii=False)
    assert event["source"] == f"/madoguchi/{tenant_a.municipality.pk}"
    assert other_receiver.received == []
    assert not WebhookDelivery.objects.filter(
        subscription__municipality=tenant_b.municipality
    ).exists()


def test_nothing_is_queued_without_a_subscription_to_the_type(
    client: Client,
    tenant_a: Tenant,
    receiver: Receiver,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    response = call(
        client,
        "post",
        "/api/v1/kobe/webhooks",
        token_for(tenant_a.municipality),
        {"url": receiver.url, "event_types": ["application.state_changed"]},
    )
    assert response.status_code == 201

    with django_capture_on_commit_callbacks(execute=True):
        _submitted(tenant_a)
        _handover_opened(tenant_a)

    assert WebhookDelivery.objects.count() == 0

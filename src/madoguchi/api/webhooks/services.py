"""Webhook subscriptions, the fan-out of domain events into deliveries, and one delivery attempt.

A delivery is tried by a task; a failed attempt (no answer, or not 2xx) is retried with
exponential backoff up to ``WEBHOOK_MAX_ATTEMPTS``. After ``WEBHOOK_DISABLE_AFTER_FAILURES``
failed attempts in a row the subscription is disabled and the municipality's admins are told.
A delivered event is never sent again.
"""

from __future__ import annotations

import datetime
import json
import logging
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.api.clients.models import ApiClient
from madoguchi.api.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from madoguchi.api.webhooks.signing import sign
from madoguchi.api.webhooks.targets import (
    PrivateAddressError,
    webhook_url_private,
    webhook_url_resolves_private,
)
from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.events import DomainEvent
from madoguchi.core.prepared import PreparedValues
from madoguchi.tenants.models import Membership, Role

__all__ = [
    "EVENT_SCOPES",
    "EVENT_TYPES",
    "AttemptResult",
    "EventScopeMissing",
    "event_types_not_allowed",
    "webhook_attempt",
    "webhook_event_fan_out",
    "webhook_subscribed",
    "webhook_subscription_create",
    "webhook_subscription_delete",
]

logger = logging.getLogger(__name__)

# Each event type and the read scope its subscriber must hold: an event carries ids only, but
# even a case id and a disease code are not for a client that may not read cases.
EVENT_SCOPES = {
    "application.submitted": "applications:read",
    "application.state_changed": "applications:read",
    "case.notified": "cases:read",
    "alert.raised": "cases:read",
    "handover.opened": "consultations:read",
}
EVENT_TYPES = set(EVENT_SCOPES)


class EventScopeMissing(Exception):  # noqa: N818 - a refusal, like PrivateAddressError
    """The client lacks the read scope of some event types it asked for."""

    def __init__(self, event_types: list[str]) -> None:
        super().__init__(", ".join(event_types))
        self.event_types = event_types


def event_types_not_allowed(client: ApiClient, event_types: list[str]) -> list[str]:
    """Those of ``event_types`` whose read scope ``client`` does not hold."""
    return sorted(t for t in set(event_types) if EVENT_SCOPES.get(t) not in client.scopes)


_SOURCE = "/madoguchi"


@dataclass(frozen=True, slots=True)
class AttemptResult:
    status: str
    retry_at: datetime.datetime | None


@transaction.atomic
def webhook_subscription_create(
    *, client: ApiClient, url: str, event_types: list[str], actor: AuditActor
) -> tuple[WebhookSubscription, str]:
    """A subscription and its signing secret (returned once).

    Raises :class:`PrivateAddressError` for a URL on a non-public address (unless allowed),
    :class:`EventScopeMissing` for event types whose read scope the client does not hold.
    """
    if webhook_url_private(url):
        raise PrivateAddressError(url)
    not_allowed = event_types_not_allowed(client, [t for t in event_types if t in EVENT_TYPES])
    if not_allowed:
        raise EventScopeMissing(not_allowed)
    secret = "whsec_" + secrets.token_urlsafe(32)
    subscription = WebhookSubscription.objects.create(
        municipality=client.municipality,
        client=client,
        url=url,
        event_types=sorted(set(event_types) & EVENT_TYPES),
        secret=secret,
    )
    audit_event(
        municipality=client.municipality,
        action="webhook.subscribe",
        actor=actor,
        obj=subscription,
        data={"event_types": subscription.event_types},
    )
    return subscription, secret


@transaction.atomic
def webhook_subscription_delete(*, subscription: WebhookSubscription, actor: AuditActor) -> None:
    """End a subscription: nothing more is sent, pending retries included.

    Its delivery log goes with it; the audit event keeps what it was and how it fared.
    """
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    counts = {
        status: subscription.deliveries.filter(status=status).count()
        for status in DeliveryStatus.values
    }
    audit_event(
        municipality=subscription.municipality,
        action="webhook.unsubscribe",
        actor=actor,
        obj=subscription,
        data={
            "client": subscription.client.client_id,
            "url": subscription.url,
            "event_types": subscription.event_types,
            "deliveries": counts,
        },
    )
    subscription.delete()


def _cloud_event(event: DomainEvent, event_id: str, now: datetime.datetime) -> str:
    body = {
        "specversion": "1.0",
        "id": event_id,
        "source": f"{_SOURCE}/{event.municipality_id}",
        "type": f"jp.madoguchi.{event.type}",
        "subject": event.subject,
        "time": now.isoformat(),
        "datacontenttype": "application/json",
        "data": event.data,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


def _active(event: DomainEvent) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(
        municipality_id=event.municipality_id,
        disabled_at__isnull=True,
        client__revoked_at__isnull=True,
    )


# Asked on every submission and status change: SQL compiled once per connection.
_ANY_ACTIVE = PreparedValues(
    "webhook_any_active",
    lambda municipality: WebhookSubscription.objects.filter(
        municipality_id=municipality, disabled_at__isnull=True, client__revoked_at__isnull=True
    ).values_list("pk")[:1],
    municipality=int,
)


def webhook_subscribed(event: DomainEvent) -> bool:
    """Whether any active subscription of the event's municipality may want it."""
    return _ANY_ACTIVE.first(municipality=event.municipality_id) is not None


def webhook_event_fan_out(event: DomainEvent) -> list[WebhookDelivery]:
    """One pending delivery per active subscription to the event's type, each queued."""
    from madoguchi.api.webhooks import tasks  # the tasks module imports this one

    now = timezone.now()
    created = []
    for subscription in _active(event).select_related("client"):
        if event.type not in subscription.event_types:
            continue
        if EVENT_SCOPES.get(event.type) not in subscription.client.scopes:
            continue  # never subscribable without it; kept as a guard
        delivery = WebhookDelivery(subscription=subscription, event_type=event.type)
        delivery.body = _cloud_event(event, str(delivery.event_id), now)
        delivery.save()
        created.append(delivery)
        tasks.webhook_deliver.enqueue(delivery_id=delivery.pk)
    return created


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - admin-given http(s) URL
    try:
        with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as answer:  # noqa: S310
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def _notify_admins(subscription: WebhookSubscription) -> None:
    emails = sorted(
        {
            m.user.email
            for m in Membership.objects.filter(
                municipality_id=subscription.municipality_id,
                role=Role.ADMIN,
                department__isnull=True,
                user__is_active=True,
            ).select_related("user")
            if m.user.email
        }
    )
    if emails:
        send_mail(
            _("Webhook の送信を止めました"),
            _(
                "API クライアント「%(client)s」の Webhook（%(url)s）への送信が続けて失敗したため、"
                "送信を止めました。相手のシステムを確かめてから、購読を作り直してください。"
            )
            % {"client": subscription.client.name, "url": subscription.url},
            None,
            emails,
        )


def webhook_attempt(*, delivery_id: int, now: datetime.datetime | None = None) -> AttemptResult:
    """Try one delivery once; a delivered or given-up one is left alone (no duplicates)."""
    now = now or timezone.now()
    delivery = (
        WebhookDelivery.objects.select_related("subscription__client")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:  # its subscription was deleted meanwhile
        return AttemptResult(DeliveryStatus.FAILED, None)
    subscription = delivery.subscription
    if delivery.status != DeliveryStatus.PENDING:
        return AttemptResult(delivery.status, None)
    if subscription.disabled_at is not None:
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = "subscription disabled"
        delivery.save(update_fields=["status", "last_error"])
        return AttemptResult(delivery.status, None)
    timestamp = int(now.timestamp())
    body = delivery.body.encode("utf-8")
    headers = {
        "Content-Type": "application/cloudevents+json; charset=utf-8",
        "Webhook-Id": str(delivery.event_id),
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": sign(
            secret=subscription.secret,
            event_id=str(delivery.event_id),
            timestamp=timestamp,
            body=body,
        ),
    }
    status_code: int | None = None
    try:
        if webhook_url_resolves_private(subscription.url):
            raise PrivateAddressError(subscription.url)
        status_code = _post(subscription.url, body, headers)
        error = "" if 200 <= status_code < 300 else f"HTTP {status_code}"
    except PrivateAddressError:
        error = "address not public"
    except (OSError, ValueError) as failure:
        error = type(failure).__name__
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.last_error = error
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        if not error:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            locked.consecutive_failures = 0
            locked.save(update_fields=["consecutive_failures"])
        else:
            locked.consecutive_failures += 1
            if locked.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES:
                locked.disabled_at = now
                audit_event(
                    municipality=locked.municipality,
                    action="webhook.disabled",
                    actor=AuditActor(label="webhooks"),
                    obj=locked,
                    data={"failures": locked.consecutive_failures},
                )
                transaction.on_commit(lambda: _notify_admins(locked))
            locked.save(update_fields=["consecutive_failures", "disabled_at"])
            if locked.disabled_at is None and delivery.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
                delay = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (delivery.attempts - 1)
                delivery.next_attempt_at = now + datetime.timedelta(seconds=delay)
            else:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
        delivery.save()
    return AttemptResult(delivery.status, delivery.next_attempt_at)

"""Reads of webhook subscriptions and their delivery log, for the admin console."""

from __future__ import annotations

from django.db.models import QuerySet

from madoguchi.api.clients.models import ApiClient
from madoguchi.api.webhooks.models import WebhookDelivery, WebhookSubscription

__all__ = ["webhook_deliveries_recent", "webhook_subscription_get", "webhook_subscriptions_of"]


def webhook_subscriptions_of(*, client: ApiClient) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(client=client).order_by("pk")


def webhook_subscription_get(*, client: ApiClient, pk: int) -> WebhookSubscription | None:
    return WebhookSubscription.objects.filter(client=client, pk=pk).first()


def webhook_deliveries_recent(*, client: ApiClient, limit: int = 50) -> list[WebhookDelivery]:
    """The client's last deliveries, newest first (ids and status only: no personal data)."""
    return list(
        WebhookDelivery.objects.filter(subscription__client=client)
        .select_related("subscription")
        .order_by("-created_at", "-pk")[:limit]
    )

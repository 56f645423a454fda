"""Reads of messaging data; every query is keyed by the municipality."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, QuerySet

from madoguchi.messaging.models import (
    Area,
    Channel,
    Delivery,
    MessagingSettings,
    Send,
    Subscriber,
    Template,
    Topic,
)
from madoguchi.messaging.models.subscriptions import address_digest
from madoguchi.tenants.models import Municipality

__all__ = [
    "area_list",
    "delivery_counts",
    "delivery_list",
    "messaging_settings_get",
    "segment_count",
    "segment_subscribers",
    "send_get",
    "send_list",
    "subscriber_by_token",
    "subscriber_for_line_user",
    "template_get",
    "template_list",
    "topic_list",
]


def topic_list(*, municipality: Municipality, active_only: bool = False) -> QuerySet[Topic]:
    topics = Topic.objects.filter(municipality=municipality)
    return topics.filter(is_active=True) if active_only else topics


def area_list(*, municipality: Municipality) -> QuerySet[Area]:
    return Area.objects.filter(municipality=municipality)


def messaging_settings_get(*, municipality: Municipality) -> MessagingSettings:
    """The municipality's settings; the defaults (21:00–8:00, 1,000) when never saved."""
    found = MessagingSettings.objects.filter(municipality=municipality).first()
    return found if found is not None else MessagingSettings(municipality=municipality)


def subscriber_by_token(*, municipality: Municipality, token: str) -> Subscriber | None:
    if not token or len(token) > 64:
        return None
    return (
        Subscriber.objects.filter(municipality=municipality, token=token)
        .select_related("area")
        .first()
    )


def subscriber_for_line_user(*, municipality: Municipality, user_id: str) -> Subscriber | None:
    return Subscriber.objects.filter(
        municipality=municipality, channel=Channel.LINE, address_digest=address_digest(user_id)
    ).first()


def segment_subscribers(
    *,
    municipality: Municipality,
    topic_ids: Iterable[int],
    area_ids: Iterable[int],
    languages: Iterable[str],
) -> QuerySet[Subscriber]:
    """Active subscribers of any of the topics, in one of the areas (all when none), by language."""
    subscribers = Subscriber.objects.filter(
        municipality=municipality,
        confirmed_at__isnull=False,
        unsubscribed_at__isnull=True,
        topics__in=list(topic_ids),
        language__in=list(languages),
    )
    areas = list(area_ids)
    if areas:
        subscribers = subscribers.filter(area_id__in=areas)
    return subscribers.distinct()


def segment_count(
    *,
    municipality: Municipality,
    topic_ids: Iterable[int],
    area_ids: Iterable[int],
    languages: Iterable[str],
) -> dict[str, int]:
    """Recipients per channel, shown before sending."""
    rows = (
        segment_subscribers(
            municipality=municipality, topic_ids=topic_ids, area_ids=area_ids, languages=languages
        )
        .order_by()
        .values("channel")
        .annotate(n=Count("pk", distinct=True))
    )
    counts = {str(c): 0 for c in Channel}
    for row in rows:
        counts[row["channel"]] = row["n"]
    return counts


def template_list(*, municipality: Municipality) -> QuerySet[Template]:
    return Template.objects.filter(municipality=municipality).select_related("topic")


def template_get(*, municipality: Municipality, template_id: int) -> Template | None:
    return template_list(municipality=municipality).filter(pk=template_id).first()


def send_list(*, municipality: Municipality) -> QuerySet[Send]:
    return Send.objects.filter(municipality=municipality).select_related("template")


def send_get(*, municipality: Municipality, send_id: int) -> Send | None:
    return send_list(municipality=municipality).filter(pk=send_id).first()


def delivery_counts(*, send: Send) -> dict[str, int]:
    """Deliveries of a send by state (queued, sent, failed)."""
    rows = Delivery.objects.filter(send=send).values("state").annotate(n=Count("pk"))
    counts = {"queued": 0, "sent": 0, "failed": 0}
    for row in rows:
        counts[row["state"]] = row["n"]
    return counts


def delivery_list(*, send: Send, limit: int = 200) -> QuerySet[Delivery]:
    """The log of a send, failures first (the addresses are personal data: audit the read)."""
    return (
        Delivery.objects.filter(send=send, municipality_id=send.municipality_id)
        .select_related("subscriber")
        .order_by("state", "pk")[:limit]
    )

"""Demo reservations: a counter and a vaccination session with slots for the next weeks."""

from __future__ import annotations

import datetime

from django.utils import timezone

from madoguchi.audit.services import AuditActor
from madoguchi.reservations import services
from madoguchi.reservations.models import Resource, ResourceKind, Slot, WeeklyRule
from madoguchi.tenants.models import Municipality

DEMO_SLUGS = ("kobe",)


def reservations_demo_load() -> None:
    """Idempotent: resources and rules are kept, missing slots are added."""
    actor = AuditActor(label="demo")
    for municipality in Municipality.objects.filter(slug__in=DEMO_SLUGS):
        counter, _ = Resource.objects.get_or_create(
            municipality=municipality,
            code="koseki",
            defaults={
                "name": "戸籍・住民票の窓口",
                "name_en": "Family register and residence counter",
                "kind": ResourceKind.COUNTER,
                "place": "本庁舎1階 3番窓口",
            },
        )
        clinic, _ = Resource.objects.get_or_create(
            municipality=municipality,
            code="flu",
            defaults={
                "name": "高齢者インフルエンザ予防接種（集団接種）",
                "name_en": "Flu vaccination for older residents",
                "kind": ResourceKind.CLINIC,
                "place": "中央区保健センター",
                "min_age": 65,
                "districts": ["中央区", "灘区", "東灘区"],
                "waitlist_enabled": True,
                "open_on_holidays": True,
            },
        )
        for resource, capacity, days in ((counter, 2, range(5)), (clinic, 1, range(7))):
            if not WeeklyRule.objects.filter(resource=resource).exists():
                WeeklyRule.objects.bulk_create(
                    WeeklyRule(
                        resource=resource,
                        weekday=d,
                        start=datetime.time(9, 0),
                        end=datetime.time(12, 0),
                        slot_minutes=30,
                        capacity=capacity,
                    )
                    for d in days
                )
            today = timezone.localdate()
            services.slots_generate(
                resource=resource,
                start=today,
                end=today + datetime.timedelta(days=21),
                actor=actor,
            )
        # One session fully booked, so that the waiting list can be shown.
        first = (
            Slot.objects.filter(resource=clinic, starts_at__gt=timezone.now())
            .order_by("starts_at")
            .first()
        )
        if first is not None and first.free:
            services.booking_create(
                municipality=municipality,
                slot_id=first.pk,
                name="デモ 予約",
                birth_date=datetime.date(1950, 4, 1),
                district="中央区",
                actor=actor,
            )

"""Factories of reservations tests: a resource with its slots in a tenant."""

from __future__ import annotations

import datetime

from django.utils import timezone

from madoguchi.audit.services import AuditActor
from madoguchi.reservations.models import Resource, ResourceKind, Slot
from madoguchi.tenants.models import Municipality
from tests.messaging.conftest import line_api
from tests.procedures.test_submit import smtp_server

ACTOR = AuditActor(label="test")


def resource_new(
    municipality: Municipality, code: str = "koseki", name: str = "戸籍の窓口", **fields: object
) -> Resource:
    return Resource.objects.create(
        municipality=municipality,
        code=code,
        name=name,
        name_en=f"{code} counter",
        kind=ResourceKind.COUNTER,
        place="本庁舎1階",
        **fields,
    )


def slot_new(resource: Resource, *, capacity: int = 2, days_ahead: int = 3, hour: int = 10) -> Slot:
    day = timezone.localdate() + datetime.timedelta(days=days_ahead)
    start = datetime.datetime.combine(
        day, datetime.time(hour, 0), tzinfo=timezone.get_current_timezone()
    )
    return Slot.objects.create(
        municipality=resource.municipality,
        resource=resource,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
        capacity=capacity,
    )


__all__ = ["ACTOR", "line_api", "resource_new", "slot_new", "smtp_server"]

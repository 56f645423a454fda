"""A booking's name, phone and birth date are stored encrypted, and read back for eligibility."""

from __future__ import annotations

import datetime
from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection

from madoguchi.reservations import services
from madoguchi.reservations.models import Booking
from tests.isolation import Tenant
from tests.reservations.conftest import ACTOR, resource_new, slot_new

pytestmark = pytest.mark.django_db


def _stored(booking_id: int) -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, phone, birth_date FROM reservations_booking WHERE id = %s", [booking_id]
        )
        row = cursor.fetchone()
    assert row is not None
    return str(row[0]), str(row[1]), str(row[2])


def test_name_phone_and_birth_date_are_not_stored_in_plain_text(tenant_a: Tenant) -> None:
    resource = resource_new(tenant_a.municipality, min_age=65, code="vaccine")
    slot = slot_new(resource)
    booking = services.booking_create(
        municipality=tenant_a.municipality,
        slot_id=slot.pk,
        name="山田花子",
        phone="078-123-4567",
        birth_date=datetime.date(1950, 4, 1),
        actor=ACTOR,
    ).booking
    name, phone, birth = _stored(booking.pk)
    assert "山田" not in name
    assert "4567" not in phone
    assert "1950" not in birth
    fresh = Booking.objects.get(pk=booking.pk)
    assert (fresh.name, fresh.phone, fresh.birth_date) == (
        "山田花子",
        "078-123-4567",
        datetime.date(1950, 4, 1),
    )


def test_the_migration_encrypts_existing_rows_and_reverses(tenant_a: Tenant) -> None:
    """The data step of the migration turns plain rows into ciphertext the model reads."""
    migration = import_module("madoguchi.reservations.migrations.0002_booking_personal_encrypted")
    slot = slot_new(resource_new(tenant_a.municipality))
    booking = services.booking_create(
        municipality=tenant_a.municipality, slot_id=slot.pk, name="仮", actor=ACTOR
    ).booking
    with connection.cursor() as cursor:  # a row as version 0001 stored it
        cursor.execute(
            "UPDATE reservations_booking SET name = %s, phone = %s, birth_date = %s WHERE id = %s",
            ["鈴木一郎", "09012345678", "1948-02-29", booking.pk],
        )
    migration.encrypt_rows(apps, None)
    fresh = Booking.objects.get(pk=booking.pk)
    assert (fresh.name, fresh.phone, fresh.birth_date) == (
        "鈴木一郎",
        "09012345678",
        datetime.date(1948, 2, 29),
    )
    assert "鈴木" not in _stored(booking.pk)[0]
    # Running it again leaves already encrypted values as they are.
    migration.encrypt_rows(apps, None)
    assert Booking.objects.get(pk=booking.pk).name == "鈴木一郎"
    migration.decrypt_rows(apps, None)
    assert _stored(booking.pk) == ("鈴木一郎", "09012345678", "1948-02-29")

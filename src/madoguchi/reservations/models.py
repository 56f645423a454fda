"""Reservable resources (窓口, 接種会場の回, ホール), their slots and the bookings of seats.

A slot's ``booked`` counter is the only place a seat is taken: it moves by a conditional
UPDATE (``booked < capacity``), which the database applies atomically, and a check constraint
keeps it within 0..capacity whatever the code does. Each live booking also holds a seat number,
unique per slot, so that two bookings can never share a seat.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from madoguchi.core.fields import BlindIndexField, EncryptedDateField, EncryptedTextField
from madoguchi.tenants.models import Department, Municipality


class ResourceKind(models.TextChoices):
    COUNTER = "counter", _("窓口")
    CLINIC = "clinic", _("接種・健診の回")
    HALL = "hall", _("施設")


class Resource(models.Model):
    """Something residents book a time on, with its eligibility questions."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE)
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    name_en = models.CharField(max_length=120, blank=True)
    kind = models.CharField(max_length=10, choices=ResourceKind.choices)
    description = models.TextField(blank=True)
    place = models.CharField(max_length=200, blank=True)
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.SET_NULL)
    # Eligibility (対象者): age on the day of the slot, and the districts (地区) served.
    min_age = models.PositiveSmallIntegerField(null=True, blank=True)
    max_age = models.PositiveSmallIntegerField(null=True, blank=True)
    districts = models.JSONField(default=list, blank=True)
    waitlist_enabled = models.BooleanField(default=False)
    open_on_holidays = models.BooleanField(default=False)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["municipality", "code"], name="resource_code_unique")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WeeklyRule(models.Model):
    """Slots of one weekday: from ``start`` to ``end`` every ``slot_minutes``."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="rules")
    weekday = models.PositiveSmallIntegerField()  # 0 = Monday
    start = models.TimeField()
    end = models.TimeField()
    slot_minutes = models.PositiveSmallIntegerField(default=30)
    capacity = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.weekday} {self.start}-{self.end}"


class ClosedDay(models.Model):
    """A day without slots besides the office's holidays (例: 施設点検日, 庁舎の停電日), for one
    resource or, with ``resource`` None, for every resource of the municipality.

    Slots of a closed day stay stored but are not offered nor bookable; bookings already made
    for that day are kept and shown to staff, who contact the residents.
    """

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE)
    resource = models.ForeignKey(
        Resource, null=True, blank=True, on_delete=models.CASCADE, related_name="closed_days"
    )
    day = models.DateField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "day"],
                condition=Q(resource__isnull=False),
                name="closed_day_unique",
            ),
            models.UniqueConstraint(
                fields=["municipality", "day"],
                condition=Q(resource__isnull=True),
                name="closed_day_municipality_unique",
            ),
        ]
        ordering = ["day"]

    def __str__(self) -> str:
        return str(self.day)


class Slot(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE)
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="slots")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveIntegerField()
    booked = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resource", "starts_at"], name="slot_start_unique"),
            models.CheckConstraint(
                condition=Q(booked__gte=0) & Q(booked__lte=F("capacity")),
                name="slot_booked_within_capacity",
            ),
        ]
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)


class BookingStatus(models.TextChoices):
    BOOKED = "booked", _("予約中")
    ATTENDED = "attended", _("来所済み")
    NO_SHOW = "no_show", _("来所なし")
    CANCELLED = "cancelled", _("取消し")


LIVE = [BookingStatus.BOOKED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW]


class Booking(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE)
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="bookings")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    seat = models.PositiveIntegerField()
    receipt_number = models.CharField(max_length=10, unique=True)
    secret_hash = models.CharField(max_length=64)
    # Personal data, encrypted as in applications and cases (docs/security.md). The e-mail stays
    # plain: the reminder task selects the bookings that have one.
    name = EncryptedTextField()
    email = models.EmailField(blank=True)
    phone = EncryptedTextField(blank=True, default="")
    birth_date = EncryptedDateField(null=True, blank=True)
    district = models.CharField(max_length=60, blank=True)
    language = models.CharField(max_length=8, default="ja")
    channel = models.CharField(max_length=10, default="web")
    # The LINE user who booked on LINE: encrypted, found again through its blind index ("my
    # bookings" and cancel on LINE; the day-before reminder is pushed to it).
    line_user_id = EncryptedTextField(blank=True, default="")
    line_user_key = BlindIndexField(source="line_user_id", purpose="reservations.line_user")
    status = models.CharField(
        max_length=10, choices=BookingStatus.choices, default=BookingStatus.BOOKED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField(auto_now=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["slot", "seat"],
                condition=~Q(status="cancelled"),
                name="booking_one_per_seat",
            )
        ]
        indexes = [models.Index(fields=["municipality", "status"])]

    def __str__(self) -> str:
        return self.receipt_number


class LineBookingDraft(models.Model):
    """A booking a LINE user is putting together: the chosen slot and the answers so far.

    One per LINE user and municipality; replaced when the user picks another time, deleted when
    the booking is made or abandoned. ``awaiting`` names the typed answer expected next.
    """

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    line_user_key = models.CharField(max_length=64)
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="+")
    district = models.CharField(max_length=60, blank=True)
    birth_date = EncryptedDateField(null=True, blank=True)
    name = EncryptedTextField(blank=True, default="")
    awaiting = models.CharField(max_length=12, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "line_user_key"], name="line_booking_draft_once"
            )
        ]

    def __str__(self) -> str:
        return f"line draft {self.pk}"


class WaitlistEntry(models.Model):
    """A resident waiting for a seat of a full slot; offered freed seats in order."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE)
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="waiting")
    name = models.CharField(max_length=100)
    email = models.EmailField()
    language = models.CharField(max_length=8, default="ja")
    created_at = models.DateTimeField(auto_now_add=True)
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.slot_id} #{self.pk}"

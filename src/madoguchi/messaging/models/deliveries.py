"""The delivery log: one row per message and recipient, sent in batches claimed by workers.

A batch is the unit a worker claims (one LINE multicast of up to 500 user ids, or a run of
e-mails over one SMTP connection). Its ``retry_key`` is the X-Line-Retry-Key of every attempt,
so the Messaging API accepts a retried batch once. A claim is a lease: a worker that dies
leaves ``claimed_until`` to run out and another worker takes the batch over, skipping the rows
already marked sent.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.messaging.models.sends import Send
from madoguchi.messaging.models.subscriptions import Area, Channel, Subscriber
from madoguchi.tenants.models import Municipality


class BatchState(models.TextChoices):
    QUEUED = "queued", _("待機中")
    SENDING = "sending", _("送信中")
    DONE = "done", _("完了")


class DeliveryBatch(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="batches")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    language = models.CharField(max_length=5)
    area = models.ForeignKey(Area, null=True, on_delete=models.SET_NULL, related_name="+")
    retry_key = models.UUIDField(default=uuid.uuid4)
    state = models.CharField(max_length=10, choices=BatchState.choices, default=BatchState.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"batch {self.pk}"


class DeliveryState(models.TextChoices):
    QUEUED = "queued", _("待機中")
    SENT = "sent", _("送信済み")
    FAILED = "failed", _("失敗")


class Delivery(models.Model):
    """One message to one recipient; unique per send and subscriber, so never made twice."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="deliveries")
    batch = models.ForeignKey(DeliveryBatch, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["send", "subscriber"], name="messaging_delivery_once")
        ]
        indexes = [models.Index(fields=["batch", "state"])]

    def __str__(self) -> str:
        return f"delivery {self.pk}"
